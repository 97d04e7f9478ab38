//! A rolling restart under load, through the local cluster's HAProxy: the
//! keyed create/update clients (`todo_load::keyed_writes`) and the scenario
//! table run while every instance in turn gets SIGTERM (it drains, finishes
//! what is in flight, exits) and starts again, then one is killed with
//! SIGKILL and started again. Afterwards the API is read back: the database
//! must hold exactly the todos the keyed clients were told were created.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use todo_load::keyed_writes::{
    KeyedWritesCheck, KeyedWritesConfig, KeyedWritesReport, LoadControl, run_keyed_writes, verify,
};
use todo_load::scenarios::{self, Scenario, ScenarioResult};

use crate::error::BenchError;
use crate::local_cluster::LocalCluster;

/// How long a keyed client keeps retrying one operation: longer than any
/// instance takes to come back.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);

/// What to run.
#[derive(Debug, Clone)]
pub struct RollingRestartPlan {
    /// Keyed create/update clients.
    pub clients: u64,
    /// Load before the first restart and after the last.
    pub steady: Duration,
    /// The scenario table, run over and over meanwhile.
    pub scenarios: Vec<Scenario>,
}

/// What happened.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RollingRestartResult {
    pub instances: usize,
    pub clients: u64,
    /// The keyed clients' requests, outcomes and latencies.
    pub writes: KeyedWritesReport,
    /// What the API showed afterwards, against what they were told.
    pub check: KeyedWritesCheck,
    /// Exit code of each instance after its SIGTERM.
    pub exit_codes: Vec<Option<i32>>,
    /// From the first SIGTERM to the killed instance being back.
    pub disruption_seconds: f64,
    /// Every scenario run meanwhile.
    pub scenarios: Vec<ScenarioResult>,
}

impl RollingRestartResult {
    /// Why the run is not what the contract promises, if it is not: keyed
    /// clients lose nothing and duplicate nothing, every failure they see
    /// is one they may retry, every SIGTERM ends in exit code 0, and the
    /// scenario table's clients (which do not retry) never see a lost or
    /// duplicated acknowledged write.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.check.is_exact() {
            problems.push(format!(
                "the database is not what clients were told: {:?}",
                self.check
            ));
        }
        if self.writes.unsafe_failures > 0 || self.writes.given_up > 0 {
            problems.push(format!(
                "{} answers could not be retried safely, {} operations given up: {:?}",
                self.writes.unsafe_failures, self.writes.given_up, self.writes.outcomes
            ));
        }
        if self.exit_codes.iter().any(|code| *code != Some(0)) {
            problems.push(format!("exit codes after SIGTERM: {:?}", self.exit_codes));
        }
        for scenario in &self.scenarios {
            // A create that a killed instance committed but could not
            // acknowledge exists unacknowledged: a client without a key
            // cannot know, which is why careful clients send one.
            let lost_or_doubled: Vec<&String> = scenario
                .verification
                .problems
                .iter()
                .filter(|problem| !problem.ends_with(scenarios::UNACKNOWLEDGED_CREATES))
                .collect();
            if !lost_or_doubled.is_empty() {
                problems.push(format!("{}: {lost_or_doubled:?}", scenario.scenario.name));
            }
        }
        problems
    }
}

/// Runs `plan` on `cluster`.
pub async fn run_rolling_restart(
    cluster: &mut LocalCluster,
    plan: &RollingRestartPlan,
) -> Result<RollingRestartResult, BenchError> {
    let tag = scenarios::run_tag();
    let config = KeyedWritesConfig {
        clients: plan.clients,
        tag: tag.clone(),
        give_up_after: GIVE_UP_AFTER,
    };
    let control = Arc::new(LoadControl::default());
    let writes = tokio::spawn({
        let url = cluster.url.clone();
        let control = Arc::clone(&control);
        async move { run_keyed_writes(&url, &config, control).await }
    });
    let table = tokio::spawn({
        let url = cluster.url.clone();
        let control = Arc::clone(&control);
        let scenarios = plan.scenarios.clone();
        let tag = tag.clone();
        async move {
            let mut results = Vec::new();
            let mut round = 0;
            // The whole table at least once, then until the load stops.
            for scenario in scenarios.iter().cycle() {
                if results.len() >= scenarios.len() && control.stop.load(Ordering::Relaxed) {
                    break;
                }
                round += 1;
                // The separator keeps round 1's tag from being a prefix of
                // round 10's (the checks search by tag).
                let round_tag = format!("{tag}s{round}-");
                results.push(scenarios::run_scenario(&url, scenario, &round_tag).await?);
            }
            Ok::<_, BenchError>(results)
        }
    });

    tokio::time::sleep(plan.steady).await;
    control.disrupted.store(true, Ordering::Relaxed);
    let disruption = Instant::now();
    let mut exit_codes = Vec::new();
    for index in 0..cluster.instance_count() {
        exit_codes.push(cluster.restart(index).await?.code());
    }
    cluster.kill_and_restart(0).await?;
    let disruption_seconds = disruption.elapsed().as_secs_f64();
    control.disrupted.store(false, Ordering::Relaxed);
    tokio::time::sleep(plan.steady).await;
    control.stop.store(true, Ordering::Relaxed);

    let (writes, acknowledged) = writes
        .await
        .map_err(|error| BenchError::Setup(format!("the keyed clients failed: {error}")))?;
    let scenarios = table
        .await
        .map_err(|error| BenchError::Setup(format!("the scenario table failed: {error}")))??;
    let check = verify(&cluster.url, &tag, &acknowledged)
        .await
        .map_err(|error| BenchError::Setup(format!("could not read the todos back: {error}")))?;
    Ok(RollingRestartResult {
        instances: cluster.instance_count(),
        clients: plan.clients,
        writes,
        check,
        exit_codes,
        disruption_seconds,
        scenarios,
    })
}
