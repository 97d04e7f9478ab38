//! The kinds of request the store serves in groups (`grouping.rs`): single
//! creates, one multi-row insert and one commit per group; reads by id, one
//! `id = any(…)` select per group; listings, one select per shape in a
//! group (`db/listings.rs`); updates of distinct todos, one
//! `update … from unnest(…)` and one commit per group.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use todo_core::{GroupKind, GroupReports, ListQuery, NewTodo, Owner, StoreError, Todo, TodoPatch};

use crate::db::{Db, GroupedUpdateError};
use crate::grouping::{Batched, GroupQueue, for_each, same_error};
use crate::params::{UpdateManyParams, VersionCheck};

/// The store's group queues.
#[derive(Debug)]
pub(crate) struct Groups {
    pub(crate) creates: Arc<GroupQueue<Creates>>,
    pub(crate) reads: Arc<GroupQueue<Reads>>,
    pub(crate) listings: Arc<GroupQueue<Listings>>,
    pub(crate) updates: Arc<GroupQueue<Updates>>,
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

/// How many groups of listings may run at once. A listing waits for no
/// commit, so a group's time is the round trip and the listings' own work,
/// and with two groups at once the two cores were not kept busy (64
/// clients, a page of 20 on 10,000 rows: 14,000-14,700/s with two groups,
/// 16,000-16,800/s with four, 14,400-18,400/s with eight).
const CONCURRENT_LISTING_GROUPS: usize = 4;

impl Groups {
    /// Queues over `db`, each reporting the groups it serves to `reports`.
    pub(crate) fn new(db: &Db, reports: &GroupReports) -> Self {
        Groups {
            creates: queue(db, reports),
            reads: queue(db, reports),
            listings: queue_of(db, reports, CONCURRENT_LISTING_GROUPS),
            updates: queue(db, reports),
        }
    }
}

fn queue<B: Batched>(db: &Db, reports: &GroupReports) -> Arc<GroupQueue<B>> {
    queue_of(db, reports, CONCURRENT_GROUPS)
}

fn queue_of<B: Batched>(db: &Db, reports: &GroupReports, groups: usize) -> Arc<GroupQueue<B>> {
    Arc::new(GroupQueue::new(db.clone(), groups, reports.clone()))
}

/// Single-todo creates, each with its owner: a group mixes users.
pub(crate) struct Creates;

impl Batched for Creates {
    type Item = (Owner, NewTodo);
    type Output = Todo;
    const KIND: GroupKind = GroupKind::Create;
    const MAX_BATCH: usize = 500;

    async fn run(db: &Db, todos: Vec<(Owner, NewTodo)>) -> Vec<Result<Todo, StoreError>> {
        let count = todos.len();
        // Inserted owner by owner, so the change log locks the rows take
        // are taken in one order (ARCHITECTURE.md, "The change log"); each
        // caller still gets the todo made from its own request.
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by_key(|&index| todos[index].0);
        let mut slots: Vec<Option<(Owner, NewTodo)>> = todos.into_iter().map(Some).collect();
        let sorted = order.iter().filter_map(|&index| slots[index].take());
        match db.insert_rows(sorted).await {
            Ok(created) => {
                let mut answers: Vec<Option<Todo>> = vec![None; count];
                for (index, todo) in order.into_iter().zip(created) {
                    answers[index] = Some(todo);
                }
                answers
                    .into_iter()
                    .map(|todo| todo.ok_or_else(missing_row))
                    .collect()
            }
            Err(error) => for_each(count, &error),
        }
    }

    async fn run_alone(db: &Db, (owner, todo): (Owner, NewTodo)) -> Result<Todo, StoreError> {
        db.insert_one(owner, todo).await
    }
}

/// Reads by id, each by its owner: a group mixes users, and a caller is
/// answered only with a todo of its own.
pub(crate) struct Reads;

impl Batched for Reads {
    type Item = (Owner, i64);
    type Output = Todo;
    const KIND: GroupKind = GroupKind::Read;
    const MAX_BATCH: usize = 1000;

    async fn run(db: &Db, wanted: Vec<(Owner, i64)>) -> Vec<Result<Todo, StoreError>> {
        let found: HashMap<(Owner, i64), Todo> = match db.select_rows(&wanted).await {
            Ok(todos) => todos
                .into_iter()
                .map(|(owner, todo)| ((owner, todo.id), todo))
                .collect(),
            Err(error) => return for_each(wanted.len(), &error),
        };
        wanted
            .iter()
            .map(|key| found.get(key).cloned().ok_or(StoreError::NotFound(key.1)))
            .collect()
    }

    async fn run_alone(db: &Db, (owner, id): (Owner, i64)) -> Result<Todo, StoreError> {
        db.select_one(owner, id).await
    }
}

/// Listings (`listing::groupable` ones), each by its owner: a group mixes
/// users and shapes, the listings of one shape share a statement, and each
/// caller gets the rows of its own listing.
pub(crate) struct Listings;

impl Batched for Listings {
    type Item = (Owner, ListQuery);
    type Output = Vec<Todo>;
    const KIND: GroupKind = GroupKind::List;
    /// A page is up to 101 rows: a group's answer stays under some 6,500.
    const MAX_BATCH: usize = 64;

    async fn run(db: &Db, wanted: Vec<(Owner, ListQuery)>) -> Vec<Result<Vec<Todo>, StoreError>> {
        let shapes = match db.select_listings(&wanted).await {
            Ok(shapes) => shapes,
            Err(error) => return for_each(wanted.len(), &error),
        };
        let mut answers: Vec<Option<Result<Vec<Todo>, StoreError>>> =
            (0..wanted.len()).map(|_| None).collect();
        for (members, answer) in shapes {
            match answer {
                Ok(pages) => {
                    for (index, page) in members.into_iter().zip(pages) {
                        answers[index] = Some(Ok(page));
                    }
                }
                Err(error) => {
                    for index in members {
                        answers[index] = Some(Err(same_error(&error)));
                    }
                }
            }
        }
        answers
            .into_iter()
            .map(|answer| answer.unwrap_or_else(|| Err(missing_listing())))
            .collect()
    }

    async fn run_alone(
        db: &Db,
        (owner, query): (Owner, ListQuery),
    ) -> Result<Vec<Todo>, StoreError> {
        db.select_listing(owner, &query).await
    }
}

/// An update served in a group: whose, its todo, its patch, and the
/// version the todo must be at (`None`: any).
#[derive(Debug)]
pub(crate) struct GroupedUpdate {
    pub(crate) owner: Owner,
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

    /// One statement changes a row once; so the answers of a group can be
    /// told apart by id alone.
    fn exclusive_key(update: &GroupedUpdate) -> Option<i64> {
        Some(update.id)
    }

    async fn run(db: &Db, updates: Vec<GroupedUpdate>) -> Vec<Result<Todo, StoreError>> {
        match update_together(db, &updates).await {
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
            // The statement lost a conflict and was rolled back whole: each
            // update gets a statement of its own, and its own answer, at
            // once.
            Err(GroupedUpdateError::Conflict) => {
                let mut answers = Vec::with_capacity(updates.len());
                for update in updates {
                    answers.push(Self::run_alone(db, update).await);
                }
                answers
            }
            // Anything else (the database gone, a statement timeout) would
            // fail the updates one by one too, each after its own wait.
            Err(GroupedUpdateError::Store(error)) => for_each(updates.len(), &error),
        }
    }

    async fn run_alone(db: &Db, update: GroupedUpdate) -> Result<Todo, StoreError> {
        let check = VersionCheck::exactly(update.expected_version);
        db.update_alone(update.owner, update.id, update.patch, check)
            .await
    }
}

/// The updated todos by id, and which of the todos left unchanged because
/// of their version exist. The update has committed when the existence
/// check runs, so a failure of the check is only the unchanged todos'.
async fn update_together(
    db: &Db,
    updates: &[GroupedUpdate],
) -> Result<(HashMap<i64, Todo>, Result<HashSet<i64>, StoreError>), GroupedUpdateError> {
    let params = UpdateManyParams::new(updates.iter().map(|update| {
        (
            update.owner,
            update.id,
            &update.patch,
            update.expected_version,
        )
    }));
    let updated: HashMap<i64, Todo> = db
        .update_rows(&params)
        .await?
        .into_iter()
        .map(|todo| (todo.id, todo))
        .collect();
    let unchanged: Vec<(Owner, i64)> = updates
        .iter()
        .filter(|update| update.expected_version.is_some() && !updated.contains_key(&update.id))
        .map(|update| (update.owner, update.id))
        .collect();
    if unchanged.is_empty() {
        return Ok((updated, Ok(HashSet::new())));
    }
    Ok((updated, db.existing(&unchanged).await))
}

/// A group of listings left one unanswered.
fn missing_listing() -> StoreError {
    StoreError::internal(std::io::Error::other(
        "a group of listings left one unanswered",
    ))
}

/// A group's statement returned fewer rows than it was given.
fn missing_row() -> StoreError {
    StoreError::internal(std::io::Error::other(
        "a grouped insert returned too few rows",
    ))
}
