//! `distant`: the database 50 ms away each way, behind the delay proxy:
//! the whole scenario table, then creates from 500 clients beside pgbench's
//! single-row INSERT through the same proxy.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use todo_load::scenarios::{self, ScenarioResult};
use todo_load::sustained::{RunReport, run_load};
use todo_load::workload::{IdRange, Workload};

use crate::cluster::Cluster;
use crate::error::BenchError;
use crate::measure::{BenchOptions, closed_loop};
use crate::pgbench::scripts::op_scripts;
use crate::pgbench::{PgbenchRun, run_scripts};
use crate::proxy::DelayProxy;
use crate::results::{Ceiling, Part, save};
use crate::service::Service;

/// The proxy's delay, each way.
pub const DISTANT_DELAY: Duration = Duration::from_millis(50);

/// Clients of the distant create run.
pub const DISTANT_CLIENTS: u64 = 500;

/// Added to pgbench's `-T` through the proxy, for its connections.
const PGBENCH_CONNECT_ALLOWANCE: Duration = Duration::from_secs(5);

/// The distant database's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DistantPart {
    pub delay_ms_each_way: u64,
    pub scenarios: Vec<ScenarioResult>,
    /// `POST /api/todo` from 500 clients, closed loop.
    pub creates: Option<RunReport>,
    /// pgbench's single-row INSERT at 500 clients through the same proxy.
    pub reference: Option<Ceiling>,
}

/// `distant`: the scenario table and `DISTANT_CLIENTS` clients creating,
/// the service's database behind the delay proxy, then pgbench's single-row
/// INSERT through the same proxy.
pub async fn run_distant(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
    let (name, url) = cluster.fresh_database().await?;
    let upstream = SocketAddr::from(([127, 0, 0, 1], cluster.port()));
    let proxy = DelayProxy::start(upstream, DISTANT_DELAY)
        .await
        .map_err(BenchError::Io)?;
    let proxied = url.replacen(
        &format!("127.0.0.1:{}/", cluster.port()),
        &format!("127.0.0.1:{}/", proxy.port()),
        1,
    );
    let log = options.out.join("service-distant.log");
    let service = Service::start(&[("DATABASE_URL", proxied)], &log).await?;
    let mut part = DistantPart {
        delay_ms_each_way: DISTANT_DELAY.as_millis() as u64,
        scenarios: Vec::new(),
        creates: None,
        reference: None,
    };
    let tag = scenarios::run_tag();
    for (index, scenario) in scenarios::standard().iter().enumerate() {
        eprintln!(
            "  distant: {} ({} clients)",
            scenario.name, scenario.clients
        );
        let outcome =
            scenarios::run_scenario(&service.url, scenario, &format!("{tag}d{index}")).await?;
        part.scenarios.push(outcome);
        save(&options.out, Part::Distant.file_name(), &part)?;
    }
    let ids = IdRange { min: 1, max: 1 };
    let config = closed_loop(&service, Workload::Create, DISTANT_CLIENTS, ids, options);
    let creates = run_load(&service.url, &config).await;
    eprintln!(
        "  distant: creates × {DISTANT_CLIENTS}: {:.0}/s",
        creates.throughput
    );
    part.creates = Some(creates);
    save(&options.out, Part::Distant.file_name(), &part)?;
    service.stop().await?;
    // Each pgbench thread opens its clients one after another, round trips
    // through the proxy each, inside `-T`: many threads, and time for it
    // (pgbench's tps leaves the connection time out).
    let (scripts, defines) = op_scripts(Workload::Create, &[], ids)?;
    let run = PgbenchRun {
        port: proxy.port(),
        database: &name,
        clients: DISTANT_CLIENTS,
        threads: 50,
        duration: options.duration + PGBENCH_CONNECT_ALLOWANCE,
        dir: &options.out,
    };
    let reference = run_scripts(&run, &scripts, &defines).await?;
    eprintln!(
        "  distant: pgbench INSERT × {DISTANT_CLIENTS}: {:.0}/s",
        reference.throughput
    );
    part.reference = Some(reference);
    save(&options.out, Part::Distant.file_name(), &part)?;
    drop(proxy);
    Ok(())
}
