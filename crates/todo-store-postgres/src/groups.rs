//! The kinds of request the store serves in groups (`batch.rs`): single
//! creates, one multi-row insert and one commit per group; reads by id, one
//! `id = any(…)` select per group; updates of distinct todos, one
//! `update … from unnest(…)` and one commit per group.

use std::collections::{HashMap, HashSet};

use todo_core::{GroupKind, GroupReports, NewTodo, StoreError, Todo, TodoPatch};
use tokio_postgres::types::Type;

use crate::batch::{Batched, GroupQueue, for_each, same_error};
use crate::error::{from_pg, is_conflict};
use crate::params::{UpdateManyParams, VersionCheck};
use crate::row::{ids_from_rows, todos_from_rows};
use crate::statements::{EXISTING, UPDATE_MANY};
use crate::store::PgStore;

/// The store's group queues.
#[derive(Debug)]
pub(crate) struct Groups {
    creates: GroupQueue<Creates>,
    reads: GroupQueue<Reads>,
    updates: GroupQueue<Updates>,
    /// Where each group served is reported.
    pub(crate) reports: GroupReports,
}

/// How many groups of one kind may run at once: one in the database (for a
/// write, waiting for its commit's log flush) while the next gathers and is
/// sent. More would split the requests waiting into smaller groups, and it
/// is the number of statements and commits that costs the database.
/// Measured side by side at 64 clients: eight groups of creates at once
/// made groups of 4 creates, two groups of 12, and two served more creates a
/// second; reads by id went from 23,000-29,000/s with eight to
/// 29,000-38,000/s with two.
const CONCURRENT_GROUPS: usize = 2;

impl Groups {
    pub(crate) fn new() -> Self {
        Groups {
            creates: GroupQueue::new(CONCURRENT_GROUPS),
            reads: GroupQueue::new(CONCURRENT_GROUPS),
            updates: GroupQueue::new(CONCURRENT_GROUPS),
            reports: GroupReports::default(),
        }
    }
}

/// Single-todo creates.
pub(crate) struct Creates;

impl Batched for Creates {
    type Item = NewTodo;
    type Output = Todo;
    const KIND: GroupKind = GroupKind::Create;
    const MAX_BATCH: usize = 500;

    fn queue(store: &PgStore) -> &GroupQueue<Self> {
        &store.groups().creates
    }

    async fn run(store: &PgStore, todos: Vec<NewTodo>) -> Vec<Result<Todo, StoreError>> {
        let count = todos.len();
        match store.insert_rows(todos).await {
            Ok(created) => created.into_iter().map(Ok).collect(),
            Err(error) => for_each(count, &error),
        }
    }
}

/// Reads by id.
pub(crate) struct Reads;

impl Batched for Reads {
    type Item = i64;
    type Output = Todo;
    const KIND: GroupKind = GroupKind::Read;
    const MAX_BATCH: usize = 1000;

    fn queue(store: &PgStore) -> &GroupQueue<Self> {
        &store.groups().reads
    }

    async fn run(store: &PgStore, ids: Vec<i64>) -> Vec<Result<Todo, StoreError>> {
        let found: HashMap<i64, Todo> = match store.select_rows(&ids).await {
            Ok(todos) => todos.into_iter().map(|todo| (todo.id, todo)).collect(),
            Err(error) => return for_each(ids.len(), &error),
        };
        ids.iter()
            .map(|id| found.get(id).cloned().ok_or(StoreError::NotFound(*id)))
            .collect()
    }
}

/// An update served in a group: its todo, its patch, and the version the
/// todo must be at (`None`: any).
#[derive(Debug)]
pub(crate) struct GroupedUpdate {
    pub(crate) id: i64,
    pub(crate) patch: TodoPatch,
    pub(crate) expected_version: Option<i64>,
}

/// Single-todo updates.
pub(crate) struct Updates;

impl Batched for Updates {
    type Item = GroupedUpdate;
    type Output = Todo;
    const KIND: GroupKind = GroupKind::Update;
    const MAX_BATCH: usize = 500;

    /// One statement changes a row once.
    fn exclusive_key(update: &GroupedUpdate) -> Option<i64> {
        Some(update.id)
    }

    fn queue(store: &PgStore) -> &GroupQueue<Self> {
        &store.groups().updates
    }

    async fn run(store: &PgStore, updates: Vec<GroupedUpdate>) -> Vec<Result<Todo, StoreError>> {
        match update_together(store, &updates).await {
            Ok((mut updated, existing)) => updates
                .iter()
                .map(|update| match (updated.remove(&update.id), &existing) {
                    (Some(todo), _) => Ok(todo),
                    (None, Ok(existing)) if existing.contains(&update.id) => {
                        Err(StoreError::PreconditionFailed)
                    }
                    (None, Ok(_)) => Err(StoreError::NotFound(update.id)),
                    (None, Err(error)) => Err(same_error(error)),
                })
                .collect(),
            // The statement lost a conflict (a deadlock with another
            // instance's writes, say) and was rolled back whole: each update
            // gets a statement of its own, and its own answer, at once.
            Err(GroupFailure::Conflict) => {
                let mut answers = Vec::with_capacity(updates.len());
                for update in updates {
                    let check = VersionCheck::exactly(update.expected_version);
                    answers.push(store.update_alone(update.id, update.patch, check).await);
                }
                answers
            }
            // Anything else (the database gone, a statement timeout) would
            // fail the updates one by one too, each after its own wait.
            Err(GroupFailure::Store(error)) => for_each(updates.len(), &error),
        }
    }
}

/// Why a group of updates failed.
enum GroupFailure {
    /// Its statement lost a conflict with another transaction.
    Conflict,
    Store(StoreError),
}

impl From<StoreError> for GroupFailure {
    fn from(error: StoreError) -> Self {
        GroupFailure::Store(error)
    }
}

/// The updated todos by id, and which of the todos left unchanged because
/// of their version exist. The update has committed when the existence
/// check runs, so a failure of the check is only the unchanged todos'.
async fn update_together(
    store: &PgStore,
    updates: &[GroupedUpdate],
) -> Result<(HashMap<i64, Todo>, Result<HashSet<i64>, StoreError>), GroupFailure> {
    let params = UpdateManyParams::new(
        updates
            .iter()
            .map(|update| (update.id, &update.patch, update.expected_version)),
    );
    // An exclusive connection: a commit on a shared one would hold up the
    // reads pipelined behind it.
    let client = store.client().await?;
    let rows = store
        .statement_mode()
        .query(&client, &UPDATE_MANY, &params.as_typed())
        .await
        .map_err(|error| match is_conflict(&error) {
            true => GroupFailure::Conflict,
            false => GroupFailure::Store(from_pg(error)),
        })?;
    let updated: HashMap<i64, Todo> = todos_from_rows(&rows)?
        .into_iter()
        .map(|todo| (todo.id, todo))
        .collect();
    let unchanged: Vec<i64> = updates
        .iter()
        .filter(|update| update.expected_version.is_some() && !updated.contains_key(&update.id))
        .map(|update| update.id)
        .collect();
    if unchanged.is_empty() {
        return Ok((updated, Ok(HashSet::new())));
    }
    let existing = store
        .statement_mode()
        .query(&client, EXISTING, &[(&unchanged, Type::INT8_ARRAY)])
        .await
        .map_err(from_pg)
        .and_then(|rows| ids_from_rows(&rows));
    Ok((updated, existing))
}
