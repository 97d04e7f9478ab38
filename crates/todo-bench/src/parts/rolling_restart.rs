//! `rolling-restart`: the local cluster (PgBouncer, `N` instances, HAProxy)
//! with 1, 2 and 3 instances; under the keyed create/update clients and the
//! scenario table, every instance restarted in turn and one killed
//! (`rolling_restart.rs`). The figures: requests, failures by kind, p99
//! while the restarts ran, and whether the database holds exactly what the
//! clients were told.

use todo_load::scenarios;

use crate::cluster::Cluster;
use crate::error::BenchError;
use crate::local_cluster::{LocalCluster, LocalClusterSpec};
use crate::measure::BenchOptions;
use crate::results::{Part, save};
use crate::rolling_restart::{RollingRestartPlan, RollingRestartResult, run_rolling_restart};
use crate::service::service_binary;

/// Keyed create/update clients, each on its own connection.
pub const ROLLING_CLIENTS: u64 = 64;

/// The scenario table's rows up to this many clients run meanwhile (the
/// 5,000- and 10,000-client rows measure connection capacity, which the
/// `concurrency` part does; here they would only queue behind HAProxy).
const LARGEST_SCENARIO: u64 = 500;

/// `rolling-restart` with 1, 2 and 3 instances, each on a fresh database.
pub async fn run_rolling_restarts(
    cluster: &Cluster,
    options: &BenchOptions,
) -> Result<(), BenchError> {
    let mut results: Vec<RollingRestartResult> = Vec::new();
    for instances in 1..=3 {
        let (_, url) = cluster.fresh_database().await?;
        let dir = options.out.join(format!("rolling-restart-{instances}"));
        let mut topology = LocalCluster::start(LocalClusterSpec {
            binary: service_binary()?,
            database_url: url,
            instances,
            port: 0,
            dir,
            service_env: Vec::new(),
        })
        .await?;
        let plan = RollingRestartPlan {
            clients: ROLLING_CLIENTS,
            steady: options.duration,
            scenarios: scenarios::standard()
                .into_iter()
                .filter(|scenario| scenario.clients <= LARGEST_SCENARIO)
                .collect(),
        };
        let result = run_rolling_restart(&mut topology, &plan).await?;
        topology.stop().await?;
        eprintln!(
            "  rolling restart, {instances} instance(s): {} requests, {} operations, outcomes {:?}, p99 {:.1} ms steady / {:.1} ms restarting, database exact: {}",
            result.writes.attempts,
            result.writes.operations,
            result.writes.outcomes,
            result.writes.steady.p99_ms,
            result.writes.disrupted.p99_ms,
            result.check.is_exact()
        );
        results.push(result);
        save(&options.out, Part::RollingRestart.file_name(), &results)?;
    }
    Ok(())
}
