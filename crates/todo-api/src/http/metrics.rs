//! `GET /metrics`, and the middleware that feeds the request metrics of
//! [`crate::metrics`] from every request.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::Shed;
use crate::metrics::UNMATCHED_ROUTE;
use crate::state::AppState;

/// The content type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`
#[utoipa::path(
    get,
    path = "/metrics",
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

/// Counts and times every request by method, route template and status.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned();
    let in_flight = state.metrics.in_flight();
    let started = Instant::now();
    let response = next.run(request).await;
    let shed = response.extensions().get::<Shed>().is_some();
    state
        .metrics
        .request_finished(&method, &route, response.status(), started.elapsed(), shed);
    drop(in_flight);
    response
}
