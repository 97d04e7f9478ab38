//! `distant` (the database 50 ms away each way, behind the delay proxy) and
//! `concurrency` (10,000 clients at once, and the service's memory with
//! 10,000 idle keep-alive connections).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::parts::{closed_loop, seed};
use super::pgbench::{Ceiling, PgbenchRun, op_scripts, run_scripts};
use super::postgres::Cluster;
use super::proxy::DelayProxy;
use super::service::Service;
use super::{BenchError, BenchOptions, Part, save};
use todo_load::client::Connection;
use todo_load::scenarios::{self, ScenarioResult};
use todo_load::sustained::{RunReport, run_load};
use todo_load::workload::{IdRange, Workload};

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

pub(super) async fn run_distant(
    cluster: &Cluster,
    options: &BenchOptions,
) -> Result<(), BenchError> {
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

/// Connections held idle while the service's memory is read.
pub const IDLE_CONNECTIONS: u64 = 10_000;

/// Connections opened at once while building up the idle ones: under the
/// listen backlog, so none waits for a SYN retry.
const OPENING_AT_ONCE: usize = 1000;

/// How long the idle connections are held before the memory is read.
const IDLE_HOLD: Duration = Duration::from_secs(2);

/// The service's memory with many idle keep-alive connections.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdleMemory {
    pub connections: u64,
    /// Connections that were opened and answered their one request.
    pub answered: u64,
    /// Of those, still open when the memory was read.
    pub open_when_read: u64,
    /// `VmRSS` of the service before any of them, in KiB.
    pub rss_before_kib: u64,
    /// `VmRSS` with them idle, in KiB.
    pub rss_idle_kib: u64,
    /// `VmHWM` (peak RSS) when the memory was read, in KiB.
    pub rss_peak_kib: u64,
}

/// The concurrency part's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConcurrencyPart {
    pub idle: Option<IdleMemory>,
    pub scale: Option<ScenarioResult>,
}

pub(super) async fn run_concurrency(
    cluster: &Cluster,
    options: &BenchOptions,
) -> Result<(), BenchError> {
    let (_, url) = cluster.fresh_database().await?;
    let log = options.out.join("service-concurrency.log");
    let service = Service::start(&[("DATABASE_URL", url)], &log).await?;
    let ids = seed(&service).await?;
    let mut part = ConcurrencyPart {
        idle: None,
        scale: None,
    };
    let idle = idle_memory(&service, ids).await;
    eprintln!(
        "  {} idle connections ({} answered, {} open): RSS {} KiB (before {} KiB)",
        idle.connections,
        idle.answered,
        idle.open_when_read,
        idle.rss_idle_kib,
        idle.rss_before_kib
    );
    part.idle = Some(idle);
    save(&options.out, Part::Concurrency.file_name(), &part)?;
    // Let the server notice the closed connections before the next test.
    tokio::time::sleep(Duration::from_millis(500)).await;
    if let Some(scenario) = scenarios::standard()
        .into_iter()
        .find(|scenario| scenario.clients == IDLE_CONNECTIONS)
    {
        eprintln!("  {} ({} clients)", scenario.name, scenario.clients);
        let tag = format!("{}c", scenarios::run_tag());
        part.scale = Some(scenarios::run_scenario(&service.url, &scenario, &tag).await?);
        save(&options.out, Part::Concurrency.file_name(), &part)?;
    }
    service.stop().await
}

/// Opens `IDLE_CONNECTIONS` connections, each reading one todo, holds them
/// idle and reads the service's memory.
async fn idle_memory(service: &Service, ids: IdRange) -> IdleMemory {
    let rss_before_kib = status_kib(service.pid, "VmRSS").unwrap_or(0);
    let gate = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let mut tasks = Vec::new();
    for index in 0..IDLE_CONNECTIONS {
        let url = service.url.clone();
        let gate = Arc::clone(&gate);
        let span = (ids.max - ids.min + 1).max(1) as u64;
        let id = ids.min + (index % span) as i64;
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.ok()?;
            let mut connection = Connection::open(&url).await.ok()?;
            let response = connection.get(&format!("/api/todo/{id}")).await.ok()?;
            (response.status == http::StatusCode::OK).then_some(connection)
        }));
    }
    let mut held = Vec::new();
    for task in tasks {
        if let Ok(Some(connection)) = task.await {
            held.push(connection);
        }
    }
    tokio::time::sleep(IDLE_HOLD).await;
    let open_when_read = held.iter().filter(|c| !c.is_closed()).count() as u64;
    let rss_idle_kib = status_kib(service.pid, "VmRSS").unwrap_or(0);
    let rss_peak_kib = status_kib(service.pid, "VmHWM").unwrap_or(0);
    let answered = held.len() as u64;
    drop(held);
    IdleMemory {
        connections: IDLE_CONNECTIONS,
        answered,
        open_when_read,
        rss_before_kib,
        rss_idle_kib,
        rss_peak_kib,
    }
}

/// A `kB` field of `/proc/PID/status`.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&status, field)
}

fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_fields_are_read_from_proc_status() {
        let status = "Name:\ttodo-api\nVmHWM:\t  51200 kB\nVmRSS:\t   40960 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(40960));
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(51200));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }
}
