//! Liveness, readiness and the connection pool's figures (API.md,
//! `/health`, `/ready`, `/health/pool`).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use todo_core::PoolStatus;

use crate::state::AppState;

/// How long the database may take to answer a readiness probe.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// `GET /health`: the process serves; touches no database.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses((status = 200, description = "The process serves", body = super::openapi::Status, example = json!({"status": "ok"}))),
)]
pub async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /ready`: 200 only when the database answers within a second.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = super::openapi::Status, example = json!({"status": "ready"})),
        (
            status = 503,
            description = "The database did not answer within a second",
            body = super::openapi::Status,
            headers(("Retry-After" = u32, description = "Seconds to wait before asking again")),
            example = json!({"status": "unavailable", "detail": "Database unavailable"}),
        ),
    ),
)]
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

/// `GET /health/pool`: the live connection pool's figures, read without
/// waiting for a connection.
#[utoipa::path(
    get,
    path = "/health/pool",
    tag = "operations",
    responses((status = 200, description = "Connection pool figures (SQLite: the reader threads)", body = super::openapi::PoolFigures)),
)]
pub async fn pool(State(state): State<AppState>) -> Json<PoolStatus> {
    Json(state.store.pool_status())
}
