//! The HTTP layer: the router over the route table (`routes.rs`) with the
//! layers every request passes through, the handlers of each resource, the
//! state they share (`state.rs`) and the one error type they answer with.

mod admission;
pub mod auth;
mod changes;
mod compression;
mod conditional;
mod docs;
mod error;
mod events;
mod extract;
mod health;
mod me;
mod metrics;
mod observe;
pub mod openapi;
pub mod rate_limit;
mod routes;
pub mod state;
mod todos;
mod web_app;

use std::any::Any;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::header::{
    AUTHORIZATION, CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH, LINK, LOCATION, RETRY_AFTER,
    WWW_AUTHENTICATE,
};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use admission::{Admission, AdmissionLimits};
pub use auth::{AccessTokens, Authenticator, Principal};
pub use error::ApiError;
pub use routes::openapi_document;

use auth::{AuthError, AuthKind};
use rate_limit::Verdict;
use routes::{operation_routes, todo_routes};
use state::AppState;

/// How long a browser may cache the answer to a CORS preflight.
const CORS_MAX_AGE: Duration = Duration::from_secs(600);

/// The whole HTTP API over `state`.
pub fn router(state: AppState) -> Router {
    let (todos, _) = todo_routes(&state.settings).split_for_parts();
    // Operations endpoints stay outside the guard, so health, readiness and
    // metrics answer even when the API is saturated.
    let todos = todos.route_layer(from_fn_with_state(state.clone(), guard_api));
    let (operations, _) = operation_routes().split_for_parts();
    let mut router = operations
        .merge(todos)
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(error::route_not_found)
        // One stack, added at once: the router boxes what each of its
        // `layer` calls makes, and every box costs each request a clone
        // of the service and a move of the request. Outermost first.
        .layer(
            ServiceBuilder::new()
                .layer(compression::CompressWhenAccepted)
                .map_response(IntoResponse::into_response)
                .layer(observe::ObserveLayer::new(state.metrics.clone()))
                .layer(CatchPanicLayer::custom(panic_response))
                .layer(DefaultBodyLimit::max(state.settings.max_body_bytes)),
        );
    if let Some(cors) = cors_layer(&state.settings.cors_origins) {
        router = router.layer(cors);
    }
    router.with_state(state)
}

/// What every `/api` request passes before its handler: its credentials
/// are checked (recording the caller for the handlers and the access log),
/// its user's rate limit counted, and then it waits for a slot under
/// admission control. A request refused on the way is not processed. One
/// middleware rather than three, as each costs a request a clone of the
/// routes behind it.
async fn guard_api(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let principal = match state
        .auth
        .authenticate(request.headers(), &*state.store)
        .await
    {
        Ok(principal) => principal,
        Err(AuthError::Store(error)) => return ApiError::from(error).into_response(),
        Err(error) => {
            // Why, for whoever runs the service; never the token itself.
            tracing::debug!(reason = %error, "request refused: not authenticated");
            let token_sent = !matches!(error, AuthError::Missing);
            return ApiError::Unauthorized { token_sent }.into_response();
        }
    };
    let span = tracing::Span::current();
    match (&principal.subject, principal.kind) {
        (Some(subject), _) => span.record("user", &**subject),
        (None, AuthKind::Token) => span.record("user", "token"),
        (None, _) => &span,
    };
    let verdict = state.rate_limits.as_ref().map(|limits| {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        limits.check(&principal, peer, request.headers())
    });
    if let Some(Verdict::Denied { retry_after }) = verdict {
        let mut response = ApiError::TooManyRequests { retry_after }.into_response();
        if let (Some(limits), Some(verdict)) = (&state.rate_limits, &verdict) {
            limits.add_headers(verdict, response.headers_mut());
        }
        return response;
    }
    request.extensions_mut().insert(principal);
    let mut response = state.admission.admit(request, next).await;
    if let (Some(limits), Some(verdict)) = (&state.rate_limits, &verdict) {
        limits.add_headers(verdict, response.headers_mut());
    }
    response
}

/// The CORS policy for `origins`, `None` when no other origin is allowed.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin =
        if origins.iter().any(|origin| origin == "*") {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(origins.iter().filter_map(|origin| {
                match HeaderValue::from_str(origin) {
                    Ok(value) => Some(value),
                    Err(_) => {
                        tracing::warn!(origin, "ignoring a CORS origin that is no header value");
                        None
                    }
                }
            }))
        };
    let request_id = HeaderName::from_static(observe::REQUEST_ID);
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                AUTHORIZATION,
                CONTENT_TYPE,
                IF_MATCH,
                IF_NONE_MATCH,
                HeaderName::from_static("idempotency-key"),
                request_id.clone(),
            ])
            .expose_headers([
                ETAG,
                LOCATION,
                LINK,
                RETRY_AFTER,
                WWW_AUTHENTICATE,
                HeaderName::from_static("idempotent-replayed"),
                HeaderName::from_static("ratelimit"),
                HeaderName::from_static("ratelimit-policy"),
                request_id,
            ])
            .max_age(CORS_MAX_AGE),
    )
}

/// A panic in a handler is a bug: log it, answer an opaque 500.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!(
        panic = todo_core::panic_message(&*panic),
        "handler panicked"
    );
    ApiError::Internal.into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn boom() -> &'static str {
        panic!("secret detail")
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_an_opaque_json_500() {
        let app = Router::new()
            .route("/boom", get(boom))
            .layer(CatchPanicLayer::custom(panic_response));
        let response = app
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], br#"{"detail":"Internal Server Error"}"#);
    }
}
