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

use super::state::AppState;

/// How long the database may take to answer a readiness probe.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// `GET /health`: the process serves; touches no database.
#[utoipa::path(
    get,
    path = "/health",
    summary = "Liveness",
    tag = "operations",
    responses((status = 200, description = "The process serves", body = super::openapi::StatusSchema, example = json!({"status": "ok"}))),
)]
pub async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /ready`: 200 only when the database answers within a second.
#[utoipa::path(
    get,
    path = "/ready",
    summary = "Readiness",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = super::openapi::StatusSchema, example = json!({"status": "ready"})),
        (
            status = 503,
            description = "The database did not answer within a second, or the service is shutting down",
            body = super::openapi::StatusSchema,
            headers(("Retry-After" = u32, description = "Seconds to wait before asking again")),
            example = json!({"status": "unavailable", "detail": "database unavailable"}),
        ),
    ),
)]
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

/// `GET /health/pool`: the live connection pool's figures, read without
/// waiting for a connection.
#[utoipa::path(
    get,
    path = "/health/pool",
    summary = "Connection pool figures",
    tag = "operations",
    responses((status = 200, description = "Connection pool figures (SQLite: the reader threads)", body = super::openapi::PoolFiguresSchema)),
)]
pub async fn pool(State(state): State<AppState>) -> Json<PoolStatus> {
    Json(state.store.pool_status())
}
