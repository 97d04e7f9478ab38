//! The request span and the one log line per request: method, route
//! template, request id, status and latency (README, "Operating").

use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Request, Response};
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Span;

use crate::metrics::UNMATCHED_ROUTE;

/// The header that carries a request's id, taken from the request when
/// the client sent one, else made up, and echoed in the response.
pub const REQUEST_ID: &str = "x-request-id";

/// Makes the id of a request that came without one: a random (version 4)
/// UUID, drawn from a generator seeded once per thread (uuid's `fast-rng`)
/// rather than with a system call per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// The span every log line of a request is written in.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        path = request.uri().path(),
        request_id,
    )
}

/// The line written when a response is ready.
pub fn log_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "answered"
    );
}
