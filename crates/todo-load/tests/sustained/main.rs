//! Sustained load, closed and open loop, against a real service over HTTP.

#[path = "../scenarios/support.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;

use support::Service;
use todo_load::callers::{Caller, seed_users};
use todo_load::client::Connection;
use todo_load::sustained::{RunConfig, run_load};
use todo_load::workload::{LIST_PATH, Workload, ensure_todos};

async fn config(service: &Service, workload: Workload, rate: Option<f64>) -> RunConfig {
    let mut connection = Connection::open(&service.url).await.expect("a connection");
    let ids = ensure_todos(&mut connection, 50)
        .await
        .expect("seeding works");
    assert!(ids.max - ids.min + 1 >= 50, "{ids:?}");
    RunConfig {
        workload,
        connections: 4,
        duration: Duration::from_millis(700),
        rate,
        callers: Arc::from([Caller::anonymous(ids)]),
        list_path: LIST_PATH.to_owned(),
        progress: false,
        server_pid: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_loop_mixed_run_answers_every_request_and_counts_each_kind() {
    let service = Service::start(&[]).await;
    let config = config(&service, Workload::Mixed, None).await;
    let report = run_load(&service.url, &config).await;
    assert!(report.successes > 0, "{report:#?}");
    assert_eq!(report.failures.total(), 0, "{report:#?}");
    assert_eq!(report.requests, report.successes);
    for op in ["create", "read", "list", "update"] {
        assert!(report.latency_by_op.contains_key(op), "{op}: {report:#?}");
    }
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["workload"], "mixed");
    assert!(json["latency"]["p99_ms"].as_f64().unwrap() > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_loop_run_sends_what_the_rate_schedules_and_no_more() {
    let service = Service::start(&[]).await;
    let config = config(&service, Workload::Read, Some(100.0)).await;
    let report = run_load(&service.url, &config).await;
    assert!(report.open_loop);
    // 0.7 s at 100 requests per second: requests 0..=69 are due in time.
    assert_eq!(report.requests, 70, "{report:#?}");
    assert_eq!(report.successes, 70);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_falls_back_to_single_creates_when_bulk_is_off() {
    let service = Service::start(&["--bulk-endpoints", "false"]).await;
    let mut connection = Connection::open(&service.url).await.unwrap();
    let ids = ensure_todos(&mut connection, 7).await.unwrap();
    assert_eq!(ids.max - ids.min + 1, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_as_many_users_sends_each_request_with_a_token_to_that_users_own_todos() {
    let secret = "a-test-secret-of-at-least-32-bytes!";
    let service = Service::start(&["--jwt-secret", secret]).await;
    let tokens: Vec<HeaderValue> = ["alice", "bob", "carol"]
        .iter()
        .map(|user| {
            let token = todo_api::http::auth::mint_token(
                secret.as_bytes(),
                user,
                Duration::from_secs(600),
                &Default::default(),
            )
            .unwrap();
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
        })
        .collect();
    let callers = seed_users(&service.url, &tokens, 5).await.unwrap();
    for caller in &callers {
        assert_eq!(caller.ids.max - caller.ids.min + 1, 5, "{callers:?}");
    }
    let config = RunConfig {
        workload: Workload::Mixed,
        connections: 3,
        duration: Duration::from_millis(700),
        rate: None,
        callers: Arc::from(callers),
        list_path: LIST_PATH.to_owned(),
        progress: false,
        server_pid: None,
    };
    let report = run_load(&service.url, &config).await;
    // Another user's id would be 404, a missing token 401.
    assert!(report.successes > 0, "{report:#?}");
    assert_eq!(report.failures.total(), 0, "{report:#?}");
    let mut anonymous = Connection::open(&service.url).await.unwrap();
    assert_eq!(anonymous.get("/api/todo").await.unwrap().status, 401);
}
