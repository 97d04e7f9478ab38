//! The OpenAPI description of the API, served at `GET /openapi.json`. The
//! operations come from the `#[utoipa::path]` attributes of the handlers,
//! gathered as the router is built (see `http.rs`), so a route cannot be
//! served without being described; this module holds what they refer to:
//! the shapes of bodies, query parameters and error answers, as API.md
//! defines them. These types only describe, and their names say so
//! (`…Schema` for bodies, published under the name without the suffix;
//! `…Header`, `…Params` and `…Responses`); the handlers read and write
//! JSON through `todo-core`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::{IntoParams, IntoResponses, OpenApi, ToSchema};

use super::state::AppState;

pub mod changes;

/// The parts of the description that are not operations.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "todo-api",
        description = "The TODO REST API. Bodies are JSON; every error has a `detail` key.",
    ),
    tags(
        (name = "todos", description = "The todo resource"),
        (name = "users", description = "Who the caller is"),
        (name = "changes", description = "The caller's change log: delta sync and live events"),
        (name = "operations", description = "Health, metrics and this documentation"),
    ),
    components(schemas(TodoSchema, NewTodoSchema, TodoPatchSchema, BulkPatchSchema, DeletedSchema, ErrorBodySchema, ValidationErrorSchema, FieldFaultSchema, LocPartSchema, PoolFiguresSchema, StatusSchema, SortSchema, changes::ChangesPageSchema, changes::ChangeSchema, changes::UpsertSchema, changes::DeleteSchema, changes::UpsertOp, changes::DeleteOp)),
)]
pub struct ApiDoc;

/// `GET /openapi.json`
#[utoipa::path(
    get,
    path = "/openapi.json",
    summary = "This OpenAPI description",
    tag = "operations",
    responses((status = 200, description = "This description, OpenAPI 3.1", body = Object)),
)]
pub async fn openapi_json(State(state): State<AppState>) -> Json<Document> {
    Json(state.openapi.as_ref().clone())
}

/// A todo as every response gives it (API.md, "The resource").
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42,
    "title": "Buy milk",
    "description": null,
    "priority": 3,
    "due_date": "2026-12-01T09:30:00Z",
    "completed": false,
    "created_at": "2026-11-26T15:00:00.123456Z",
    "updated_at": "2026-11-26T15:00:00.123456Z"
}))]
#[schema(as = Todo)]
pub struct TodoSchema {
    /// Assigned by the server, increasing in creation order.
    pub id: i64,
    /// 1 to 200 characters, not only whitespace; stored exactly as sent.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// At most 2000 characters.
    #[schema(max_length = 2000, required = true)]
    pub description: Option<String>,
    /// 1 (lowest) to 5 (highest).
    #[schema(minimum = 1, maximum = 5)]
    pub priority: u8,
    /// RFC 3339, in UTC.
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub due_date: Option<String>,
    pub completed: bool,
    /// Set by the server on create.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    /// Set by the server on create and on every change.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: String,
}

/// The body of a create (`POST`) or a full replacement (`PUT`): omitted
/// fields take their defaults; unknown fields are refused.
// `Deserialize` is never used: it lets utoipa read `deny_unknown_fields`,
// which it writes as `additionalProperties: false` (unknown fields are a
// 422, API.md).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Buy milk", "priority": 4, "due_date": "2026-12-01"}))]
#[schema(as = NewTodo)]
pub struct NewTodoSchema {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Default 3.
    #[schema(minimum = 1, maximum = 5, value_type = u8, default = 3, required = false)]
    pub priority: Option<u8>,
    /// RFC 3339 (`2026-12-01T09:30:00+01:00`) or a plain date
    /// (`2026-12-01`, meaning 00:00 UTC that day).
    pub due_date: Option<String>,
    /// Default false.
    #[schema(value_type = bool, default = false, required = false)]
    pub completed: Option<bool>,
}

/// A partial update: only the fields sent change; `null` clears
/// `description` or `due_date`, and is refused for the others.
// `Deserialize` for `deny_unknown_fields`: see `NewTodoSchema`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"completed": true, "due_date": null}))]
#[schema(as = TodoPatch)]
pub struct TodoPatchSchema {
    #[schema(min_length = 1, max_length = 200, value_type = String, required = false)]
    pub title: Option<String>,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(minimum = 1, maximum = 5, value_type = u8, required = false)]
    pub priority: Option<u8>,
    /// RFC 3339 or a plain date; `null` clears it.
    pub due_date: Option<String>,
    #[schema(value_type = bool, required = false)]
    pub completed: Option<bool>,
}

/// One item of a bulk update: the todo's id and the fields to change.
// `Deserialize` for `deny_unknown_fields`: see `NewTodoSchema`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": 42, "completed": true}))]
#[schema(as = BulkPatch)]
pub struct BulkPatchSchema {
    pub id: i64,
    #[schema(min_length = 1, max_length = 200, value_type = String, required = false)]
    pub title: Option<String>,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(minimum = 1, maximum = 5, value_type = u8, required = false)]
    pub priority: Option<u8>,
    pub due_date: Option<String>,
    #[schema(value_type = bool, required = false)]
    pub completed: Option<bool>,
}

/// How many todos a delete by filter removed.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"deleted": 3}))]
#[schema(as = Deleted)]
pub struct DeletedSchema {
    pub deleted: u64,
}

/// An error answer other than a validation failure.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"detail": "Todo not found"}))]
#[schema(as = ErrorBody)]
pub struct ErrorBodySchema {
    pub detail: String,
}

/// A 422: every fault found, each naming where it is.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"detail": [{"loc": ["body", "title"], "msg": "String should have at least 1 character", "type": "string_too_short"}]}))]
#[schema(as = ValidationError)]
pub struct ValidationErrorSchema {
    pub detail: Vec<FieldFaultSchema>,
}

/// One fault of a request.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = FieldFault)]
pub struct FieldFaultSchema {
    /// Where: `["body", FIELD]`, `["body", INDEX, FIELD]`, `["query", NAME]`,
    /// `["path", "id"]`, `["header", NAME]` or `["body"]`.
    pub loc: Vec<LocPartSchema>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A step of a fault's location: a name, or an index into a bulk body.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = LocPart)]
pub enum LocPartSchema {
    Name(String),
    Index(u32),
}

/// The figures of the live database connection pool.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"max_size": 10, "size": 4, "idle": 3, "in_use": 1, "waiting": 0}))]
#[schema(as = PoolFigures)]
pub struct PoolFiguresSchema {
    /// Most connections the pool may open.
    pub max_size: u64,
    /// Connections open now.
    pub size: u64,
    /// Open connections not in use.
    pub idle: u64,
    /// Connections serving a request.
    pub in_use: u64,
    /// Requests waiting for a connection.
    pub waiting: u64,
}

/// The answer of a health or readiness probe.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
#[schema(as = Status)]
pub struct StatusSchema {
    /// `ok` (`/health`), `ready` or `unavailable` (`/ready`).
    pub status: String,
    /// Why the service is not ready.
    pub detail: Option<String>,
}

/// A listing order: the field, `-` first for descending; ties are broken
/// by `id` in the same direction; todos without a due date come last.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Sort)]
pub enum SortSchema {
    #[serde(rename = "-created_at")]
    NewestFirst,
    #[serde(rename = "created_at")]
    OldestFirst,
    #[serde(rename = "priority")]
    PriorityAscending,
    #[serde(rename = "-priority")]
    PriorityDescending,
    #[serde(rename = "due_date")]
    DueDateAscending,
    #[serde(rename = "-due_date")]
    DueDateDescending,
    #[serde(rename = "id")]
    IdAscending,
    #[serde(rename = "-id")]
    IdDescending,
}

/// The filters of the listing and of the delete by filter. A value out of
/// range or of the wrong form gives 422; values are never clamped.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterParams {
    /// Only todos in this state.
    pub completed: Option<bool>,
    /// Only todos of this priority.
    #[param(minimum = 1, maximum = 5)]
    pub priority: Option<u8>,
    /// Only todos of at least this priority.
    #[param(minimum = 1, maximum = 5)]
    pub min_priority: Option<u8>,
    /// Only todos due before this timestamp or date.
    #[param(example = "2026-12-01")]
    pub due_before: Option<String>,
    /// Only todos due at or after this timestamp or date.
    #[param(example = "2026-11-01T00:00:00Z")]
    pub due_after: Option<String>,
    /// Only todos whose title contains this text, case-insensitively;
    /// empty filters nothing.
    #[param(example = "milk")]
    pub q: Option<String>,
}

/// Order and pagination of the listing.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Default `-created_at`, newest first.
    #[param(inline)]
    pub sort: Option<SortSchema>,
    /// Page size, 1 to 1000; default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Results to skip; default 0. Not together with `cursor`.
    pub offset: Option<u64>,
    /// Continue after the page whose `Link: rel="next"` gave it; opaque.
    pub cursor: Option<String>,
}

/// Headers of the conditional writes.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatchHeader {
    /// Apply only if one of these tags is the todo's current `ETag`
    /// (`*`: any); otherwise 412 and nothing changes.
    #[param(rename = "If-Match", example = "\"42-1\"")]
    pub if_match: Option<String>,
}

/// The header that makes a create safe to retry.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// 1 to 255 visible ASCII characters. A repeat with the same key and
    /// body gets the stored answer with `Idempotent-Replayed: true` and
    /// creates nothing.
    #[param(rename = "Idempotency-Key", example = "5f0c1e9a-create-milk")]
    pub idempotency_key: Option<String>,
}

/// The name of the bearer scheme in the description.
const BEARER_SCHEME: &str = "bearer";

/// Adds the bearer scheme (a JWT or an access token, API.md "Users") and
/// asks for it on every `/api` operation: required, or, when the service
/// takes requests without credentials, optional.
pub fn secure_api_operations(document: &mut Document, credentials_required: bool) {
    let scheme = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .description(Some(
            "A JWT of the configured identity provider, or one of the access tokens \
             (`API_TOKENS`); paste it without `Bearer `.",
        ))
        .build();
    document
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(BEARER_SCHEME, SecurityScheme::Http(scheme));
    let mut requirements = vec![SecurityRequirement::new(
        BEARER_SCHEME,
        Vec::<String>::new(),
    )];
    if !credentials_required {
        // An empty requirement: no credentials at all also satisfy it.
        requirements.insert(0, SecurityRequirement::default());
    }
    for (path, item) in document.paths.paths.iter_mut() {
        if !path.starts_with("/api/") {
            continue;
        }
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            operation.security = Some(requirements.clone());
        }
    }
}

/// The faults every operation on the database may answer.
#[derive(Debug, IntoResponses)]
pub enum CommonErrorResponses {
    /// A parameter or the body is invalid; every fault is listed.
    #[response(status = 422)]
    Invalid(ValidationErrorSchema),
    /// The database cannot be reached or no connection freed up in time;
    /// nothing was changed, retry after `Retry-After` seconds.
    #[response(
        status = 503,
        headers(("Retry-After" = u32, description = "Seconds to wait before retrying")),
        example = json!({"detail": "Service temporarily unavailable; retry later"}),
    )]
    Unavailable(ErrorBodySchema),
    /// No token where one is needed, or one that is not valid (malformed,
    /// wrongly signed, expired, another issuer or audience); nothing was
    /// processed.
    #[response(
        status = 401,
        headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent")),
        example = json!({"detail": "Not authenticated"}),
    )]
    Unauthorized(ErrorBodySchema),
    /// The caller's rate limit is spent (`RATE_LIMIT_PER_SECOND`); nothing
    /// was processed, retry after `Retry-After` seconds.
    #[response(
        status = 429,
        headers(
            ("Retry-After" = u32, description = "Seconds to wait before retrying"),
            ("RateLimit-Policy" = String, description = "The limit: `\"default\";q=BURST;w=SECONDS`"),
            ("RateLimit" = String, description = "What is left: `\"default\";r=REMAINING;t=SECONDS`"),
        ),
        example = json!({"detail": "Too Many Requests"}),
    )]
    TooManyRequests(ErrorBodySchema),
}

/// The faults of a request body.
#[derive(Debug, IntoResponses)]
pub enum BodyErrorResponses {
    /// The body is over `MAX_BODY_BYTES`.
    #[response(status = 413, example = json!({"detail": "Request body too large"}))]
    TooLarge(ErrorBodySchema),
    /// The body's `Content-Type` is not JSON.
    #[response(status = 415, example = json!({"detail": "Unsupported Media Type: send application/json"}))]
    NotJson(ErrorBodySchema),
}

/// No todo has the id.
#[derive(Debug, IntoResponses)]
pub enum NotFoundResponse {
    /// No todo of the caller's has the id (another user's todo is the
    /// same: not found); nothing changed.
    #[response(status = 404, example = json!({"detail": "Todo not found"}))]
    Todo(ErrorBodySchema),
}

/// An `If-Match` that names no current tag.
#[derive(Debug, IntoResponses)]
pub enum PreconditionFailedResponse {
    /// `If-Match` names no current tag of the todo: it changed meanwhile;
    /// nothing changed now.
    #[response(status = 412, example = json!({"detail": "Precondition Failed"}))]
    Failed(ErrorBodySchema),
}

/// An `Idempotency-Key` whose first request is still being processed.
#[derive(Debug, IntoResponses)]
pub enum IdempotencyConflictResponse {
    /// The first request with this `Idempotency-Key` is still being
    /// processed; retry with the same key.
    #[response(status = 409, example = json!({"detail": "A request with this Idempotency-Key is still being processed"}))]
    InProgress(ErrorBodySchema),
}
