//! `changes`: the change feed (API.md, "Changes").
//!
//! - Catch-up: a client copying 100,000 todos from scratch through
//!   `GET /api/todo/changes` (pages of 1,000, following `cursor`), beside
//!   the same rows through the plain listing (pages of 1,000 by id,
//!   following `Link`), in rounds, on PostgreSQL and on SQLite. The
//!   listing is the reference.
//! - Fan-out: 10,000 event streams (1,000 JWT users, 10 streams each) on
//!   one PostgreSQL instance, the service's RSS with them open, then 1,000
//!   creates a second spread over the 1,000 users; each event's delay is
//!   taken from the todo's `created_at` (the database's clock at the start
//!   of the write's transaction, so before its commit) to the event's
//!   arrival. Then the same with the streams on a second instance and the
//!   writes through the first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::HeaderValue;
use serde::{Deserialize, Serialize};
use todo_load::client::Connection;
use todo_load::events::EventStream;
use todo_load::limits::Limits;
use todo_load::service_url::ServiceUrl;
use todo_load::stats::{Latencies, LatencySummary};
use todo_load::workload::ensure_todos;

use crate::cluster::Cluster;
use crate::error::BenchError;
use crate::measure::{BenchOptions, round_label};
use crate::parts::concurrency::status_kib;
use crate::parts::users::{BENCH_SECRET, mint_tokens};
use crate::results::{Part, save};
use crate::service::Service;

/// Todos a catch-up copies.
pub const CATCH_UP_TODOS: u64 = 100_000;

/// Rows per page of both catch-up walks.
const PAGE: u64 = 1_000;

/// Rounds of the catch-up.
const CATCH_UP_ROUNDS: usize = 3;

/// Users of the fan-out.
pub const FAN_OUT_USERS: u64 = 1_000;

/// Streams each user has open.
pub const STREAMS_PER_USER: u64 = 10;

/// Creates a second during the fan-out.
pub const FAN_OUT_WRITES_PER_SECOND: u64 = 1_000;

/// Connections the fan-out's writes go through.
const WRITERS: u64 = 32;

/// Streams opened at once while setting up.
const OPENING_AT_ONCE: usize = 200;

/// How long events may still arrive after the last write.
const DRAIN: Duration = Duration::from_secs(3);

/// One catch-up round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatchUpPoint {
    pub backend: String,
    pub todos: u64,
    pub listing_rows_per_second: f64,
    pub changes_rows_per_second: f64,
}

impl CatchUpPoint {
    pub fn ratio(&self) -> f64 {
        self.changes_rows_per_second / self.listing_rows_per_second
    }
}

/// One fan-out run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanOutPoint {
    /// `one instance`, or `two instances` (streams on one, writes through
    /// the other).
    pub topology: String,
    pub streams: u64,
    /// `VmRSS` of the instance holding the streams, with them open, in KiB.
    pub rss_kib: u64,
    pub writes: u64,
    pub events_expected: u64,
    pub events_received: u64,
    /// From the todo's `created_at` to the event's arrival.
    pub delay: LatencySummary,
}

/// What the part writes to `changes.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChangesPart {
    pub catch_up: Vec<CatchUpPoint>,
    pub fan_out: Vec<FanOutPoint>,
}

/// The catch-up on both backends, then the fan-out on PostgreSQL.
pub async fn run_changes(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
    let mut part = ChangesPart::default();
    let (_, url) = cluster.fresh_database().await?;
    catch_up("postgres", &url, options, &mut part).await?;
    let dir = tempfile::tempdir().map_err(BenchError::Io)?;
    let file = format!("sqlite://{}", dir.path().join("changes.db").display());
    catch_up("sqlite", &file, options, &mut part).await?;
    let (_, url) = cluster.fresh_database().await?;
    fan_out(&url, options, &mut part).await
}

async fn catch_up(
    backend: &str,
    url: &str,
    options: &BenchOptions,
    part: &mut ChangesPart,
) -> Result<(), BenchError> {
    let log = options.out.join(format!("service-changes-{backend}.log"));
    let service = Service::start(&[("DATABASE_URL", url.to_owned())], &log).await?;
    let mut connection = open(&service.url).await?;
    eprintln!("  seeding {CATCH_UP_TODOS} todos…");
    ensure_todos(&mut connection, CATCH_UP_TODOS).await?;
    for round in 1..=CATCH_UP_ROUNDS {
        let listing = timed_walk(&mut connection, Walk::Listing).await?;
        let changes = timed_walk(&mut connection, Walk::Changes).await?;
        let point = CatchUpPoint {
            backend: backend.to_owned(),
            todos: CATCH_UP_TODOS,
            listing_rows_per_second: listing,
            changes_rows_per_second: changes,
        };
        eprintln!(
            "  {backend} catch-up of {CATCH_UP_TODOS}{}: changes {changes:.0} rows/s, listing {listing:.0} rows/s ({:.2}x)",
            round_label(round, CATCH_UP_ROUNDS),
            point.ratio()
        );
        part.catch_up.push(point);
        save(&options.out, Part::Changes.file_name(), part)?;
    }
    drop(connection);
    service.stop().await
}

/// The two ways of copying every todo.
#[derive(Debug, Clone, Copy)]
enum Walk {
    Listing,
    Changes,
}

/// Copies every todo one way; returns rows a second.
async fn timed_walk(connection: &mut Connection, walk: Walk) -> Result<f64, BenchError> {
    let started = Instant::now();
    let mut rows = 0u64;
    let mut path = Some(match walk {
        Walk::Listing => format!("/api/todo?sort=id&limit={PAGE}"),
        Walk::Changes => format!("/api/todo/changes?limit={PAGE}"),
    });
    while let Some(target) = path.take() {
        let response = connection
            .get(&target)
            .await
            .map_err(|error| BenchError::Setup(format!("{target}: {error}")))?;
        let body = response
            .json()
            .ok_or_else(|| BenchError::Setup(format!("{target}: no JSON answer")))?;
        match walk {
            Walk::Listing => {
                rows += body.as_array().map_or(0, Vec::len) as u64;
                path = response.next_link();
            }
            Walk::Changes => {
                rows += body["changes"].as_array().map_or(0, Vec::len) as u64;
                if body["has_more"] == true {
                    let cursor = body["cursor"].as_str().unwrap_or_default();
                    path = Some(format!("/api/todo/changes?limit={PAGE}&since={cursor}"));
                }
            }
        }
    }
    if rows < CATCH_UP_TODOS {
        return Err(BenchError::Setup(format!(
            "{walk:?} copied {rows} of {CATCH_UP_TODOS} todos"
        )));
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

async fn open(url: &ServiceUrl) -> Result<Connection, BenchError> {
    Connection::open(url)
        .await
        .map_err(|error| BenchError::Setup(error.to_string()))
}

async fn fan_out(
    url: &str,
    options: &BenchOptions,
    part: &mut ChangesPart,
) -> Result<(), BenchError> {
    let streams = FAN_OUT_USERS * STREAMS_PER_USER;
    let limits = Limits::prepare(streams + WRITERS);
    for warning in limits.warnings(streams + WRITERS) {
        eprintln!("  warning: {warning}");
    }
    let env = |_: ()| {
        vec![
            ("DATABASE_URL", url.to_owned()),
            ("JWT_SECRET", BENCH_SECRET.to_owned()),
        ]
    };
    let log = |name: &str| options.out.join(format!("service-changes-{name}.log"));
    let first = Service::start(&env(()), &log("fan-out-a")).await?;
    eprintln!("  minting {FAN_OUT_USERS} users' tokens…");
    let tokens = mint_tokens(FAN_OUT_USERS).await?;
    let one = measure_fan_out("one instance", &first, &first, &tokens, options).await?;
    part.fan_out.push(one);
    save(&options.out, Part::Changes.file_name(), part)?;
    let second = Service::start(&env(()), &log("fan-out-b")).await?;
    let two = measure_fan_out("two instances", &second, &first, &tokens, options).await?;
    part.fan_out.push(two);
    save(&options.out, Part::Changes.file_name(), part)?;
    second.stop().await?;
    first.stop().await
}

/// What the streams saw.
#[derive(Default)]
struct Received {
    delays: Mutex<Latencies>,
    events: AtomicU64,
}

/// Opens every stream on `streams_on`, writes through `writes_to`, and
/// reads the delays.
async fn measure_fan_out(
    topology: &str,
    streams_on: &Service,
    writes_to: &Service,
    tokens: &[HeaderValue],
    options: &BenchOptions,
) -> Result<FanOutPoint, BenchError> {
    let received = Arc::new(Received::default());
    let streams = open_streams(&streams_on.url, tokens, &received).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_kib = status_kib(streams_on.pid, "VmRSS").unwrap_or(0);
    eprintln!(
        "  {topology}: {} streams open, RSS {:.1} MB; writing {FAN_OUT_WRITES_PER_SECOND}/s for {:?}…",
        streams.len(),
        rss_kib as f64 / 1024.0,
        options.duration
    );
    let writes = write_paced(&writes_to.url, tokens, options.duration).await?;
    tokio::time::sleep(DRAIN).await;
    for stream in &streams {
        stream.abort();
    }
    let delay = received
        .delays
        .lock()
        .map_err(|_| BenchError::Setup("a stream task panicked".to_owned()))?
        .summary();
    let point = FanOutPoint {
        topology: topology.to_owned(),
        streams: streams.len() as u64,
        rss_kib,
        writes,
        events_expected: writes * STREAMS_PER_USER,
        events_received: received.events.load(Ordering::Relaxed),
        delay,
    };
    eprintln!(
        "  {topology}: {} of {} events, delay p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        point.events_received,
        point.events_expected,
        point.delay.p50_ms,
        point.delay.p99_ms,
        point.delay.max_ms
    );
    Ok(point)
}

/// `STREAMS_PER_USER` streams for each token, each read by a task of its
/// own that records every event's delay.
async fn open_streams(
    service: &ServiceUrl,
    tokens: &[HeaderValue],
    received: &Arc<Received>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, BenchError> {
    let mut tasks = Vec::with_capacity(tokens.len() * STREAMS_PER_USER as usize);
    let mut opening = tokio::task::JoinSet::new();
    let wanted: Vec<HeaderValue> = tokens
        .iter()
        .flat_map(|token| std::iter::repeat_n(token.clone(), STREAMS_PER_USER as usize))
        .collect();
    for chunk in wanted.chunks(OPENING_AT_ONCE) {
        for token in chunk {
            let service = service.clone();
            let token = token.clone();
            opening.spawn(async move {
                EventStream::open(&service, "/api/todo/events", Some(&token)).await
            });
        }
        while let Some(opened) = opening.join_next().await {
            let mut stream = opened
                .map_err(|error| BenchError::Setup(error.to_string()))?
                .map_err(|error| BenchError::Setup(format!("a stream did not open: {error}")))?;
            let received = Arc::clone(received);
            tasks.push(tokio::spawn(async move {
                while let Some(Ok(event)) = stream.next().await {
                    record(&received, &event.data);
                }
            }));
        }
    }
    Ok(tasks)
}

/// Records the delay of one event, from its todo's `created_at`.
fn record(received: &Received, data: &str) {
    let arrived = todo_core::now();
    received.events.fetch_add(1, Ordering::Relaxed);
    let created = serde_json::from_str::<serde_json::Value>(data)
        .ok()
        .and_then(|todo| {
            todo["created_at"]
                .as_str()
                .and_then(todo_core::parse_timestamp)
        });
    if let Some(created) = created {
        let micros = (arrived - created).num_microseconds().unwrap_or(0).max(0);
        if let Ok(mut delays) = received.delays.lock() {
            delays.record(Duration::from_micros(micros as u64));
        }
    }
}

/// Creates at [`FAN_OUT_WRITES_PER_SECOND`] for `duration`, user after
/// user, through [`WRITERS`] connections; returns how many succeeded.
async fn write_paced(
    service: &ServiceUrl,
    tokens: &[HeaderValue],
    duration: Duration,
) -> Result<u64, BenchError> {
    let per_writer = FAN_OUT_WRITES_PER_SECOND / WRITERS;
    let interval = Duration::from_secs_f64(1.0 / per_writer as f64);
    let total = (per_writer as f64 * duration.as_secs_f64()) as u64;
    let succeeded = Arc::new(AtomicU64::new(0));
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let mut connection = open(service).await?;
        let tokens: Vec<HeaderValue> = tokens.to_vec();
        let succeeded = Arc::clone(&succeeded);
        writers.spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            for write in 0..total {
                ticks.tick().await;
                let user = (writer + write * WRITERS) as usize % tokens.len();
                connection.authorize(Some(&tokens[user]));
                let body = serde_json::json!({"title": format!("fan-out {writer} {write}")});
                if let Ok(response) = connection.post("/api/todo", &body).await
                    && response.status == http::StatusCode::CREATED
                {
                    succeeded.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    writers.join_all().await;
    Ok(succeeded.load(Ordering::Relaxed))
}
