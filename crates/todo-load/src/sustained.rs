//! Sustained load: `N` connections for a fixed time, closed-loop (each
//! connection sends its next request when the last is answered) or, with a
//! rate, open-loop: request `i` is due at `start + i / rate` and its latency
//! counts from then, so a slow server cannot hide the requests it delayed
//! (no coordinated omission).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Barrier;

use crate::callers::{self, Caller};
use crate::client::Connection;
use crate::failure::{FailureKind, Failures};
use crate::limits::{CpuMeter, Limits, listen_overflows};
use crate::progress::Progress;
use crate::service_url::ServiceUrl;
use crate::stats::{Latencies, LatencySummary};
use crate::workload::{Rng, Workload};

/// Pause before reconnecting a connection the server closed.
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

/// What to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub workload: Workload,
    pub connections: u64,
    pub duration: Duration,
    /// Requests per second over all connections (open loop), or `None`.
    pub rate: Option<f64>,
    /// Who the requests are sent as, one picked for each request: the
    /// anonymous caller, or users with their tokens and their todos.
    pub callers: Arc<[Caller]>,
    /// The listing `list` requests ask for (path and query).
    pub list_path: String,
    /// Show a progress bar (only ever on a terminal).
    pub progress: bool,
    /// The service's process, to report its CPU use too.
    pub server_pid: Option<u32>,
}

/// Every figure of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub url: String,
    pub workload: Workload,
    pub connections: u64,
    pub duration_seconds: f64,
    pub rate: Option<f64>,
    pub open_loop: bool,
    pub requests: u64,
    pub successes: u64,
    pub success_percent: f64,
    /// Successful requests per second of the measured time.
    pub throughput: f64,
    pub latency: LatencySummary,
    pub latency_by_op: BTreeMap<String, LatencySummary>,
    pub failures: Failures,
    pub failures_not_the_server: u64,
    /// Connections that had to be opened again during the run.
    pub reconnects: u64,
    /// Connections that could not be opened before the run.
    pub connect_failures: u64,
    pub client_cpu_cores: Option<f64>,
    pub server_cpu_cores: Option<f64>,
    pub listen_overflows: Option<u64>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Default)]
struct Tally {
    latencies: Latencies,
    by_op: BTreeMap<String, Latencies>,
    failures: Failures,
    requests: u64,
    reconnects: u64,
    connect_failures: u64,
}

/// Runs the load against `service`.
pub async fn run_load(service: &ServiceUrl, config: &RunConfig) -> RunReport {
    let limits = Limits::prepare(config.connections);
    let warnings = limits.warnings(config.connections);
    let connections = usize::try_from(config.connections.max(1)).unwrap_or(usize::MAX);
    let barrier = Arc::new(Barrier::new(connections + 1));
    let ticket = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(connections);
    // `start` is set after every connection is open; the tasks learn it
    // through the channel.
    let (start_tx, start_rx) = tokio::sync::watch::channel(None::<Instant>);
    for index in 0..connections {
        let service = service.clone();
        let config = config.clone();
        let barrier = Arc::clone(&barrier);
        let ticket = Arc::clone(&ticket);
        let done = Arc::clone(&done);
        let mut start_rx = start_rx.clone();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut connection = match Connection::open(&service).await {
                Ok(connection) => Some(connection),
                Err(error) => {
                    tally.connect_failures += 1;
                    tally.failures.add(error.kind());
                    None
                }
            };
            barrier.wait().await;
            let start = loop {
                if let Some(start) = *start_rx.borrow_and_update() {
                    break start;
                }
                if start_rx.changed().await.is_err() {
                    return tally;
                }
            };
            let mut rng = Rng::new(0x5EED ^ (index as u64) << 17);
            drive(
                &service,
                &config,
                start,
                &ticket,
                &done,
                &mut connection,
                &mut rng,
                &mut tally,
            )
            .await;
            tally
        }));
    }
    barrier.wait().await;
    let overflows_before = listen_overflows();
    let client_cpu = CpuMeter::start(None);
    let server_cpu = config.server_pid.map(|pid| CpuMeter::start(Some(pid)));
    let start = Instant::now();
    let _ = start_tx.send(Some(start));
    let progress = Progress::new(config.progress, config.duration, Arc::clone(&done));
    let mut total = Tally::default();
    for task in tasks {
        if let Ok(tally) = task.await {
            total.latencies.merge(&tally.latencies);
            for (op, latencies) in &tally.by_op {
                total.by_op.entry(op.clone()).or_default().merge(latencies);
            }
            total.failures.merge(&tally.failures);
            total.requests += tally.requests;
            total.reconnects += tally.reconnects;
            total.connect_failures += tally.connect_failures;
        }
    }
    let elapsed = start.elapsed().max(config.duration);
    progress.finish();
    let successes = total.latencies.count();
    let attempts = successes + total.failures.total();
    RunReport {
        url: service.url(),
        workload: config.workload,
        connections: config.connections,
        duration_seconds: config.duration.as_secs_f64(),
        rate: config.rate,
        open_loop: config.rate.is_some(),
        requests: total.requests,
        successes,
        success_percent: if attempts == 0 {
            0.0
        } else {
            successes as f64 * 100.0 / attempts as f64
        },
        throughput: successes as f64 / elapsed.as_secs_f64(),
        latency: total.latencies.summary(),
        latency_by_op: total
            .by_op
            .iter()
            .map(|(op, latencies)| (op.clone(), latencies.summary()))
            .collect(),
        failures_not_the_server: total.failures.not_the_server(),
        failures: total.failures,
        reconnects: total.reconnects,
        connect_failures: total.connect_failures,
        client_cpu_cores: client_cpu.cores(),
        server_cpu_cores: server_cpu.and_then(|meter| meter.cores()),
        listen_overflows: overflows_before
            .zip(listen_overflows())
            .map(|(before, after)| after.saturating_sub(before)),
        warnings,
    }
}

/// One connection's loop until the run's end.
#[allow(clippy::too_many_arguments)]
async fn drive(
    service: &ServiceUrl,
    config: &RunConfig,
    start: Instant,
    ticket: &AtomicU64,
    done: &AtomicU64,
    connection: &mut Option<Connection>,
    rng: &mut Rng,
    tally: &mut Tally,
) {
    let end = start + config.duration;
    loop {
        // When the request is due: now (closed loop) or on the schedule.
        let due = match config.rate {
            Some(rate) => {
                let n = ticket.fetch_add(1, Ordering::Relaxed);
                let due = start + Duration::from_secs_f64(n as f64 / rate);
                if due >= end {
                    return;
                }
                tokio::time::sleep_until(due.into()).await;
                due
            }
            None => {
                let now = Instant::now();
                if now >= end {
                    return;
                }
                now
            }
        };
        if connection.as_ref().is_none_or(Connection::is_closed) {
            match Connection::open(service).await {
                Ok(opened) => {
                    *connection = Some(opened);
                    tally.reconnects += 1;
                }
                Err(error) => {
                    tally.failures.add(error.kind());
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            }
        }
        let Some(open) = connection.as_mut() else {
            continue;
        };
        let Some(caller) = callers::pick(&config.callers, rng) else {
            return;
        };
        open.authorize(caller.authorization.as_ref());
        let op = config.workload.pick(rng);
        let request = op.request(rng, caller.ids, &config.list_path);
        tally.requests += 1;
        let result = open
            .send(request.method, &request.path, request.body.as_ref())
            .await;
        let latency = due.elapsed();
        match result {
            Ok(response) if response.status == request.expect => {
                tally.latencies.record(latency);
                // Looked up before inserting: no key allocated per request.
                match tally.by_op.get_mut(op.name()) {
                    Some(latencies) => latencies.record(latency),
                    None => {
                        let mut latencies = Latencies::default();
                        latencies.record(latency);
                        tally.by_op.insert(op.name().to_owned(), latencies);
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(response) => tally
                .failures
                .add(FailureKind::of_status(response.status.as_u16())),
            Err(error) => {
                tally.failures.add(error.kind());
                *connection = None;
            }
        }
    }
}

impl RunReport {
    /// A few lines for people.
    pub fn describe(&self) -> String {
        let mut lines = vec![
            format!(
                "{} at {} connections for {:.0} s{}: {} requests, {} ok ({:.2}%), {:.0} req/s",
                self.workload,
                self.connections,
                self.duration_seconds,
                self.rate
                    .map_or(String::new(), |rate| format!(", open loop at {rate} req/s")),
                self.requests,
                self.successes,
                self.success_percent,
                self.throughput,
            ),
            format!(
                "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
                self.latency.p50_ms,
                self.latency.p90_ms,
                self.latency.p99_ms,
                self.latency.p999_ms,
                self.latency.max_ms
            ),
        ];
        if let Some(cores) = self.client_cpu_cores {
            lines.push(format!("todo-load used {cores:.2} cores"));
        }
        if let Some(cores) = self.server_cpu_cores {
            lines.push(format!("the service used {cores:.2} cores"));
        }
        lines.extend(self.failures.describe());
        lines.extend(self.warnings.iter().cloned());
        if let Some(overflows) = self.listen_overflows
            && overflows > 0
        {
            lines.push(format!(
                "the kernel dropped {overflows} connects on a full listen backlog (machine limit)"
            ));
        }
        lines.join("\n")
    }
}
