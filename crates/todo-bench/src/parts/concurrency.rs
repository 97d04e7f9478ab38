//! `concurrency`: the service's memory with 10,000 idle keep-alive
//! connections, then 10,000 clients at once (the scenario table's Scale
//! Test).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use todo_load::client::Connection;
use todo_load::scenarios::{self, ScenarioResult};
use todo_load::workload::IdRange;
use tokio::sync::Semaphore;

use crate::cluster::Cluster;
use crate::error::BenchError;
use crate::measure::{BenchOptions, seed};
use crate::results::{Part, save};
use crate::service::Service;

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

/// `concurrency`: the service's memory with `IDLE_CONNECTIONS` idle
/// keep-alive connections, then the Scale Test of as many clients.
pub async fn run_concurrency(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
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
pub(crate) fn status_kib(pid: u32, field: &str) -> Option<u64> {
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
