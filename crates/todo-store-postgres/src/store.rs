//! [`PgStore`]: the [`TodoStore`] over PostgreSQL. Reads by id, single
//! creates and single updates are served in groups (`batch.rs`,
//! `groups.rs`), one statement per group; reads, creates and listings go to
//! the shared, pipelined connections (`shared.rs`), updates and deletes to
//! exclusive ones, in autocommit; the bulk update and keyed creates are one
//! transaction each (`idempotency.rs`).

use async_trait::async_trait;
use std::sync::Arc;

use deadpool_postgres::{ClientWrapper, Object, Pool};
use todo_core::{
    Creation, Expected, GroupObserver, IdempotencyKey, IdentifiedPatch, KeyedOutcome, ListQuery,
    NewTodo, PoolStatus, StoreError, Timestamp, Todo, TodoFilter, TodoPatch, TodoStore,
};
use todo_listing_sql::{Dialect, Statement, delete_matching_statement, list_statement};

use tokio_postgres::types::Type;

use crate::error::{from_pg, from_pool};
use crate::groups::{Creates, GroupedUpdate, Groups, Reads, Updates};
use crate::params::{InsertManyParams, UpdateParams, VersionCheck, as_typed, bind};
use crate::pipeline::try_join_all;
use crate::row::{ids_from_rows, todo_from_row, todos_from_rows};
use crate::shared::{SharedConnections, Standalone};
use crate::statement_mode::StatementMode;
use crate::statements::{DELETE, EXISTS, INSERT_MANY, LOCK_MANY, PING, SELECT_MANY, UPDATE};

/// The PostgreSQL store. Cloning is cheap and shares the pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    /// Exclusive connections, for transactions.
    pool: Pool,
    /// Shared, pipelined connections, for statements that stand alone.
    shared: Arc<SharedConnections>,
    groups: Arc<Groups>,
    statements: StatementMode,
}

impl PgStore {
    pub(crate) fn new(pool: Pool, shared: SharedConnections, statements: StatementMode) -> Self {
        PgStore {
            pool,
            shared: Arc::new(shared),
            groups: Arc::new(Groups::new()),
            statements,
        }
    }

    pub(crate) fn groups(&self) -> &Groups {
        &self.groups
    }

    /// One statement, one commit, for every todo; ids in input order.
    pub(crate) async fn insert_rows(&self, todos: Vec<NewTodo>) -> Result<Vec<Todo>, StoreError> {
        let params = InsertManyParams::new(todos);
        let client = self.standalone().await?;
        let rows = self
            .statements
            .query(&client, &INSERT_MANY, &params.as_typed())
            .await
            .map_err(from_pg)?;
        let mut created = todos_from_rows(&rows)?;
        // `returning` promises no order; ids were given in input order.
        created.sort_by_key(|todo| todo.id);
        Ok(created)
    }

    /// The todos of `ids` that exist, in no order.
    pub(crate) async fn select_rows(&self, ids: &[i64]) -> Result<Vec<Todo>, StoreError> {
        let client = self.standalone().await?;
        let rows = self
            .statements
            .query(&client, &SELECT_MANY, &[(&ids, Type::INT8_ARRAY)])
            .await
            .map_err(from_pg)?;
        todos_from_rows(&rows)
    }

    /// A connection for a statement that stands alone (autocommit).
    pub(crate) async fn standalone(&self) -> Result<Standalone, StoreError> {
        if self.shared.is_empty() {
            return self
                .client()
                .await
                .map(|client| Standalone::Pooled(Box::new(client)));
        }
        self.shared.client().await.map(Standalone::Shared)
    }

    pub(crate) fn statement_mode(&self) -> StatementMode {
        self.statements
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// One update, one statement, in autocommit.
    pub(crate) async fn update_alone(
        &self,
        id: i64,
        patch: TodoPatch,
        check: VersionCheck,
    ) -> Result<Todo, StoreError> {
        // An exclusive connection: a commit on a shared one would hold up
        // the reads pipelined behind it.
        let client = self.client().await?;
        let params = UpdateParams::new(id, patch, check);
        let rows = self
            .statements
            .query(&client, &UPDATE, &params.as_typed())
            .await
            .map_err(from_pg)?;
        match rows.first() {
            Some(row) => todo_from_row(row),
            None => Err(self.missing_or_changed(&client, id).await),
        }
    }

    pub(crate) async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(from_pool)
    }

    /// After a conditional write changed nothing: was the todo missing, or
    /// its version not the expected one?
    async fn missing_or_changed(&self, client: &ClientWrapper, id: i64) -> StoreError {
        let exists = self
            .statements
            .query(client, EXISTS, &[(&id, Type::INT8)])
            .await;
        match exists {
            Ok(rows) if !rows.is_empty() => StoreError::PreconditionFailed,
            Ok(_) => StoreError::NotFound(id),
            Err(error) => from_pg(error),
        }
    }

    async fn query_shared(
        &self,
        statement: Statement,
        mode: StatementMode,
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let client = self.standalone().await?;
        let params: Vec<_> = statement.params.into_iter().map(bind).collect();
        mode.query(&client, &statement.sql, &as_typed(&params))
            .await
            .map_err(from_pg)
    }
}

#[async_trait]
impl TodoStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn create(&self, todo: NewTodo) -> Result<Todo, StoreError> {
        self.grouped::<Creates>(todo).await
    }

    #[tracing::instrument(skip_all, fields(count = todos.len()))]
    async fn create_many(&self, todos: Vec<NewTodo>) -> Result<Vec<Todo>, StoreError> {
        if todos.is_empty() {
            return Ok(Vec::new());
        }
        self.insert_rows(todos).await
    }

    #[tracing::instrument(skip_all)]
    async fn create_keyed(
        &self,
        key: &IdempotencyKey,
        creation: Creation,
    ) -> Result<KeyedOutcome, StoreError> {
        self.create_keyed_in_transaction(key, creation).await
    }

    #[tracing::instrument(skip_all)]
    async fn purge_idempotency_keys(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        self.purge_keys_in_batches(cutoff).await
    }

    #[tracing::instrument(skip_all, fields(id))]
    async fn get(&self, id: i64) -> Result<Todo, StoreError> {
        self.grouped::<Reads>(id).await
    }

    #[tracing::instrument(skip_all)]
    async fn list(&self, query: &ListQuery) -> Result<Vec<Todo>, StoreError> {
        // A title search is planned for its own text every time: a cached
        // statement may settle on a generic plan, which for a common word
        // scans every match instead of walking the default order
        // (docs/query-plans.md).
        let mode = if query.filter.title_contains.is_some() {
            StatementMode::Unnamed
        } else {
            self.statements
        };
        let rows = self
            .query_shared(list_statement(query, Dialect::Postgres), mode)
            .await?;
        todos_from_rows(&rows)
    }

    #[tracing::instrument(skip_all, fields(id))]
    async fn update(
        &self,
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
                return self
                    .update_alone(id, patch, VersionCheck::new(Some(expected)))
                    .await;
            }
        };
        self.grouped::<Updates>(GroupedUpdate {
            id,
            patch,
            expected_version,
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(count = patches.len()))]
    async fn update_many(&self, patches: Vec<IdentifiedPatch>) -> Result<Vec<Todo>, StoreError> {
        if patches.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(from_pg)?;
        if self.statements == StatementMode::Cached {
            // Prepared now, so the pipelined updates below find it cached
            // rather than each preparing it again.
            transaction.prepare_cached(&UPDATE).await.map_err(from_pg)?;
        }
        let ids: Vec<i64> = patches.iter().map(|patch| patch.id).collect();
        let locked = ids_from_rows(
            &self
                .statements
                .query_in(&transaction, LOCK_MANY, &[(&ids, Type::INT8_ARRAY)])
                .await
                .map_err(from_pg)?,
        )?;
        if let Some(missing) = ids.iter().find(|id| !locked.contains(id)) {
            // Dropping the transaction rolls it back; nothing was changed.
            return Err(StoreError::NotFound(*missing));
        }
        let params: Vec<UpdateParams> = patches
            .into_iter()
            .map(|IdentifiedPatch { id, patch }| {
                UpdateParams::new(id, patch, VersionCheck::new(None))
            })
            .collect();
        let bound: Vec<_> = params.iter().map(UpdateParams::as_typed).collect();
        let rows = try_join_all(
            bound
                .iter()
                .map(|typed| self.statements.query_in(&transaction, &UPDATE, typed)),
        )
        .await
        .map_err(from_pg)?;
        let mut updated = Vec::with_capacity(rows.len());
        for (row, id) in rows.iter().zip(&ids) {
            match row.first() {
                Some(row) => updated.push(todo_from_row(row)?),
                // The rows are locked, so this would be a bug, not a race.
                None => return Err(StoreError::NotFound(*id)),
            }
        }
        transaction.commit().await.map_err(from_pg)?;
        Ok(updated)
    }

    #[tracing::instrument(skip_all, fields(id))]
    async fn delete(&self, id: i64, expected: Option<&Expected>) -> Result<(), StoreError> {
        // Exclusive, as for updates.
        let client = self.client().await?;
        let check = VersionCheck::new(expected);
        let params = [
            (&id as _, Type::INT8),
            (&check.any as _, Type::BOOL),
            (&check.versions as _, Type::INT8_ARRAY),
        ];
        let deleted = self
            .statements
            .execute(&client, DELETE, &params)
            .await
            .map_err(from_pg)?;
        if deleted == 0 {
            return Err(self.missing_or_changed(&client, id).await);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn delete_matching(&self, filter: &TodoFilter) -> Result<u64, StoreError> {
        let statement = delete_matching_statement(filter, Dialect::Postgres);
        let client = self.client().await?;
        let params: Vec<_> = statement.params.into_iter().map(bind).collect();
        self.statements
            .execute(&client, &statement.sql, &as_typed(&params))
            .await
            .map_err(from_pg)
    }

    #[tracing::instrument(skip_all)]
    async fn ping(&self) -> Result<(), StoreError> {
        // A shared connection, so a busy pool does not make the service
        // look unready.
        let client = self.standalone().await?;
        client.simple_query(PING).await.map_err(from_pg)?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close();
        self.shared.release();
    }

    /// Both kinds of connection together: a shared connection is in use
    /// while some request is using it.
    fn pool_status(&self) -> PoolStatus {
        let exclusive = self.pool.status();
        if self.shared.is_empty() {
            return PoolStatus {
                max_size: exclusive.max_size,
                size: exclusive.size,
                idle: exclusive.available,
                in_use: exclusive.size.saturating_sub(exclusive.available),
                waiting: exclusive.waiting,
            };
        }
        let (shared_open, shared_in_use) = self.shared.figures();
        let exclusive_in_use = exclusive.size.saturating_sub(exclusive.available);
        let size = exclusive.size + shared_open;
        let in_use = exclusive_in_use + shared_in_use;
        PoolStatus {
            max_size: exclusive.max_size + self.shared.pool().status().max_size,
            size,
            idle: size - in_use,
            in_use,
            waiting: exclusive.waiting,
        }
    }

    fn observe_groups(&self, observer: Arc<dyn GroupObserver>) {
        self.groups.reports.observe(observer);
    }
}
