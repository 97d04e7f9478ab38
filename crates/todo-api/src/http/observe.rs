//! What the service records of every request, in one layer: its id (taken
//! from `X-Request-ID` or made up, and echoed in the response), the span
//! its log lines are written in, the one access-log line when the answer
//! is ready (method, route template, request id, status, latency; README,
//! "Operating"), and its metrics.
//!
//! One hand-written layer rather than four (request id, its propagation,
//! tracing and a metrics middleware): each layer costs every request a
//! future to poll and move, and a middleware function a clone of the
//! routes behind it, which together were a measurable part of the
//! service's CPU.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{HeaderName, HeaderValue, Method, Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::Span;

use super::error::Shed;
use crate::metrics::{InFlight, Metrics, UNMATCHED_ROUTE};

/// The header that carries a request's id, taken from the request when
/// the client sent one, else made up, and echoed in the response.
pub const REQUEST_ID: &str = "x-request-id";

const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static(REQUEST_ID);

/// The target of the request span and the access-log line: the module that
/// first wrote them, kept so that `RUST_LOG` filters naming it still work.
const ACCESS_LOG_TARGET: &str = "todo_api::http::logging";

/// Observes every request of the service it wraps into `metrics` and the log.
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    metrics: Metrics,
}

impl ObserveLayer {
    pub fn new(metrics: Metrics) -> Self {
        ObserveLayer { metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`ObserveLayer`] makes.
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    metrics: Metrics,
}

impl<S, B, ResBody> Service<Request<B>> for Observe<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Observed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let request_id = match request.headers().get(REQUEST_ID) {
            Some(id) => id.clone(),
            None => {
                let id = new_request_id();
                request.headers_mut().insert(REQUEST_ID_HEADER, id.clone());
                id
            }
        };
        let route = request.extensions().get::<MatchedPath>().cloned();
        let span = request_span(&request, route.as_ref(), &request_id);
        // Counted and timed from before the inner service is called, whose
        // call may already do part of the work.
        let record = Record {
            in_flight: self.metrics.in_flight(),
            metrics: self.metrics.clone(),
            method: request.method().clone(),
            route,
            request_id,
            started: Instant::now(),
        };
        let answer = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Observed {
            answer,
            record: Some(record),
            span,
        }
    }
}

pin_project! {
    /// A request's answer being made, and what to record when it is.
    pub struct Observed<F> {
        #[pin]
        answer: F,
        record: Option<Record>,
        span: Span,
    }
}

/// What is recorded of a request once its answer is ready. Dropped
/// unrecorded (but no longer in flight) if the client goes first.
struct Record {
    in_flight: InFlight,
    metrics: Metrics,
    method: Method,
    route: Option<MatchedPath>,
    request_id: HeaderValue,
    started: Instant,
}

impl<F, ResBody, E> Future for Observed<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let mut response = match this.answer.poll(cx) {
            Poll::Ready(Ok(response)) => response,
            other => return other,
        };
        if let Some(record) = this.record.take() {
            record.answered(&mut response);
        }
        Poll::Ready(Ok(response))
    }
}

impl Record {
    fn answered<B>(self, response: &mut Response<B>) {
        let latency = self.started.elapsed();
        let status = response.status();
        let shed = response.extensions().get::<Shed>().is_some();
        let route = self
            .route
            .as_ref()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
        self.metrics
            .request_finished(&self.method, route, status, latency, shed);
        drop(self.in_flight);
        // The status is in this line; errors worth a line of their own
        // are logged where they arise.
        tracing::info!(
            target: ACCESS_LOG_TARGET,
            status = status.as_u16(),
            // Whole microseconds: `0.84`, not `0.8400269999999999`.
            latency_ms = latency.as_micros() as f64 / 1000.0,
            "answered"
        );
        response
            .headers_mut()
            .entry(REQUEST_ID_HEADER)
            .or_insert(self.request_id);
    }
}

/// The id of a request that came without one: a random (version 4) UUID,
/// drawn from a generator seeded once per thread (uuid's `fast-rng`)
/// rather than with a system call per request.
fn new_request_id() -> HeaderValue {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(id).expect("a UUID is a valid header value")
}

/// The span every log line of a request is written in.
fn request_span<B>(
    request: &Request<B>,
    route: Option<&MatchedPath>,
    request_id: &HeaderValue,
) -> Span {
    tracing::info_span!(
        target: ACCESS_LOG_TARGET,
        "request",
        method = %request.method(),
        route = route.map_or(UNMATCHED_ROUTE, MatchedPath::as_str),
        path = request.uri().path(),
        request_id = request_id.to_str().unwrap_or_default(),
        // The caller's subject, recorded once its credentials are checked;
        // never its token.
        user = tracing::field::Empty,
    )
}
