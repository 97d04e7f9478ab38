//! [`PgStore`]: the [`TodoStore`] over PostgreSQL, the database access of
//! `db.rs` and the request groups of `groups.rs`. Reads by id, single
//! creates and single updates are served in groups, one statement per
//! group; the rest are one statement or one transaction each.

use std::sync::Arc;

use async_trait::async_trait;
use todo_core::{
    ChangeCursor, ChangeListener, ChangePage, Creation, Expected, GroupObserver, GroupReports,
    IdempotencyKey, IdentifiedPatch, KeyedOutcome, ListQuery, NewTodo, Owner, Page, PoolStatus,
    StoreError, Timestamp, Todo, TodoFilter, TodoPatch, TodoStore,
};
use todo_listing_sql::{Dialect, delete_matching_statement};

use crate::change_log::{change_head, purge_tombstones, read_changes};
use crate::connect::{ConnectError, PgOptions, connect};
use crate::db::Db;
use crate::groups::{GroupedUpdate, Groups};
use crate::idempotency::{create_keyed, purge_keys};
use crate::listing::groupable;
use crate::migrate::{MigrateError, migrate};
use crate::notifications::ChangeFeed;
use crate::params::VersionCheck;
use crate::statistics::Statistics;

/// The PostgreSQL store. Cloning is cheap and shares the pools.
#[derive(Clone, Debug)]
pub struct PgStore {
    pub(crate) db: Db,
    groups: Arc<Groups>,
    reports: GroupReports,
    statistics: Arc<Statistics>,
    feed: ChangeFeed,
}

impl PgStore {
    /// Opens a pool on the database at `url` (`postgres://` or
    /// `postgresql://`), and checks that one connection can be made.
    pub async fn connect(url: &str, options: PgOptions) -> Result<PgStore, ConnectError> {
        PgStore::connect_listening(url, None, options).await
    }

    /// [`connect`](PgStore::connect), listening for other instances'
    /// changes through `listen_url` when given (PostgreSQL itself, where
    /// `url` goes through PgBouncer) rather than `url`.
    pub async fn connect_listening(
        url: &str,
        listen_url: Option<&str>,
        options: PgOptions,
    ) -> Result<PgStore, ConnectError> {
        let db = connect(url, listen_url, options).await?;
        let reports = GroupReports::default();
        Ok(PgStore {
            groups: Arc::new(Groups::new(&db, &reports)),
            reports,
            statistics: Arc::default(),
            feed: ChangeFeed::start(&db),
            db,
        })
    }

    /// Applies the migrations the database lacks. Instances starting
    /// together take turns on an advisory lock, so each migration runs once.
    #[tracing::instrument(skip_all)]
    pub async fn migrate(&self) -> Result<(), MigrateError> {
        migrate(self.db.pool()).await
    }
}

#[async_trait]
impl TodoStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn owner_of(&self, subject: &str) -> Result<Owner, StoreError> {
        self.db.owner_of(subject).await
    }

    #[tracing::instrument(skip_all)]
    async fn create(&self, owner: Owner, todo: NewTodo) -> Result<Todo, StoreError> {
        let created = self.groups.creates.serve((owner, todo)).await?;
        self.feed.committed(owner);
        Ok(created)
    }

    #[tracing::instrument(skip_all, fields(count = todos.len()))]
    async fn create_many(
        &self,
        owner: Owner,
        todos: Vec<NewTodo>,
    ) -> Result<Vec<Todo>, StoreError> {
        if todos.is_empty() {
            return Ok(Vec::new());
        }
        let created = self
            .db
            .insert_rows(todos.into_iter().map(|todo| (owner, todo)))
            .await?;
        self.statistics.changed(&self.db, created.len() as u64);
        self.feed.committed(owner);
        Ok(created)
    }

    #[tracing::instrument(skip_all)]
    async fn create_keyed(
        &self,
        owner: Owner,
        key: &IdempotencyKey,
        creation: Creation,
    ) -> Result<KeyedOutcome, StoreError> {
        let outcome = create_keyed(&self.db, owner, key, creation).await?;
        if matches!(outcome, KeyedOutcome::Created(_)) {
            self.feed.committed(owner);
        }
        Ok(outcome)
    }

    #[tracing::instrument(skip_all)]
    async fn purge_idempotency_keys(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        purge_keys(&self.db, cutoff).await
    }

    #[tracing::instrument(skip_all, fields(id))]
    async fn get(&self, owner: Owner, id: i64) -> Result<Todo, StoreError> {
        self.groups.reads.serve((owner, id)).await
    }

    #[tracing::instrument(skip_all)]
    async fn list(&self, owner: Owner, query: &ListQuery) -> Result<Page, StoreError> {
        let rows = if groupable(query) {
            self.groups.listings.serve((owner, query.clone())).await?
        } else {
            self.db.select_listing(owner, query).await?
        };
        Ok(Page::from_rows(query, rows))
    }

    #[tracing::instrument(skip_all, fields(id))]
    async fn update(
        &self,
        owner: Owner,
        id: i64,
        patch: TodoPatch,
        expected: Option<&Expected>,
    ) -> Result<Todo, StoreError> {
        // Concurrent updates share a statement and a commit; one that
        // accepts several versions keeps to a statement of its own.
        let expected_version = match expected {
            None | Some(Expected::Any) => None,
            Some(Expected::Versions(versions)) if versions.len() == 1 => Some(versions[0]),
            Some(expected) => {
                let updated = self
                    .db
                    .update_alone(owner, id, patch, VersionCheck::new(Some(expected)))
                    .await?;
                self.feed.committed(owner);
                return Ok(updated);
            }
        };
        let updated = self
            .groups
            .updates
            .serve(GroupedUpdate {
                owner,
                id,
                patch,
                expected_version,
            })
            .await?;
        self.feed.committed(owner);
        Ok(updated)
    }

    #[tracing::instrument(skip_all, fields(count = patches.len()))]
    async fn update_many(
        &self,
        owner: Owner,
        patches: Vec<IdentifiedPatch>,
    ) -> Result<Vec<Todo>, StoreError> {
        if patches.is_empty() {
            return Ok(Vec::new());
        }
        let updated = self.db.update_all_or_none(owner, patches).await?;
        self.statistics.changed(&self.db, updated.len() as u64);
        self.feed.committed(owner);
        Ok(updated)
    }

    #[tracing::instrument(skip_all, fields(id))]
    async fn delete(
        &self,
        owner: Owner,
        id: i64,
        expected: Option<&Expected>,
    ) -> Result<(), StoreError> {
        self.db
            .delete_one(owner, id, VersionCheck::new(expected))
            .await?;
        self.feed.committed(owner);
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn delete_matching(&self, owner: Owner, filter: &TodoFilter) -> Result<u64, StoreError> {
        let deleted = self
            .db
            .delete_matching(
                owner,
                delete_matching_statement(owner, filter, Dialect::Postgres),
            )
            .await?;
        self.statistics.changed(&self.db, deleted);
        if deleted > 0 {
            self.feed.committed(owner);
        }
        Ok(deleted)
    }

    #[tracing::instrument(skip_all)]
    async fn changes(
        &self,
        owner: Owner,
        since: Option<ChangeCursor>,
        limit: u16,
    ) -> Result<ChangePage, StoreError> {
        read_changes(&self.db, owner, since, limit).await
    }

    #[tracing::instrument(skip_all)]
    async fn change_head(&self, owner: Owner) -> Result<ChangeCursor, StoreError> {
        change_head(&self.db, owner).await
    }

    #[tracing::instrument(skip_all)]
    async fn purge_tombstones(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        purge_tombstones(&self.db, cutoff).await
    }

    fn follow_changes(&self, listener: Arc<dyn ChangeListener>) {
        self.feed.follow(&self.db, listener);
    }

    #[tracing::instrument(skip_all)]
    async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await
    }

    async fn close(&self) {
        self.feed.stop();
        self.db.close();
    }

    fn pool_status(&self) -> PoolStatus {
        self.db.status()
    }

    fn observe_groups(&self, observer: Arc<dyn GroupObserver>) {
        self.reports.observe(observer);
    }
}
