//! The storage interface the HTTP layer depends on, and its errors.

use std::sync::Arc;

use async_trait::async_trait;

use crate::changes::{ChangeCursor, ChangeListener, ChangePage};
use crate::groups::GroupObserver;
use crate::idempotency::{Creation, IdempotencyKey, KeyedOutcome};
use crate::input::{IdentifiedPatch, NewTodo, TodoPatch};
use crate::listing::{ListQuery, Page, TodoFilter};
use crate::owner::Owner;
use crate::todo::Timestamp;
use crate::todo::Todo;

/// Why a store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No todo has this id.
    #[error("todo {0} not found")]
    NotFound(i64),
    /// The todo exists but its version is not one the caller expected.
    #[error("the todo has changed since the expected version")]
    PreconditionFailed,
    /// Another request with this idempotency key is still being processed.
    #[error("a request with this idempotency key is in flight")]
    IdempotencyKeyInFlight,
    /// This idempotency key was first used with another request.
    #[error("the idempotency key was used with another request")]
    IdempotencyKeyReused,
    /// The deletes after this change cursor were purged already
    /// (`CHANGES_RETENTION_DAYS`): the reader must start again.
    #[error("the change cursor is older than the log's retention")]
    ChangesExpired,
    /// The database cannot be reached, or no connection freed up in time.
    /// Nothing was changed; the request may be retried.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else; logged, never shown to clients.
    #[error("storage failure: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps any other failure as [`StoreError::Internal`].
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Internal(Box::new(error))
    }
}

/// An `If-Match` condition, as the versions it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// `*`: any current version.
    Any,
    /// One of these versions (possibly none, which never matches).
    Versions(Vec<i64>),
}

impl Expected {
    /// Whether a todo at `version` satisfies the condition.
    pub fn accepts(&self, version: i64) -> bool {
        match self {
            Expected::Any => true,
            Expected::Versions(versions) => versions.contains(&version),
        }
    }
}

/// Figures of a store's connection pool (`/health/pool`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct PoolStatus {
    pub max_size: usize,
    pub size: usize,
    pub idle: usize,
    pub in_use: usize,
    pub waiting: usize,
}

/// A todo store. Every method is one transaction: it applies whole or not
/// at all, and a success means the change is committed and durable.
///
/// Every operation on todos acts for one [`Owner`] and sees only that
/// owner's todos: another owner's todo is `NotFound`, exactly as a missing
/// one. Ids are unique across owners.
#[async_trait]
pub trait TodoStore: Send + Sync + 'static {
    /// The owner whose subject (a JWT's `sub`) is `subject`, made on first
    /// sight. The same subject is always the same owner, on every instance.
    async fn owner_of(&self, subject: &str) -> Result<Owner, StoreError>;

    async fn create(&self, owner: Owner, todo: NewTodo) -> Result<Todo, StoreError>;

    /// Creates all, in input order with increasing ids, or none.
    async fn create_many(&self, owner: Owner, todos: Vec<NewTodo>)
    -> Result<Vec<Todo>, StoreError>;

    /// Creates under an idempotency key, in one transaction with the key
    /// and the stored response: the first request with the key creates, a
    /// later one with the same fingerprint is replayed, one with another
    /// fingerprint is `IdempotencyKeyReused`, and one racing a request still
    /// in flight is `IdempotencyKeyInFlight`. Exactly one creation happens
    /// however many copies race, on any number of service instances. Keys
    /// are the owner's: the same key of two owners is two keys.
    async fn create_keyed(
        &self,
        owner: Owner,
        key: &IdempotencyKey,
        creation: Creation,
    ) -> Result<KeyedOutcome, StoreError>;

    /// Removes idempotency keys first used before `cutoff`, in small
    /// batches so requests are not stalled; returns how many.
    async fn purge_idempotency_keys(&self, cutoff: Timestamp) -> Result<u64, StoreError>;

    async fn get(&self, owner: Owner, id: i64) -> Result<Todo, StoreError>;

    /// The page `query` asks for ([`Page::from_rows`] builds it from the
    /// [`ListQuery::rows_to_fetch`] rows a statement fetches).
    async fn list(&self, owner: Owner, query: &ListQuery) -> Result<Page, StoreError>;

    /// Applies `patch` if the todo exists and its version is `expected`;
    /// the check and the write are one atomic step.
    async fn update(
        &self,
        owner: Owner,
        id: i64,
        patch: TodoPatch,
        expected: Option<&Expected>,
    ) -> Result<Todo, StoreError>;

    /// Applies every patch, or none when any id is missing
    /// (`NotFound` names the first missing one in input order).
    async fn update_many(
        &self,
        owner: Owner,
        patches: Vec<IdentifiedPatch>,
    ) -> Result<Vec<Todo>, StoreError>;

    /// Deletes the todo if it exists and its version is `expected`.
    async fn delete(
        &self,
        owner: Owner,
        id: i64,
        expected: Option<&Expected>,
    ) -> Result<(), StoreError>;

    /// Deletes every todo the filter matches; returns how many.
    async fn delete_matching(&self, owner: Owner, filter: &TodoFilter) -> Result<u64, StoreError>;

    /// A page of `owner`'s change log: at most `limit` changes after
    /// `since`, in the order they committed; from the start (every todo
    /// the owner has, as upserts) when `since` is `None`. A todo changed
    /// several times appears once, in its latest state. `ChangesExpired`
    /// when deletes after `since` have been purged.
    async fn changes(
        &self,
        owner: Owner,
        since: Option<ChangeCursor>,
        limit: u16,
    ) -> Result<ChangePage, StoreError>;

    /// The position after every change of `owner` committed so far: a
    /// reader starting there sees exactly the changes committed later.
    async fn change_head(&self, owner: Owner) -> Result<ChangeCursor, StoreError>;

    /// Removes the tombstones of deletes made before `cutoff`, in small
    /// batches; returns how many. A cursor that still needed one of them
    /// is `ChangesExpired` from then on.
    async fn purge_tombstones(&self, cutoff: Timestamp) -> Result<u64, StoreError>;

    /// Tells `listener` of every change committed from now on: through
    /// this store at once, through other instances when their
    /// notifications arrive. Only the first listener set is kept.
    fn follow_changes(&self, listener: Arc<dyn ChangeListener>);

    /// Succeeds when the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    fn pool_status(&self) -> PoolStatus;

    /// Tells `observer` of every group of requests the store serves from
    /// now on (the service's group size metrics). Only the first observer
    /// set is kept.
    fn observe_groups(&self, observer: Arc<dyn GroupObserver>);

    /// Closes the pool for graceful shutdown: later calls fail as
    /// unavailable; work already under way finishes.
    async fn close(&self);
}
