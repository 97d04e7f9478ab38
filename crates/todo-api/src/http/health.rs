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
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Json(json!({ "status": "ready" })).into_response(),
        outcome => {
            let reason = match outcome {
                Ok(Err(error)) => error.to_string(),
                _ => "no answer within a second".to_owned(),
            };
            tracing::warn!(%reason, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(RETRY_AFTER, HeaderValue::from_static("1"))],
                Json(json!({ "status": "unavailable", "detail": "Database unavailable" })),
            )
                .into_response()
        }
    }
}
