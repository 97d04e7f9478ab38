//! Runs one scenario: set-up over one connection, then every client on its
//! own connection, released together once all have connected.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::json;
use tokio::sync::Barrier;

use super::verify::{Acked, UpdateAttempt, verify};
use super::{Action, Scenario, ScenarioResult};
use crate::client::{ClientError, Connection};
use crate::failure::{FailureKind, Failures};
use crate::limits::{CpuMeter, Limits, listen_overflows};
use crate::service_url::ServiceUrl;
use crate::stats::Latencies;

/// A scenario that could not even start.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("set-up failed: {0}")]
    Setup(#[from] ClientError),
    #[error("set-up failed: {0}")]
    SetupAnswer(String),
    #[error("a client task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// What one client saw.
#[derive(Debug, Default)]
struct ClientOutcome {
    latencies: Latencies,
    connect: Latencies,
    failures: Failures,
    created: Vec<Acked>,
    updates: Vec<UpdateAttempt>,
    done_at: Option<Instant>,
}

/// Runs `scenario` against `service`. `tag` makes this run's titles unique,
/// so the checks find exactly its todos.
pub async fn run_scenario(
    service: &ServiceUrl,
    scenario: &Scenario,
    tag: &str,
) -> Result<ScenarioResult, ScenarioError> {
    let limits = Limits::prepare(scenario.clients);
    let warnings = limits.warnings(scenario.clients);
    let todo_ids = setup(service, scenario, tag).await?;
    let todo_ids = Arc::new(todo_ids);
    let barrier = Arc::new(Barrier::new(
        usize::try_from(scenario.clients).unwrap_or(usize::MAX),
    ));
    let released: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let overflows_before = listen_overflows();
    let cpu = CpuMeter::start(None);

    let mut tasks = Vec::with_capacity(scenario.clients as usize);
    for client in 0..scenario.clients {
        let service = service.clone();
        let barrier = Arc::clone(&barrier);
        let released = Arc::clone(&released);
        let todo_ids = Arc::clone(&todo_ids);
        let action = scenario.action;
        let title = format!("{tag} c{client}");
        tasks.push(tokio::spawn(async move {
            let mut outcome = ClientOutcome::default();
            let started = Instant::now();
            let connection = Connection::open(&service).await;
            if connection.is_ok() {
                outcome.connect.record(started.elapsed());
            }
            barrier.wait().await;
            released.get_or_init(Instant::now);
            match connection {
                Ok(mut connection) => {
                    act(
                        &mut connection,
                        action,
                        client,
                        &title,
                        &todo_ids,
                        &mut outcome,
                    )
                    .await;
                }
                Err(error) => {
                    // Every operation of a client that could not connect fails.
                    let kind = error.kind();
                    for _ in 0..ops_per_client(action) {
                        outcome.failures.add(kind);
                    }
                }
            }
            outcome.done_at = Some(Instant::now());
            outcome
        }));
    }
    let mut total = ClientOutcome::default();
    let mut last_done: Option<Instant> = None;
    for task in tasks {
        let outcome = task.await?;
        total.latencies.merge(&outcome.latencies);
        total.connect.merge(&outcome.connect);
        total.failures.merge(&outcome.failures);
        total.created.extend(outcome.created);
        total.updates.extend(outcome.updates);
        last_done = last_done.max(outcome.done_at);
    }
    let client_cpu_cores = cpu.cores();
    let listen_overflows = overflows_before
        .zip(listen_overflows())
        .map(|(before, after)| after.saturating_sub(before));
    let elapsed = match (released.get(), last_done) {
        (Some(start), Some(end)) => end.saturating_duration_since(*start),
        _ => Duration::ZERO,
    };

    let verification = verify(
        service,
        scenario,
        tag,
        &total.created,
        &total.updates,
        &todo_ids,
    )
    .await;
    let expected = scenario.expected();
    let actual = total.latencies.count();
    Ok(ScenarioResult {
        scenario: scenario.clone(),
        expected,
        actual,
        success_percent: percent(actual, expected),
        ops_per_second: if elapsed.is_zero() {
            0.0
        } else {
            actual as f64 / elapsed.as_secs_f64()
        },
        latency: total.latencies.summary(),
        connect: total.connect.summary(),
        failures_not_the_server: total.failures.not_the_server(),
        failures: total.failures,
        verification,
        client_cpu_cores,
        listen_overflows,
        warnings,
    })
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn ops_per_client(action: Action) -> u32 {
    match action {
        Action::CreateOne => 1,
        Action::Update(n) | Action::Read(n) => n,
    }
}

/// Creates the todos that updates and reads act on: one per client.
async fn setup(
    service: &ServiceUrl,
    scenario: &Scenario,
    tag: &str,
) -> Result<Vec<i64>, ScenarioError> {
    if scenario.action == Action::CreateOne {
        return Ok(Vec::new());
    }
    let mut connection = Connection::open(service).await?;
    let mut ids = Vec::with_capacity(scenario.clients as usize);
    for client in 0..scenario.clients {
        let body = json!({ "title": format!("{tag} setup {client}") });
        // Keyed, so it may be sent again when a load balancer answers 502
        // to 504 (the rolling-restart bench runs the table meanwhile).
        let mut headers = HeaderMap::new();
        headers.insert(
            "idempotency-key",
            HeaderValue::from_str(&format!("{tag}-setup-{client}"))
                .map_err(|error| ScenarioError::SetupAnswer(error.to_string()))?,
        );
        let response = connection
            .send_retrying(Method::POST, "/api/todo", Some(&body), &headers)
            .await?;
        match response.todo_id() {
            Some(id) if response.status == StatusCode::CREATED => ids.push(id),
            _ => {
                return Err(ScenarioError::SetupAnswer(format!(
                    "POST /api/todo answered {}",
                    response.status
                )));
            }
        }
    }
    Ok(ids)
}

/// One client's operations over its own connection.
async fn act(
    connection: &mut Connection,
    action: Action,
    client: u64,
    title: &str,
    todo_ids: &[i64],
    outcome: &mut ClientOutcome,
) {
    match action {
        Action::CreateOne => {
            let started = Instant::now();
            let result = connection
                .post("/api/todo", &json!({ "title": title }))
                .await;
            match result {
                Ok(response) if response.status == StatusCode::CREATED => {
                    match response.todo_id() {
                        Some(id) => {
                            outcome.latencies.record(started.elapsed());
                            outcome.created.push(Acked {
                                id,
                                title: title.to_owned(),
                            });
                        }
                        None => outcome.failures.add(FailureKind::BadAnswer),
                    }
                }
                Ok(response) => outcome
                    .failures
                    .add(FailureKind::of_status(response.status.as_u16())),
                Err(error) => outcome.failures.add(error.kind()),
            }
        }
        Action::Update(count) => {
            let id = todo_ids[client as usize % todo_ids.len()];
            for round in 0..count {
                let new_title = format!("{title} u{round}");
                let started = Instant::now();
                let result = connection
                    .patch(&format!("/api/todo/{id}"), &json!({ "title": new_title }))
                    .await;
                let acked = match result {
                    Ok(response) if response.status == StatusCode::OK => {
                        let shown = response.json().and_then(|todo| {
                            todo.get("title")
                                .and_then(|t| t.as_str())
                                .map(str::to_owned)
                        });
                        if shown.as_deref() == Some(new_title.as_str()) {
                            outcome.latencies.record(started.elapsed());
                            true
                        } else {
                            outcome.failures.add(FailureKind::BadAnswer);
                            false
                        }
                    }
                    Ok(response) => {
                        outcome
                            .failures
                            .add(FailureKind::of_status(response.status.as_u16()));
                        false
                    }
                    Err(error) => {
                        outcome.failures.add(error.kind());
                        false
                    }
                };
                outcome.updates.push(UpdateAttempt {
                    id,
                    title: new_title,
                    acked,
                });
            }
        }
        Action::Read(count) => {
            for round in 0..count {
                let id = todo_ids[(client as usize + round as usize) % todo_ids.len()];
                let started = Instant::now();
                match connection.get(&format!("/api/todo/{id}")).await {
                    Ok(response) if response.status == StatusCode::OK => {
                        if response.todo_id() == Some(id) {
                            outcome.latencies.record(started.elapsed());
                        } else {
                            outcome.failures.add(FailureKind::BadAnswer);
                        }
                    }
                    Ok(response) => outcome
                        .failures
                        .add(FailureKind::of_status(response.status.as_u16())),
                    Err(error) => outcome.failures.add(error.kind()),
                }
            }
        }
    }
}
