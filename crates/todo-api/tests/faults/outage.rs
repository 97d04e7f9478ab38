//! PostgreSQL gone or frozen under a running service: requests fail fast
//! with 503 and `Retry-After` (API.md, "Errors"), never hang, and the same
//! process serves again once the database is back. These tests hold the
//! shared cluster alone (see `support::ExclusiveCluster`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::task::JoinSet;

use crate::support::{Client, ExclusiveCluster, Reply, Service, error_chain};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_under_load_gives_fast_503s_then_recovers_without_restart() {
    // Well under the request timeout of 5 s the service runs with.
    const FAST: Duration = Duration::from_secs(6);
    let cluster = ExclusiveCluster::acquire().await;
    let database = cluster.fresh_database().await;
    let mut service = Service::start(&database, &["--request-timeout-ms", "5000"]).await;
    service.create(&json!({"title": "before the outage"})).await;

    let load = Load::start(service.client(), 2);
    load.wait_until("ten creates succeed", |tally| tally.created >= 10)
        .await;

    let stopped = cluster.stop().await;
    for n in 0..5 {
        let reply = service
            .post(
                "/api/todo",
                &json!({"title": format!("during the outage {n}")}),
            )
            .await;
        assert_unavailable(&reply, FAST);
    }
    assert_unavailable(&service.get("/api/todo/1").await, FAST);
    assert_unavailable(&service.get("/api/todo").await, FAST);
    let ready = service.get("/ready").await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.describe()
    );
    load.wait_until("the load sees ten 503s", |tally| tally.unavailable >= 10)
        .await;

    stopped.start().await;
    let recovered = created_again_within(&service, Duration::from_secs(20)).await;
    assert!(
        service.is_running(),
        "the service exited:\n{}",
        service.log()
    );
    let reply = service.get(&format!("/api/todo/{}", recovered["id"])).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.describe());
    assert_eq!(reply.json(), recovered);
    let ready = service.get("/ready").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.describe());
    load.wait_until("creates succeed again under load", |tally| {
        tally.created_after_unavailable >= 5
    })
    .await;

    let outcomes = load.finish().await;
    let mut wrong = Vec::new();
    for outcome in &outcomes {
        match &outcome.reply {
            Ok(reply) if reply.status == StatusCode::CREATED && reply.elapsed < FAST => {}
            Ok(reply) if reply.status == StatusCode::SERVICE_UNAVAILABLE => {
                if reply.elapsed >= FAST || reply.header("retry-after").is_none() {
                    wrong.push(format!("{} {:?}", reply.describe(), reply.headers));
                }
            }
            Ok(reply) => wrong.push(reply.describe()),
            Err(error) => wrong.push(format!(
                "no answer after {:?}: {}",
                outcome.elapsed,
                error_chain(error)
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} creates under load went wrong: {wrong:#?}",
        wrong.len(),
        outcomes.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_postgres_gives_503_within_the_request_timeout_then_recovers() {
    // The request timeout of 2 s, and a margin for a loaded machine.
    const WITHIN: Duration = Duration::from_secs(3);
    let cluster = ExclusiveCluster::acquire().await;
    let database = cluster.fresh_database().await;
    let service = Service::start(&database, &["--request-timeout-ms", "2000"]).await;
    let before = service.create(&json!({"title": "before the freeze"})).await;

    let paused = cluster.pause();
    let mut requests = JoinSet::new();
    for n in 0..8 {
        let client = service.client();
        requests.spawn(async move {
            let request = client
                .request(Method::POST, "/api/todo")
                .json(&json!({"title": format!("frozen {n}")}));
            ("create", client.send(request).await)
        });
    }
    for path in [
        format!("/api/todo/{}", before["id"]),
        "/api/todo".to_owned(),
    ] {
        let client = service.client();
        requests.spawn(async move {
            let request = client.request(Method::GET, &path);
            ("read", client.send(request).await)
        });
    }
    let client = service.client();
    requests.spawn(async move {
        let request = client.request(Method::GET, "/ready");
        ("ready", client.send(request).await)
    });
    let answers = tokio::time::timeout(Duration::from_secs(15), requests.join_all())
        .await
        .expect("requests to a frozen database still open after 15 s");
    for (kind, answer) in answers {
        let reply =
            answer.unwrap_or_else(|error| panic!("{kind}: no answer: {}", error_chain(&error)));
        if kind == "ready" {
            assert_eq!(
                reply.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                reply.describe()
            );
            assert!(reply.elapsed < WITHIN, "{}", reply.describe());
        } else {
            assert_unavailable(&reply, WITHIN);
        }
    }
    // Liveness touches no database.
    let health = service.get("/health").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.describe());
    assert!(health.elapsed < WITHIN, "{}", health.describe());

    drop(paused);
    created_again_within(&service, Duration::from_secs(20)).await;
    let reply = service.get(&format!("/api/todo/{}", before["id"])).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.describe());
    assert_eq!(reply.json(), before);
}

/// A 503 with `Retry-After`, answered within `bound`.
fn assert_unavailable(reply: &Reply, bound: Duration) {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.describe()
    );
    assert!(
        reply.header("retry-after").is_some(),
        "no Retry-After: {:?}",
        reply.headers
    );
    assert!(reply.elapsed < bound, "too slow: {}", reply.describe());
    let body = reply.json();
    assert!(body.get("detail").is_some(), "{body}");
}

/// Creates until one answers 201, within `bound`; returns it.
async fn created_again_within(client: &Client, bound: Duration) -> serde_json::Value {
    let deadline = Instant::now() + bound;
    let mut last = String::new();
    for n in 0..1000 {
        let request = client
            .request(Method::POST, "/api/todo")
            .json(&json!({"title": format!("after {n}")}));
        match client.send(request).await {
            Ok(reply) if reply.status == StatusCode::CREATED => return reply.json(),
            Ok(reply) => last = reply.describe(),
            Err(error) => last = error_chain(&error),
        }
        assert!(
            Instant::now() < deadline,
            "no 201 within {bound:?} after the database came back; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no 201 after the database came back; last: {last}");
}

/// One create of the load and how it went.
#[derive(Debug)]
struct Outcome {
    reply: Result<Reply, reqwest::Error>,
    elapsed: Duration,
}

/// Counts of the load so far.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    created: usize,
    unavailable: usize,
    created_after_unavailable: usize,
}

/// A bounded stream of creates from a few workers, each one request at a
/// time, recording every outcome.
#[derive(Debug)]
struct Load {
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<(Vec<Outcome>, Tally)>>,
    workers: JoinSet<()>,
}

impl Load {
    /// Most creates of one worker, and the longest it runs.
    const MAX_REQUESTS: usize = 2000;
    const MAX_TIME: Duration = Duration::from_secs(60);
    /// Pause between two creates of one worker, so a fast 503 does not spin.
    const PACE: Duration = Duration::from_millis(10);

    fn start(client: Client, workers: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let outcomes = Arc::new(Mutex::new((Vec::new(), Tally::default())));
        let mut set = JoinSet::new();
        for worker in 0..workers {
            let client = client.clone();
            let stop = Arc::clone(&stop);
            let outcomes = Arc::clone(&outcomes);
            set.spawn(async move {
                let started = Instant::now();
                for n in 0..Load::MAX_REQUESTS {
                    if stop.load(Ordering::SeqCst) || started.elapsed() > Load::MAX_TIME {
                        return;
                    }
                    let request = client
                        .request(Method::POST, "/api/todo")
                        .json(&json!({"title": format!("load {worker}-{n}")}));
                    let sent = Instant::now();
                    let reply = client.send(request).await;
                    let elapsed = sent.elapsed();
                    record(&outcomes, Outcome { reply, elapsed });
                    tokio::time::sleep(Load::PACE).await;
                }
            });
        }
        Load {
            stop,
            outcomes,
            workers: set,
        }
    }

    /// Waits, at most 20 s, until the tally meets `condition`.
    async fn wait_until(&self, what: &str, condition: impl Fn(Tally) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for _ in 0..2000 {
            let tally = self.outcomes.lock().expect("load lock").1;
            if condition(tally) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited 20 s for {what}; load so far: {tally:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("gave up waiting for {what}");
    }

    /// Stops the workers and returns every outcome.
    async fn finish(mut self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::SeqCst);
        let finished = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(joined) = self.workers.join_next().await {
                joined.expect("a load worker panicked");
            }
        })
        .await;
        assert!(finished.is_ok(), "the load did not stop within 20 s");
        std::mem::take(&mut self.outcomes.lock().expect("load lock").0)
    }
}

/// Adds one outcome of the load to the record and the tally.
fn record(outcomes: &Mutex<(Vec<Outcome>, Tally)>, outcome: Outcome) {
    let mut outcomes = outcomes.lock().expect("load lock");
    let tally = &mut outcomes.1;
    match &outcome.reply {
        Ok(reply) if reply.status == StatusCode::CREATED => {
            tally.created += 1;
            if tally.unavailable > 0 {
                tally.created_after_unavailable += 1;
            }
        }
        Ok(reply) if reply.status == StatusCode::SERVICE_UNAVAILABLE => {
            tally.unavailable += 1;
        }
        _ => {}
    }
    outcomes.0.push(outcome);
}
