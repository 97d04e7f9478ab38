//! Liveness and readiness (API.md, `/health` and `/ready`).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

/// How long the database may take to answer a readiness probe.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// `GET /health`: the process serves; touches no database.
pub async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /ready`: 200 only when the database answers within a second.
pub async fn ready(State(state): State<AppState>) -> Response {
    if state.lifecycle.is_draining() {
        return unavailable("shutting down");
    }
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Json(json!({ "status": "ready" })).into_response(),
        Ok(Err(error)) => {
            tracing::warn!(reason = %error, "not ready");
            unavailable("database unavailable")
        }
        Err(_) => {
            tracing::warn!("not ready: the database did not answer within a second");
            unavailable("database unavailable")
        }
    }
}

fn unavailable(detail: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(RETRY_AFTER, HeaderValue::from_static("1"))],
        Json(json!({ "status": "unavailable", "detail": detail })),
    )
        .into_response()
}
