//! Graceful shutdown (API.md, "Running it"): on SIGTERM the service stops
//! accepting, finishes the requests in flight and exits 0.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nix::sys::signal::Signal;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::support::{Backend, Database, Service, error_chain, on_both_backends};

on_both_backends!(
    sigterm_with_hundreds_of_requests_in_flight_loses_no_acknowledged_write_and_exits_0
);

/// Creates sent at once.
const IN_FLIGHT: usize = 300;

/// The `--shutdown-grace-ms` the service runs with.
const GRACE: Duration = Duration::from_secs(10);

async fn sigterm_with_hundreds_of_requests_in_flight_loses_no_acknowledged_write_and_exits_0(
    backend: Backend,
) {
    let database = Database::new(backend).await;
    let grace_ms = GRACE.as_millis().to_string();
    let mut service = Service::start(&database, &["--shutdown-grace-ms", &grace_ms]).await;
    let mut acknowledged = vec![service.create(&json!({"title": "before"})).await];

    let answered = Arc::new(AtomicUsize::new(0));
    let first_answer = Arc::new(Notify::new());
    let mut requests = JoinSet::new();
    for n in 0..IN_FLIGHT {
        let client = service.client();
        let answered = Arc::clone(&answered);
        let first_answer = Arc::clone(&first_answer);
        requests.spawn(async move {
            let request = client
                .request(Method::POST, "/api/todo")
                .json(&json!({"title": format!("in flight {n}")}));
            let outcome = client.send(request).await;
            if answered.fetch_add(1, Ordering::SeqCst) == 0 {
                first_answer.notify_one();
            }
            outcome
        });
    }
    // SIGTERM as soon as the first answer is in: most are still in flight
    // or not yet sent.
    tokio::time::timeout(Duration::from_secs(10), first_answer.notified())
        .await
        .expect("no create answered within 10 s");
    service.signal(Signal::SIGTERM);
    let status = service.wait_for_exit(GRACE + Duration::from_secs(2)).await;
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status:?}:\n{}",
        service.log()
    );

    let mut refused = Vec::new();
    let mut unavailable = 0;
    let mut unexpected = Vec::new();
    let collected = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(outcome) = requests.join_next().await {
            match outcome.expect("a request task panicked") {
                Ok(reply) if reply.status == StatusCode::CREATED => acknowledged.push(reply.json()),
                // Refused cleanly; the client knows nothing was written.
                Ok(reply) if reply.status == StatusCode::SERVICE_UNAVAILABLE => unavailable += 1,
                Ok(reply) => unexpected.push(reply.describe()),
                // The listener closed, or the connection did before the
                // request was taken: never acknowledged.
                Err(error) => refused.push(error_chain(&error)),
            }
        }
    })
    .await;
    assert!(collected.is_ok(), "requests still open after the exit");
    let tally = format!(
        "{} acknowledged, {} refused ({:?}), {unavailable} answered 503, unexpected: {unexpected:#?}",
        acknowledged.len(),
        refused.len(),
        refused.first()
    );
    assert!(unexpected.is_empty(), "{tally}");
    assert!(
        acknowledged.len() > 1,
        "no create in flight succeeded: {tally}"
    );
    eprintln!("{tally}");
    drop(service);

    let restarted = Service::start(&database, &[]).await;
    let stored: HashMap<i64, Value> = restarted
        .all_todos()
        .await
        .into_iter()
        .map(|todo| (todo["id"].as_i64().expect("an integer id"), todo))
        .collect();
    for todo in &acknowledged {
        let id = todo["id"].as_i64().expect("an integer id");
        assert_eq!(
            stored.get(&id),
            Some(todo),
            "acknowledged todo {id} ({tally})"
        );
    }
}
