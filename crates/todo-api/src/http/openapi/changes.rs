//! What the change log's operations refer to: the page of changes, their
//! parameters, the stream's events, and the 410 of an expired cursor.

use serde::Serialize;
use utoipa::{IntoParams, IntoResponses, ToSchema};

use super::{ErrorBodySchema, TodoSchema};

/// A page of the caller's change log.
#[derive(Debug, ToSchema)]
#[schema(as = ChangesPage, example = json!({
    "changes": [
        {"op": "upsert", "todo": {"id": 42, "title": "Buy milk", "description": null, "priority": 3,
            "due_date": null, "completed": false, "created_at": "2026-11-26T15:00:00.123456Z",
            "updated_at": "2026-11-26T15:00:00.123456Z"}},
        {"op": "delete", "id": 41}
    ],
    "cursor": "AQAAAAAAAAAqAAAAAAAAACo8f3Qx",
    "has_more": false
}))]
pub struct ChangesPageSchema {
    /// In the order the changes committed.
    pub changes: Vec<ChangeSchema>,
    /// Opaque: the `since` of the next request.
    pub cursor: String,
    /// More changes follow at once: ask again with `cursor`.
    pub has_more: bool,
}

/// One change: a todo as it is now, or a todo deleted.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = Change)]
pub enum ChangeSchema {
    Upsert(UpsertSchema),
    Delete(DeleteSchema),
}

/// A todo created or changed, in its latest state.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Upsert)]
pub struct UpsertSchema {
    pub op: UpsertOp,
    pub todo: TodoSchema,
}

/// A todo deleted.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Delete)]
pub struct DeleteSchema {
    pub op: DeleteOp,
    pub id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UpsertOp {
    Upsert,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeleteOp {
    Delete,
}

/// Where a page of changes starts, and how long it is.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// A `cursor` of an earlier page (or an event's `id`); without it, the
    /// log starts from the beginning.
    pub since: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u16>,
}

/// Where a stream starts.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// A `changes` cursor: the stream starts after it. Without it or
    /// `Last-Event-ID`, the stream starts with the changes committed after
    /// it opened.
    pub since: Option<String>,
}

/// The header of a reconnecting client.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct LastEventIdHeader {
    /// The `id` of the last event received; it takes precedence over
    /// `since`.
    #[param(rename = "Last-Event-ID")]
    pub last_event_id: Option<String>,
}

/// The answer for a cursor older than the log keeps deletes.
#[derive(Debug, IntoResponses)]
pub enum GoneResponse {
    /// The cursor is older than `CHANGES_RETENTION_DAYS`: start again
    /// without `since`.
    #[response(status = 410, example = json!({"detail": "This cursor is older than the change log keeps deletes (CHANGES_RETENTION_DAYS): start again without since"}))]
    Gone(ErrorBodySchema),
}
