//! Creates and updates as a careful client sends them while instances come
//! and go: every create carries an `Idempotency-Key`, every answer that
//! says "try again" (no connection, a reset, 408, 409, 429, 502, 503, 504)
//! is retried with the same key or the same PATCH until it succeeds, and
//! each client remembers what it was told. Afterwards, `verify` reads every
//! todo back through the API: exactly the acknowledged creates, none twice,
//! each with its last acknowledged update.
//!
//! Latencies are kept apart for the time a disruption (a restart) is under
//! way and the rest, so the report shows what clients felt meanwhile.

mod check;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use check::{KeyedWritesCheck, verify};

use crate::client::{ClientError, Connection, Response};
use crate::service_url::ServiceUrl;
use crate::stats::{Latencies, LatencySummary};

/// The first pause before a retry; doubled each time up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// What to run.
#[derive(Debug, Clone)]
pub struct KeyedWritesConfig {
    /// Clients, each on its own connection, each create then update in turn.
    pub clients: u64,
    /// Prefix of every title and key, unique to the run.
    pub tag: String,
    /// How long one operation may keep retrying before the client gives up
    /// on it (and reports it).
    pub give_up_after: Duration,
}

/// Shared switches between the load and whoever disrupts the service.
#[derive(Debug, Default)]
pub struct LoadControl {
    /// Set while a disruption is under way: latencies go to its histogram.
    pub disrupted: AtomicBool,
    /// Set to end the load after the clients' current operations.
    pub stop: AtomicBool,
}

/// How one attempt ended, as the report counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// 2xx, as the contract says.
    Succeeded,
    /// No connection could be made (nothing listening behind the address).
    ConnectFailed,
    /// The connection closed or reset before the answer came.
    ConnectionReset,
    /// No answer in time.
    Timeout,
    /// An HTTP status that says "try again": 408, 409, 429, 502, 503, 504.
    RetryableStatus(u16),
    /// Any other status: the client cannot know whether retrying is safe.
    UnexpectedStatus(u16),
}

impl AttemptOutcome {
    fn of(result: &Result<Response, ClientError>, expected: u16) -> AttemptOutcome {
        match result {
            Ok(response) if response.status.as_u16() == expected => AttemptOutcome::Succeeded,
            Ok(response) => match response.status.as_u16() {
                status @ (408 | 409 | 429 | 502 | 503 | 504) => {
                    AttemptOutcome::RetryableStatus(status)
                }
                status => AttemptOutcome::UnexpectedStatus(status),
            },
            Err(ClientError::Connect(_) | ClientError::ConnectTimeout(_)) => {
                AttemptOutcome::ConnectFailed
            }
            Err(ClientError::Timeout(_)) => AttemptOutcome::Timeout,
            Err(_) => AttemptOutcome::ConnectionReset,
        }
    }

    /// Whether a client may send the same request again without risk: with
    /// its key (a create) or as the same PATCH (an update).
    pub fn is_retryable(self) -> bool {
        !matches!(
            self,
            AttemptOutcome::Succeeded | AttemptOutcome::UnexpectedStatus(_)
        )
    }
}

impl std::fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttemptOutcome::Succeeded => f.write_str("succeeded"),
            AttemptOutcome::ConnectFailed => f.write_str("connect failed"),
            AttemptOutcome::ConnectionReset => f.write_str("connection reset"),
            AttemptOutcome::Timeout => f.write_str("timeout"),
            AttemptOutcome::RetryableStatus(status) | AttemptOutcome::UnexpectedStatus(status) => {
                write!(f, "{status}")
            }
        }
    }
}

/// A create the service acknowledged, and its last acknowledged update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgedTodo {
    pub id: i64,
    pub title: String,
    /// The priority of the last acknowledged PATCH, if one was.
    pub priority: Option<i64>,
}

/// What the clients did and were told.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyedWritesReport {
    /// Requests sent, retries included.
    pub attempts: u64,
    /// Operations (a create or an update, however many attempts) that
    /// succeeded.
    pub operations: u64,
    /// Attempts by outcome (succeeded, 503, connection reset, …).
    pub outcomes: BTreeMap<String, u64>,
    /// Attempts that ended in an answer a client cannot safely retry.
    pub unsafe_failures: u64,
    /// Operations given up after `give_up_after`.
    pub given_up: u64,
    /// Latency of each operation as its client felt it, retries included,
    /// while no disruption was under way …
    pub steady: LatencySummary,
    /// … and while one was.
    pub disrupted: LatencySummary,
    /// Successful operations a second over the whole run.
    pub operations_per_second: f64,
    pub seconds: f64,
}

/// One client's share.
#[derive(Debug, Default)]
struct ClientRecord {
    acknowledged: Vec<AcknowledgedTodo>,
    attempts: u64,
    operations: u64,
    outcomes: BTreeMap<AttemptOutcome, u64>,
    given_up: u64,
    steady: Latencies,
    disrupted: Latencies,
}

/// Runs the clients until `control.stop` is set; returns the report and
/// every acknowledged todo.
pub async fn run_keyed_writes(
    service: &ServiceUrl,
    config: &KeyedWritesConfig,
    control: Arc<LoadControl>,
) -> (KeyedWritesReport, Vec<AcknowledgedTodo>) {
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..config.clients {
        let service = service.clone();
        let config = config.clone();
        let control = Arc::clone(&control);
        clients.spawn(async move { run_client(&service, &config, client, &control).await });
    }
    let records = clients.join_all().await;
    let seconds = started.elapsed().as_secs_f64();

    let mut report = KeyedWritesReport {
        seconds,
        ..KeyedWritesReport::default()
    };
    let mut steady = Latencies::default();
    let mut disrupted = Latencies::default();
    let mut outcomes: BTreeMap<AttemptOutcome, u64> = BTreeMap::new();
    let mut acknowledged = Vec::new();
    for record in records {
        report.attempts += record.attempts;
        report.operations += record.operations;
        report.given_up += record.given_up;
        for (outcome, count) in record.outcomes {
            *outcomes.entry(outcome).or_default() += count;
        }
        steady.merge(&record.steady);
        disrupted.merge(&record.disrupted);
        acknowledged.extend(record.acknowledged);
    }
    report.unsafe_failures = outcomes
        .iter()
        .filter(|(outcome, _)| matches!(outcome, AttemptOutcome::UnexpectedStatus(_)))
        .map(|(_, count)| count)
        .sum();
    report.outcomes = outcomes
        .into_iter()
        .map(|(outcome, count)| (outcome.to_string(), count))
        .collect();
    report.steady = steady.summary();
    report.disrupted = disrupted.summary();
    report.operations_per_second = report.operations as f64 / seconds.max(f64::EPSILON);
    (report, acknowledged)
}

async fn run_client(
    service: &ServiceUrl,
    config: &KeyedWritesConfig,
    client: u64,
    control: &LoadControl,
) -> ClientRecord {
    let mut record = ClientRecord::default();
    let mut connection: Option<Connection> = None;
    let mut n = 0_u64;
    while !control.stop.load(Ordering::Relaxed) {
        n += 1;
        let title = format!("{}-{client}-{n}", config.tag);
        let mut headers = HeaderMap::new();
        headers.insert(
            "idempotency-key",
            HeaderValue::from_str(&title).expect("a tag and numbers make a valid key"),
        );
        let create = Request {
            method: Method::POST,
            path: "/api/todo".to_owned(),
            body: json!({"title": title}),
            headers,
            expected: 201,
        };
        let Some(created) = record
            .operate(service, &mut connection, &create, config, control)
            .await
        else {
            continue;
        };
        let Some(id) = created.todo_id() else {
            // A 201 without an id breaks the contract: the create is given
            // up on (its todo then shows as unacknowledged in the check).
            record.given_up += 1;
            continue;
        };
        let mut todo = AcknowledgedTodo {
            id,
            title,
            priority: None,
        };
        let priority = i64::try_from(n % 5).unwrap_or(0) + 1;
        let update = Request {
            method: Method::PATCH,
            path: format!("/api/todo/{id}"),
            body: json!({"priority": priority, "completed": true}),
            headers: HeaderMap::new(),
            expected: 200,
        };
        if record
            .operate(service, &mut connection, &update, config, control)
            .await
            .is_some()
        {
            todo.priority = Some(priority);
        }
        record.acknowledged.push(todo);
    }
    record
}

/// One operation's request, sent again as it is on every retry.
struct Request {
    method: Method,
    path: String,
    body: Value,
    headers: HeaderMap,
    expected: u16,
}

impl ClientRecord {
    /// Sends `request` until it succeeds or retrying is unsafe or too long;
    /// the answer when it succeeded.
    async fn operate(
        &mut self,
        service: &ServiceUrl,
        connection: &mut Option<Connection>,
        request: &Request,
        config: &KeyedWritesConfig,
        control: &LoadControl,
    ) -> Option<Response> {
        let started = Instant::now();
        let disrupted_at_start = control.disrupted.load(Ordering::Relaxed);
        let mut backoff = FIRST_BACKOFF;
        loop {
            let result = match connection.as_mut().filter(|open| !open.is_closed()) {
                Some(open) => Ok(open),
                None => Connection::open(service)
                    .await
                    .map(|open| connection.insert(open)),
            };
            let result = match result {
                Ok(open) => {
                    open.send_with(
                        request.method.clone(),
                        &request.path,
                        Some(&request.body),
                        &request.headers,
                    )
                    .await
                }
                Err(error) => Err(error),
            };
            if result.is_err() {
                *connection = None;
            }
            let outcome = AttemptOutcome::of(&result, request.expected);
            self.count(outcome);
            if outcome == AttemptOutcome::Succeeded {
                self.operations += 1;
                let latencies = if disrupted_at_start || control.disrupted.load(Ordering::Relaxed) {
                    &mut self.disrupted
                } else {
                    &mut self.steady
                };
                latencies.record(started.elapsed());
                return result.ok();
            }
            if !outcome.is_retryable() || started.elapsed() > config.give_up_after {
                self.given_up += 1;
                return None;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn count(&mut self, outcome: AttemptOutcome) {
        self.attempts += 1;
        *self.outcomes.entry(outcome).or_default() += 1;
    }
}
