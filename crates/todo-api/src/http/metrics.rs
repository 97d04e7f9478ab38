//! `GET /metrics`; the request metrics are fed by `observe.rs`.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use super::state::AppState;

/// The content type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`
#[utoipa::path(
    get,
    path = "/metrics",
    summary = "Prometheus metrics",
    tag = "operations",
    responses((
        status = 200,
        description = "The service's metrics in the Prometheus text format",
        content_type = "text/plain; version=0.0.4",
        body = String,
        example = "http_requests_total{method=\"GET\",route=\"/api/todo/{id}\",status=\"200\"} 42",
    )),
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let text = state.metrics.render(state.store.pool_status());
    (
        [(CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT))],
        text,
    )
        .into_response()
}
