//! Liveness and readiness.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{Backend, TestApp, on_both_backends};

on_both_backends!(health_and_readiness_answer_200_when_the_database_answers);

async fn health_and_readiness_answer_200_when_the_database_answers(backend: Backend) {
    let app = TestApp::new(backend).await;
    let health = app.get("/health").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json(), json!({"status": "ok"}));
    let ready = app.get("/ready").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["status"], json!("ready"));
}
