//! Request extractors whose every rejection is an [`ApiError`], so that
//! malformed input gets the contract's error bodies, never axum's text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use todo_core::{FieldError, Loc, ValidationErrors};

use super::error::ApiError;

/// A request body read as JSON (API.md: `application/json`,
/// `application/*+json`, or no `Content-Type` at all).
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|error| {
                ApiError::Validation(
                    FieldError::new(
                        Loc::body(),
                        "json_invalid",
                        format!("JSON decode error: {error}"),
                    )
                    .into(),
                )
            })
    }
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", subtype)) => subtype == "json" || subtype.ends_with("+json"),
        _ => false,
    }
}

/// The query string as name-value pairs, in order, percent-decoded.
#[derive(Debug)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        Ok(QueryPairs(
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        ))
    }
}

/// The `{id}` path segment read as a todo id, as FastAPI's `id: int`. The
/// extraction itself never fails, so a handler can report a bad id together
/// with the faults of the body.
#[derive(Debug)]
pub struct TodoId(pub Result<i64, ValidationErrors>);

impl<S: Send + Sync> FromRequestParts<S> for TodoId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segment = Path::<String>::from_request_parts(parts, state).await;
        let id = segment
            .ok()
            .and_then(|Path(segment)| segment.parse::<i64>().ok())
            .ok_or_else(|| {
                FieldError::new(
                    Loc::path("id"),
                    "int_parsing",
                    "Input should be a valid integer, unable to parse string as an integer",
                )
                .into()
            });
        Ok(TodoId(id))
    }
}

/// Joins the faults of a request's parts, so one answer lists them all.
pub fn all_valid<A, B>(
    first: Result<A, ValidationErrors>,
    second: Result<B, ValidationErrors>,
) -> Result<(A, B), ApiError> {
    match (first, second) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (first, second) => {
            let mut errors = ValidationErrors::default();
            if let Err(faults) = first {
                errors.extend(faults);
            }
            if let Err(faults) = second {
                errors.extend(faults);
            }
            Err(ApiError::Validation(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_type(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn json_content_types_are_recognised_in_any_case_with_parameters() {
        assert!(is_json_content_type(&HeaderMap::new()));
        assert!(is_json_content_type(&with_type("application/json")));
        assert!(is_json_content_type(&with_type(
            "Application/JSON; charset=utf-8"
        )));
        assert!(is_json_content_type(&with_type(
            "application/merge-patch+json"
        )));
        assert!(!is_json_content_type(&with_type("text/plain")));
        assert!(!is_json_content_type(&with_type(
            "application/x-www-form-urlencoded"
        )));
        assert!(!is_json_content_type(&with_type(
            "multipart/form-data; boundary=x"
        )));
    }
}
