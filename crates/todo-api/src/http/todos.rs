//! The `/api/todo` resource: its handlers, each one validation step, one
//! store call and one response (API.md, "Endpoints").

use axum::extract::{OriginalUri, State};
use axum::http::header::{CONTENT_TYPE, ETAG, LINK, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;
use todo_core::{
    Created, Creation, FIRST_VERSION, IDEMPOTENCY_KEY_HEADER, IdempotencyKey, KeyedOutcome,
    ListQuery, Loc, NewTodo, StoreError, Todo, TodoPatch, ValidationErrors,
    delete_filter_from_params, identified_patches_from_json, new_todos_from_json, todo_json,
    todos_json,
};

use super::auth::Principal;
use super::conditional::{expected_version, none_match_hits};
use super::error::ApiError;
use super::extract::{JsonBody, QueryPairs, TodoId, all_valid};
use super::openapi::{
    BodyErrorResponses, BulkPatchSchema, CommonErrorResponses, DeletedSchema, ErrorBodySchema,
    FilterParams, IdempotencyConflictResponse, IdempotencyKeyHeader, IfMatchHeader, NewTodoSchema,
    NotFoundResponse, PageParams, PreconditionFailedResponse, TodoPatchSchema, TodoSchema,
};
use super::state::AppState;

/// `POST /api/todo`
#[utoipa::path(
    post,
    path = "/api/todo",
    summary = "Create a todo",
    tag = "todos",
    params(IdempotencyKeyHeader),
    request_body(content = NewTodoSchema, description = "The new todo; omitted fields take their defaults"),
    responses(
        (
            status = 201,
            description = "Created",
            body = TodoSchema,
            headers(
                ("Location" = String, description = "`/api/todo/{id}` of the new todo"),
                ("ETag" = String, description = "The todo's current tag"),
                ("Idempotent-Replayed" = bool, description = "`true` on a replayed answer"),
            ),
        ),
        IdempotencyConflictResponse, BodyErrorResponses, CommonErrorResponses,
    ),
)]
pub async fn create_todo(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (new, key) = all_valid(
        NewTodo::from_json(&body, &Loc::body()),
        idempotency_key(&headers),
    )?;
    match key {
        None => Ok(created_response(Created::One(
            state.store.create(principal.owner, new).await?,
        ))),
        Some(key) => {
            let key = IdempotencyKey::new(principal.key_scope, key, TODOS_PATH, &body);
            keyed_response(
                state
                    .store
                    .create_keyed(principal.owner, &key, Creation::One(new))
                    .await?,
            )
        }
    }
}

/// `POST /api/todo/bulk`
#[utoipa::path(
    post,
    path = "/api/todo/bulk",
    summary = "Create todos in bulk",
    tag = "todos",
    params(IdempotencyKeyHeader),
    request_body(
        content = Vec<NewTodoSchema>,
        description = "1 to `MAX_BULK_ITEMS` todos, created all or none",
        example = json!([{"title": "Buy milk"}, {"title": "Walk the dog", "priority": 5}]),
    ),
    responses(
        (
            status = 201,
            description = "Created, in input order with increasing ids",
            body = Vec<TodoSchema>,
            headers(("Idempotent-Replayed" = bool, description = "`true` on a replayed answer")),
        ),
        (status = 404, description = "The bulk endpoints are switched off", body = ErrorBodySchema, example = json!({"detail": "Not Found"})),
        IdempotencyConflictResponse, BodyErrorResponses, CommonErrorResponses,
    ),
)]
pub async fn create_todos(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (todos, key) = all_valid(
        new_todos_from_json(&body, state.settings.max_bulk_items),
        idempotency_key(&headers),
    )?;
    let outcome = match key {
        None => KeyedOutcome::Created(Created::Many(
            state.store.create_many(principal.owner, todos).await?,
        )),
        Some(key) => {
            let key = IdempotencyKey::new(principal.key_scope, key, BULK_PATH, &body);
            state
                .store
                .create_keyed(principal.owner, &key, Creation::Many(todos))
                .await?
        }
    };
    if let KeyedOutcome::Created(Created::Many(created)) = &outcome {
        state.metrics.bulk_rows_created(created.len());
    }
    keyed_response(outcome)
}

const TODOS_PATH: &str = "/api/todo";
const BULK_PATH: &str = "/api/todo/bulk";

/// The request's `Idempotency-Key`, if it has one.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ValidationErrors> {
    headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .map(|value| IdempotencyKey::parse_header(value.as_bytes()))
        .transpose()
        .map_err(ValidationErrors::from)
}

/// The 201 of a create: a single todo with its `Location` and `ETag`, or
/// the bulk array. The body is the text a replay would give.
fn created_response(created: Created) -> Response {
    let body = created.body();
    let mut response = (StatusCode::CREATED, json_body(body)).into_response();
    if let Created::One(todo) = &created {
        add_todo_headers(response.headers_mut(), todo.id, &todo.etag());
    }
    response
}

fn keyed_response(outcome: KeyedOutcome) -> Result<Response, ApiError> {
    match outcome {
        KeyedOutcome::Created(created) => Ok(created_response(created)),
        KeyedOutcome::Replayed(stored) => {
            let status = StatusCode::from_u16(stored.status).map_err(|_| ApiError::Internal)?;
            // A single create's answer names its todo, created at its
            // first version.
            let single_id = serde_json::from_str::<serde_json::Value>(&stored.body)
                .ok()
                .and_then(|body| body.get("id").and_then(serde_json::Value::as_i64));
            let mut response = (status, json_body(stored.body)).into_response();
            let headers = response.headers_mut();
            headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
            if let Some(id) = single_id {
                add_todo_headers(headers, id, &Todo::etag_of(id, FIRST_VERSION));
            }
            Ok(response)
        }
    }
}

/// Marks a response as the stored answer of an earlier request.
const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

fn add_todo_headers(headers: &mut HeaderMap, id: i64, etag: &str) {
    if let Ok(location) = HeaderValue::from_str(&format!("{TODOS_PATH}/{id}")) {
        headers.insert(LOCATION, location);
    }
    if let Ok(etag) = HeaderValue::from_str(etag) {
        headers.insert(ETAG, etag);
    }
}

/// JSON text already serialised, as a response body.
pub(super) fn json_body(body: impl IntoResponse) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
}

/// `GET /api/todo`
#[utoipa::path(
    get,
    path = "/api/todo",
    summary = "List todos",
    tag = "todos",
    params(FilterParams, PageParams),
    responses(
        (
            status = 200,
            description = "One page of the todos that match",
            body = Vec<TodoSchema>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when more results may follow (RFC 8288)")),
        ),
        CommonErrorResponses,
    ),
)]
pub async fn list_todos(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    OriginalUri(uri): OriginalUri,
    QueryPairs(params): QueryPairs,
) -> Result<Response, ApiError> {
    let owner = principal.owner;
    let query = ListQuery::from_params(&params, owner)?;
    let page = state.store.list(owner, &query).await?;
    let mut response = json_body(todos_json(&page.todos)).into_response();
    if let Some(next) = &page.next {
        let target = format!(
            "{}?{}",
            uri.path(),
            encode_params(&query.next_page_params(owner, next))
        );
        let link = HeaderValue::from_str(&format!("<{target}>; rel=\"next\""))
            .map_err(|_| ApiError::Internal)?;
        response.headers_mut().insert(LINK, link);
    }
    Ok(response)
}

fn encode_params(params: &[(&str, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// `GET /api/todo/{id}`
#[utoipa::path(
    get,
    path = "/api/todo/{id}",
    summary = "Get a todo",
    tag = "todos",
    params(
        ("id" = i64, Path, description = "The todo's id", example = 42),
        ("If-None-Match" = Option<String>, Header, description = "Answer 304 if this is the current tag", example = "\"42-1\""),
    ),
    responses(
        (status = 200, description = "The todo", body = TodoSchema, headers(("ETag" = String, description = "The todo's current tag"))),
        (status = 304, description = "`If-None-Match` named the current tag", headers(("ETag" = String, description = "The todo's current tag"))),
        NotFoundResponse, CommonErrorResponses,
    ),
)]
pub async fn get_todo(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    TodoId(id): TodoId,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = id?;
    let todo = state.store.get(principal.owner, id).await?;
    if none_match_hits(&headers, &todo) {
        let etag = etag_header(&todo)?;
        return Ok((StatusCode::NOT_MODIFIED, [(ETAG, etag)]).into_response());
    }
    Ok(with_etag(todo))
}

/// `PATCH /api/todo/{id}`
#[utoipa::path(
    patch,
    path = "/api/todo/{id}",
    summary = "Update a todo",
    tag = "todos",
    params(("id" = i64, Path, description = "The todo's id", example = 42), IfMatchHeader),
    request_body(content = TodoPatchSchema, description = "The fields to change"),
    responses(
        (status = 200, description = "The changed todo", body = TodoSchema, headers(("ETag" = String, description = "The todo's new tag"))),
        NotFoundResponse, PreconditionFailedResponse, BodyErrorResponses, CommonErrorResponses,
    ),
)]
pub async fn update_todo(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    TodoId(id): TodoId,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (id, patch) = all_valid(id, TodoPatch::from_json(&body, &Loc::body()))?;
    let expected = expected_version(&headers, id);
    let todo = state
        .store
        .update(principal.owner, id, patch, expected.as_ref())
        .await?;
    Ok(with_etag(todo))
}

/// `PUT /api/todo/{id}`
#[utoipa::path(
    put,
    path = "/api/todo/{id}",
    summary = "Replace a todo",
    tag = "todos",
    params(("id" = i64, Path, description = "The todo's id", example = 42), IfMatchHeader),
    request_body(content = NewTodoSchema, description = "The whole todo; omitted fields take their defaults"),
    responses(
        (status = 200, description = "The replaced todo", body = TodoSchema, headers(("ETag" = String, description = "The todo's new tag"))),
        NotFoundResponse, PreconditionFailedResponse, BodyErrorResponses, CommonErrorResponses,
    ),
)]
pub async fn replace_todo(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    TodoId(id): TodoId,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (id, replacement) = all_valid(id, NewTodo::from_json(&body, &Loc::body()))?;
    let expected = expected_version(&headers, id);
    let todo = state
        .store
        .update(
            principal.owner,
            id,
            replacement.into_replacement(),
            expected.as_ref(),
        )
        .await?;
    Ok(with_etag(todo))
}

/// `DELETE /api/todo/{id}`
#[utoipa::path(
    delete,
    path = "/api/todo/{id}",
    summary = "Delete a todo",
    tag = "todos",
    params(("id" = i64, Path, description = "The todo's id", example = 42), IfMatchHeader),
    responses(
        (status = 204, description = "Deleted"),
        NotFoundResponse, PreconditionFailedResponse, CommonErrorResponses,
    ),
)]
pub async fn delete_todo(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    TodoId(id): TodoId,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let id = id?;
    let expected = expected_version(&headers, id);
    state
        .store
        .delete(principal.owner, id, expected.as_ref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /api/todo/bulk`
#[utoipa::path(
    patch,
    path = "/api/todo/bulk",
    summary = "Update todos in bulk",
    tag = "todos",
    request_body(
        content = Vec<BulkPatchSchema>,
        description = "1 to `MAX_BULK_ITEMS` changes, applied all or none",
        example = json!([{"id": 42, "completed": true}, {"id": 43, "priority": 1}]),
    ),
    responses(
        (status = 200, description = "The changed todos, in input order", body = Vec<TodoSchema>),
        (status = 404, description = "A todo does not exist (nothing changed), or the bulk endpoints are switched off", body = ErrorBodySchema, example = json!({"detail": "Todo 43 not found"})),
        BodyErrorResponses, CommonErrorResponses,
    ),
)]
pub async fn update_todos(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let patches = identified_patches_from_json(&body, state.settings.max_bulk_items)?;
    let todos = state
        .store
        .update_many(principal.owner, patches)
        .await
        .map_err(|error| match error {
            StoreError::NotFound(id) => ApiError::BulkTodoNotFound(id),
            other => other.into(),
        })?;
    Ok(json_body(todos_json(&todos)).into_response())
}

/// `DELETE /api/todo?FILTERS`
#[utoipa::path(
    delete,
    path = "/api/todo",
    summary = "Delete the todos that match",
    tag = "todos",
    params(FilterParams),
    responses(
        (status = 200, description = "Every todo the same `GET` would match is deleted (at least one filter is required; any other parameter gives 422)", body = DeletedSchema),
        CommonErrorResponses,
    ),
)]
pub async fn delete_todos(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    QueryPairs(params): QueryPairs,
) -> Result<Response, ApiError> {
    let filter = delete_filter_from_params(&params)?;
    let deleted = state
        .store
        .delete_matching(principal.owner, &filter)
        .await?;
    Ok(Json(json!({ "deleted": deleted })).into_response())
}

fn etag_header(todo: &Todo) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(&todo.etag()).map_err(|_| ApiError::Internal)
}

/// A todo as a JSON response with its `ETag`.
fn with_etag(todo: Todo) -> Response {
    let etag = etag_header(&todo);
    let mut response = json_body(todo_json(&todo)).into_response();
    if let Ok(etag) = etag {
        response.headers_mut().insert(ETAG, etag);
    }
    response
}
