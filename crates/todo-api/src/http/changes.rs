//! `GET /api/todo/changes`: a page of the caller's change log (API.md,
//! "Changes"), for delta sync.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use todo_core::ChangesQuery;

use super::auth::Principal;
use super::error::ApiError;
use super::extract::QueryPairs;
use super::openapi::CommonErrorResponses;
use super::openapi::changes::{ChangesPageSchema, ChangesParams, GoneResponse};
use super::state::AppState;
use super::todos::json_body;

/// `GET /api/todo/changes`
#[utoipa::path(
    get,
    path = "/api/todo/changes",
    tag = "changes",
    summary = "Changes since a cursor (delta sync)",
    description = "Without `since`, every todo the caller has, as upserts. Follow `cursor` while \
        `has_more` is true, then poll with the last cursor: no write is missed or repeated. \
        A todo changed several times since the cursor may appear once, in its latest state.",
    params(ChangesParams),
    responses(
        (status = 200, description = "A page of changes, in the order they committed", body = ChangesPageSchema),
        GoneResponse, CommonErrorResponses,
    ),
)]
pub async fn list_changes(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    QueryPairs(params): QueryPairs,
) -> Result<Response, ApiError> {
    let owner = principal.owner;
    let query = ChangesQuery::from_params(&params, owner)?;
    let page = state.store.changes(owner, query.since, query.limit).await?;
    Ok(json_body(page.json(owner)).into_response())
}
