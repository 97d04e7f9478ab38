//! `GET /api/me`: who the caller is (API.md, "Users").

use axum::Extension;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Principal;
use super::openapi::CommonErrorResponses;

/// The caller, as the service sees it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Me, example = json!({"user": "auth0|5f1c2b", "auth": "jwt"}))]
pub struct MeSchema {
    /// The JWT's subject; `null` for the anonymous user (open mode, access
    /// tokens).
    pub user: Option<String>,
    /// How the request was let in: `jwt`, `token` or `open`.
    pub auth: &'static str,
}

/// `GET /api/me`
#[utoipa::path(
    get,
    path = "/api/me",
    summary = "Who the caller is",
    tag = "users",
    responses(
        (status = 200, description = "The caller", body = MeSchema),
        CommonErrorResponses,
    ),
)]
pub async fn me(Extension(principal): Extension<Principal>) -> Json<MeSchema> {
    Json(MeSchema {
        user: principal.subject.as_deref().map(str::to_owned),
        auth: principal.kind.as_str(),
    })
}
