//! Backpressure and limits: shedding when every slot is taken, the request
//! timeout, long request targets, and readiness while draining.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::support::{Backend, TestApp, on_both_backends};

on_both_backends!(
    a_request_over_the_in_flight_cap_is_shed_at_once_with_retry_after,
    a_request_past_its_timeout_is_503_and_changes_nothing,
    a_request_target_over_the_limit_is_414,
    a_draining_service_is_not_ready_but_still_serves,
);

/// A create whose body never finishes arriving, holding its slot.
fn never_ending_create() -> Request<Body> {
    let body = Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>());
    Request::post("/api/todo")
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

async fn a_request_over_the_in_flight_cap_is_shed_at_once_with_retry_after(backend: Backend) {
    let args = [
        "--max-in-flight",
        "1",
        "--max-queued-requests",
        "0",
        "--request-timeout-ms",
        "1500",
    ];
    let app = Arc::new(TestApp::with_args(backend, &args).await);
    let holder = {
        let app = app.clone();
        tokio::spawn(async move { app.send(never_ending_create()).await })
    };
    for _ in 0..100_000 {
        if app.requests_in_flight() == 1 || holder.is_finished() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(app.requests_in_flight(), 1, "the holder takes the one slot");
    let shed = app.get("/api/todo").await;
    assert_eq!(shed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(shed.header("retry-after"), Some("1"));
    assert!(shed.json()["detail"].is_string());
    // Health stays outside admission control.
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
    let held = holder.await.unwrap();
    assert_eq!(held.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.get("/api/todo").await.status, StatusCode::OK);
}

async fn a_request_past_its_timeout_is_503_and_changes_nothing(backend: Backend) {
    let app = TestApp::with_args(backend, &["--request-timeout-ms", "300"]).await;
    let response = app.send(never_ending_create()).await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.header("retry-after"), Some("1"));
    assert!(response.json()["detail"].is_string());
    assert!(app.all_todos().await.is_empty());
    assert_eq!(
        app.post("/api/todo", json!({"title": "t"})).await.status,
        StatusCode::CREATED
    );
}

async fn a_request_target_over_the_limit_is_414(backend: Backend) {
    let app = TestApp::with_args(backend, &["--max-uri-bytes", "100"]).await;
    let response = app.get(&format!("/api/todo?q={}", "x".repeat(100))).await;
    assert_eq!(response.status, StatusCode::URI_TOO_LONG);
    assert!(response.json()["detail"].is_string());
    assert_eq!(
        app.get(&format!("/api/todo?q={}", "x".repeat(50)))
            .await
            .status,
        StatusCode::OK
    );
}

async fn a_draining_service_is_not_ready_but_still_serves(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.start_draining();
    let ready = app.get("/ready").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.json()["detail"].is_string());
    assert_eq!(
        app.post("/api/todo", json!({"title": "t"})).await.status,
        StatusCode::CREATED
    );
}
