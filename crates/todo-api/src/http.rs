//! The route table and the layers every request passes through.

mod access;
mod admission;
mod conditional;
mod error;
mod extract;
mod health;
mod todos;

use std::any::Any;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use access::{AccessTokens, Principal};
pub use admission::{Admission, AdmissionLimits};
pub use error::ApiError;

use crate::state::AppState;

/// The whole HTTP API over `state`.
pub fn router(state: AppState) -> Router {
    let bulk = if state.settings.bulk_endpoints {
        post(todos::create_todos).patch(todos::update_todos)
    } else {
        // Switched off: as if the route did not exist, rather than falling
        // through to `/api/todo/{id}` and answering 405.
        any(error::route_not_found)
    };
    let api = Router::new()
        .route(
            "/api/todo",
            get(todos::list_todos)
                .post(todos::create_todo)
                .delete(todos::delete_todos),
        )
        .route("/api/todo/bulk", bulk)
        .route(
            "/api/todo/{id}",
            get(todos::get_todo)
                .patch(todos::update_todo)
                .put(todos::replace_todo)
                .delete(todos::delete_todo),
        )
        // Layers added later run first: the token is checked before the
        // request takes a slot.
        .route_layer(from_fn_with_state(
            state.admission.clone(),
            admission::admit,
        ))
        .route_layer(from_fn_with_state(
            state.tokens.clone(),
            access::require_token,
        ));
    Router::new()
        .merge(api)
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(error::route_not_found)
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A panic in a handler is a bug: log it, answer an opaque 500.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "handler panicked");
    ApiError::Internal.into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
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
