//! Every error the API answers, and the one place each becomes an HTTP
//! response with the contract's JSON `detail` body (API.md, "Errors").

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use todo_core::{FieldError, IDEMPOTENCY_KEY_HEADER, Loc, StoreError, ValidationErrors};

/// Seconds a client is told to wait before retrying after a 503.
const RETRY_AFTER_SECONDS: &str = "1";

/// Marks a response as a request shed by backpressure (every 503: the
/// database down, no free connection or request slot, the request timeout),
/// for the metrics middleware to count: every such 503 passes through
/// [`ApiError::into_response`], so marking it there counts each one exactly
/// once, whatever handler or layer gave it.
#[derive(Debug, Clone, Copy)]
pub struct Shed;

/// An error answer of the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("todo not found")]
    TodoNotFound,
    #[error("todo {0} not found")]
    BulkTodoNotFound(i64),
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("invalid request")]
    Validation(#[from] ValidationErrors),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("request body could not be read")]
    BadRequest,
    #[error("precondition failed")]
    PreconditionFailed,
    /// No credentials where they are needed, or invalid ones
    /// (`token_sent`).
    #[error("missing or invalid credentials")]
    Unauthorized { token_sent: bool },
    #[error("rate limit exceeded")]
    TooManyRequests { retry_after: u64 },
    #[error("a request with this idempotency key is in flight")]
    IdempotencyKeyInFlight,
    #[error("request target too long")]
    UriTooLong,
    #[error("the change cursor is older than the log's retention")]
    ChangesExpired,
    #[error("too many event streams open")]
    TooManyStreams,
    #[error("service unavailable")]
    Unavailable,
    #[error("overloaded: no request slot freed up")]
    Overloaded,
    #[error("request timed out")]
    TimedOut,
    #[error("internal error")]
    Internal,
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) => ApiError::TodoNotFound,
            StoreError::PreconditionFailed => ApiError::PreconditionFailed,
            StoreError::IdempotencyKeyInFlight => ApiError::IdempotencyKeyInFlight,
            StoreError::IdempotencyKeyReused => ApiError::Validation(
                FieldError::new(
                    Loc::header(IDEMPOTENCY_KEY_HEADER),
                    "value_error",
                    "Value error, this Idempotency-Key was used with a different request",
                )
                .into(),
            ),
            StoreError::ChangesExpired => ApiError::ChangesExpired,
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "database unavailable; answering 503");
                ApiError::Unavailable
            }
            StoreError::Internal(source) => {
                tracing::error!(error = %source, "storage failure; answering 500");
                ApiError::Internal
            }
        }
    }
}

impl ApiError {
    /// The status and the `detail` of this error's answer, side by side.
    fn status_and_detail(&self) -> (StatusCode, Value) {
        match self {
            ApiError::TodoNotFound => (StatusCode::NOT_FOUND, json!("Todo not found")),
            ApiError::BulkTodoNotFound(id) => {
                (StatusCode::NOT_FOUND, json!(format!("Todo {id} not found")))
            }
            ApiError::RouteNotFound => (StatusCode::NOT_FOUND, json!("Not Found")),
            ApiError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, json!("Method Not Allowed"))
            }
            ApiError::Validation(errors) => {
                (StatusCode::UNPROCESSABLE_ENTITY, json!(errors.errors()))
            }
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!("Unsupported Media Type: send application/json"),
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!("Request body too large"),
            ),
            ApiError::BadRequest => (
                StatusCode::BAD_REQUEST,
                json!("Request body could not be read"),
            ),
            ApiError::PreconditionFailed => (
                StatusCode::PRECONDITION_FAILED,
                json!("Precondition Failed"),
            ),
            ApiError::Unauthorized { token_sent: false } => {
                (StatusCode::UNAUTHORIZED, json!("Not authenticated"))
            }
            ApiError::Unauthorized { token_sent: true } => {
                (StatusCode::UNAUTHORIZED, json!("Invalid or expired token"))
            }
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, json!("Too Many Requests"))
            }
            ApiError::IdempotencyKeyInFlight => (
                StatusCode::CONFLICT,
                json!("A request with this Idempotency-Key is still being processed; retry later"),
            ),
            ApiError::UriTooLong => (StatusCode::URI_TOO_LONG, json!("URI Too Long")),
            ApiError::ChangesExpired => (
                StatusCode::GONE,
                json!(
                    "This cursor is older than the change log keeps deletes \
                     (CHANGES_RETENTION_DAYS): start again without since"
                ),
            ),
            ApiError::TooManyStreams => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!("Too many event streams open; retry later"),
            ),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!("Service temporarily unavailable; retry later"),
            ),
            ApiError::Overloaded => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!("Service overloaded; retry later"),
            ),
            ApiError::TimedOut => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!("The request took too long; retry later"),
            ),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!("Internal Server Error"),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, detail) = self.status_and_detail();
        let mut response = (status, Json(json!({ "detail": detail }))).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
            response.extensions_mut().insert(Shed);
        }
        match self {
            ApiError::Unauthorized { token_sent } => {
                let challenge = if token_sent {
                    HeaderValue::from_static("Bearer error=\"invalid_token\"")
                } else {
                    HeaderValue::from_static("Bearer")
                };
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge);
            }
            ApiError::TooManyRequests { retry_after } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            _ => {}
        }
        response
    }
}

/// The answer for a path no route serves.
pub async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

/// The answer for a route that exists but not for this method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
