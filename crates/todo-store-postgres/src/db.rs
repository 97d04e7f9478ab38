//! [`Db`]: the store's one way to the database. It owns the pool of
//! exclusive connections, the shared pipelined ones (`shared.rs`) and the
//! way statements are sent (`statement_mode.rs`), and runs every statement
//! of the store but the keyed creates' transaction (`idempotency.rs`). It
//! decides which kind of connection each statement takes:
//!
//! - statements that stand alone and wait for no log flush (reads,
//!   listings, inserts, whose commit is their own) go to a shared
//!   connection, pipelined with other requests' statements;
//! - updates, deletes and transactions take an exclusive connection: a
//!   commit waits for its log flush, and on a shared connection every
//!   statement pipelined behind it would wait too.

mod listings;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deadpool_postgres::{ClientWrapper, Object, Pool};
use futures::future::try_join_all;
use todo_core::{IdentifiedPatch, NewTodo, Owner, PoolStatus, StoreError, Todo, TodoPatch};
use todo_listing_sql::Statement;
use tokio_postgres::Row;
use tokio_postgres::types::Type;

use crate::direct::DirectConnector;
use crate::error::{from_pg, from_pool, is_conflict};
use crate::params::{
    InsertManyParams, InsertParams, UpdateManyParams, UpdateParams, VersionCheck, as_typed, bind,
};
use crate::row::{ids_from_rows, owned_todo_from_row, todo_from_row, todos_from_rows};
use crate::shared::{SharedConnections, Standalone};
use crate::statement_mode::StatementMode;
use crate::statements::{
    DELETE, EXISTING, EXISTS, INSERT, INSERT_MANY, INSERT_USER, LOCK_CHANGE_LOG, LOCK_MANY, NOTIFY,
    PING, SELECT_MANY, SELECT_ONE, SELECT_USER, UPDATE, UPDATE_MANY,
};

/// The todos PostgreSQL counted when it last analyzed or vacuumed the
/// table; none when it never has (-1 since PostgreSQL 14).
const TABLE_ROWS: &str =
    "select greatest(reltuples, 0)::float8 from pg_class where oid = 'todos'::regclass";

/// The database behind the store. Cloning is cheap and shares the pools.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    /// Exclusive connections, for writes that commit and transactions.
    pool: Pool,
    /// Shared, pipelined connections, for statements that stand alone.
    shared: Arc<SharedConnections>,
    statements: StatementMode,
    /// For the connection that listens for change notifications.
    direct: DirectConnector,
}

/// Why the statement of a group of updates failed.
#[derive(Debug)]
pub(crate) enum GroupedUpdateError {
    /// It lost a conflict with another transaction (a deadlock with
    /// another instance's writes, say) and was rolled back whole.
    Conflict,
    Store(StoreError),
}

impl Db {
    pub(crate) fn new(
        pool: Pool,
        shared: SharedConnections,
        statements: StatementMode,
        direct: DirectConnector,
    ) -> Self {
        Db {
            pool,
            shared: Arc::new(shared),
            statements,
            direct,
        }
    }

    /// Opens connections outside the pools.
    pub(crate) fn direct(&self) -> &DirectConnector {
        &self.direct
    }

    /// The pool of exclusive connections (migrations, keyed creates, tests).
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(crate) fn statement_mode(&self) -> StatementMode {
        self.statements
    }

    /// A connection of its own, for a write that commits or a transaction.
    pub(crate) async fn exclusive(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(from_pool)
    }

    /// A connection for a statement that stands alone (autocommit): a
    /// shared one, or, when no connections are shared, one of the pool's.
    async fn standalone(&self) -> Result<Standalone, StoreError> {
        if self.shared.is_empty() {
            return self
                .exclusive()
                .await
                .map(|client| Standalone::Pooled(Box::new(client)));
        }
        self.shared.client().await.map(Standalone::Shared)
    }

    /// The owner whose subject is `subject`, made on first sight.
    pub(crate) async fn owner_of(&self, subject: &str) -> Result<Owner, StoreError> {
        let client = self.standalone().await?;
        let subject = [(&subject as _, Type::TEXT)];
        // The user is looked for, made if missing, and looked for again if
        // another request made it in between: `on conflict do nothing`
        // returns no row then.
        for statement in [SELECT_USER, INSERT_USER, SELECT_USER] {
            let rows = self
                .statements
                .query(&client, statement, &subject)
                .await
                .map_err(from_pg)?;
            if let Some(row) = rows.first() {
                return Ok(Owner::from_id(row.try_get(0).map_err(from_pg)?));
            }
        }
        Err(StoreError::internal(std::io::Error::other(
            "a user neither found nor made",
        )))
    }

    /// Inserts one todo: one statement, its own commit.
    pub(crate) async fn insert_one(&self, owner: Owner, todo: NewTodo) -> Result<Todo, StoreError> {
        let params = InsertParams::new(owner, todo);
        let client = self.standalone().await?;
        let rows = self
            .statements
            .query(&client, &INSERT, &params.as_typed())
            .await
            .map_err(from_pg)?;
        one_todo(&rows)
    }

    /// Inserts every todo, each for its owner, in one statement and one
    /// commit, with ids in input order.
    pub(crate) async fn insert_rows(
        &self,
        todos: impl IntoIterator<Item = (Owner, NewTodo)>,
    ) -> Result<Vec<Todo>, StoreError> {
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

    /// The todo `id` of `owner`.
    pub(crate) async fn select_one(&self, owner: Owner, id: i64) -> Result<Todo, StoreError> {
        let client = self.standalone().await?;
        let rows = self
            .statements
            .query(
                &client,
                &SELECT_ONE,
                &[(&id, Type::INT8), (&owner.id(), Type::INT8)],
            )
            .await
            .map_err(from_pg)?;
        match rows.first() {
            Some(row) => todo_from_row(row),
            None => Err(StoreError::NotFound(id)),
        }
    }

    /// The todos of the (owner, id) pairs that exist, each with its owner,
    /// in no order.
    pub(crate) async fn select_rows(
        &self,
        wanted: &[(Owner, i64)],
    ) -> Result<Vec<(Owner, Todo)>, StoreError> {
        let (owners, ids) = owner_and_id_arrays(wanted);
        let client = self.standalone().await?;
        let rows = self
            .statements
            .query(
                &client,
                &SELECT_MANY,
                &[(&ids, Type::INT8_ARRAY), (&owners, Type::INT8_ARRAY)],
            )
            .await
            .map_err(from_pg)?;
        rows.iter().map(owned_todo_from_row).collect()
    }

    /// Which of the (owner, id) pairs are todos, by id.
    pub(crate) async fn existing(
        &self,
        wanted: &[(Owner, i64)],
    ) -> Result<HashSet<i64>, StoreError> {
        let (owners, ids) = owner_and_id_arrays(wanted);
        let client = self.standalone().await?;
        let rows = self
            .statements
            .query(
                &client,
                EXISTING,
                &[(&ids, Type::INT8_ARRAY), (&owners, Type::INT8_ARRAY)],
            )
            .await
            .map_err(from_pg)?;
        ids_from_rows(&rows)
    }

    /// One update of `owner`'s todo, one statement, in autocommit, the
    /// version checked in the same step.
    pub(crate) async fn update_alone(
        &self,
        owner: Owner,
        id: i64,
        patch: TodoPatch,
        check: VersionCheck,
    ) -> Result<Todo, StoreError> {
        let client = self.exclusive().await?;
        let params = UpdateParams::new(owner, id, patch, check);
        let rows = self
            .statements
            .query(&client, &UPDATE, &params.as_typed())
            .await
            .map_err(from_pg)?;
        match rows.first() {
            Some(row) => todo_from_row(row),
            None => Err(self.missing_or_changed(&client, owner, id).await),
        }
    }

    /// Updates of distinct todos in one statement and one commit; returns
    /// the todos it changed (those whose version did not match are left
    /// out).
    pub(crate) async fn update_rows(
        &self,
        params: &UpdateManyParams,
    ) -> Result<Vec<Todo>, GroupedUpdateError> {
        let client = self.exclusive().await.map_err(GroupedUpdateError::Store)?;
        let rows = self
            .statements
            .query(&client, &UPDATE_MANY, &params.as_typed())
            .await
            .map_err(|error| match is_conflict(&error) {
                true => GroupedUpdateError::Conflict,
                false => GroupedUpdateError::Store(from_pg(error)),
            })?;
        todos_from_rows(&rows).map_err(GroupedUpdateError::Store)
    }

    /// Applies every patch to `owner`'s todos in one transaction, or none
    /// when any id is missing or another owner's (`NotFound` names the
    /// first such in input order).
    pub(crate) async fn update_all_or_none(
        &self,
        owner: Owner,
        patches: Vec<IdentifiedPatch>,
    ) -> Result<Vec<Todo>, StoreError> {
        let mut client = self.exclusive().await?;
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
                .query_in(
                    &transaction,
                    LOCK_MANY,
                    &[(&ids, Type::INT8_ARRAY), (&owner.id(), Type::INT8)],
                )
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
                UpdateParams::new(owner, id, patch, VersionCheck::new(None))
            })
            .collect();
        let bound: Vec<_> = params.iter().map(UpdateParams::as_typed).collect();
        // Polled together, the updates travel pipelined: about one round
        // trip for the whole bulk instead of one per todo.
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

    /// Deletes `owner`'s todo if it exists and its version passes `check`.
    pub(crate) async fn delete_one(
        &self,
        owner: Owner,
        id: i64,
        check: VersionCheck,
    ) -> Result<(), StoreError> {
        let client = self.exclusive().await?;
        let owner_id = owner.id();
        let params = [
            (&id as _, Type::INT8),
            (&check.any as _, Type::BOOL),
            (&check.versions as _, Type::INT8_ARRAY),
            (&owner_id as _, Type::INT8),
        ];
        let deleted = self
            .statements
            .execute(&client, DELETE, &params)
            .await
            .map_err(from_pg)?;
        if deleted == 0 {
            return Err(self.missing_or_changed(&client, owner, id).await);
        }
        Ok(())
    }

    /// Runs `owner`'s delete-by-filter statement; returns how many todos
    /// it removed. The owner's change log lock comes first, before the
    /// statement locks any row (ARCHITECTURE.md, "The change log").
    pub(crate) async fn delete_matching(
        &self,
        owner: Owner,
        statement: Statement,
    ) -> Result<u64, StoreError> {
        let mut client = self.exclusive().await?;
        let transaction = client.transaction().await.map_err(from_pg)?;
        self.statements
            .query_in(&transaction, LOCK_CHANGE_LOG, &[(&owner.id(), Type::INT8)])
            .await
            .map_err(from_pg)?;
        let params: Vec<_> = statement.params.into_iter().map(bind).collect();
        let deleted = self
            .statements
            .execute_in(&transaction, &statement.sql, &as_typed(&params))
            .await
            .map_err(from_pg)?;
        transaction.commit().await.map_err(from_pg)?;
        Ok(deleted)
    }

    /// Runs `ANALYZE todos` when the rows counted in `changed` are at
    /// least `share` of the table's rows as PostgreSQL last counted them
    /// (a table never analyzed counts none); the count starts again then.
    pub(crate) async fn analyze_if_changed(
        &self,
        changed: &AtomicU64,
        share: f64,
    ) -> Result<bool, StoreError> {
        let client = self.exclusive().await?;
        let row = client.query_one(TABLE_ROWS, &[]).await.map_err(from_pg)?;
        let rows: f64 = row.get(0);
        let counted = changed.load(Ordering::Relaxed);
        if (counted as f64) < share * rows {
            return Ok(false);
        }
        changed.fetch_sub(counted, Ordering::Relaxed);
        client
            .batch_execute("analyze todos")
            .await
            .map_err(from_pg)?;
        Ok(true)
    }

    /// Sends a notification to every session listening on `channel`.
    pub(crate) async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        let client = self.exclusive().await?;
        self.statements
            .query(
                &client,
                NOTIFY,
                &[(&channel, Type::TEXT), (&payload, Type::TEXT)],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    /// Succeeds when the database answers. A shared connection, so a busy
    /// pool does not make the service look unready.
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        let client = self.standalone().await?;
        client.simple_query(PING).await.map_err(from_pg)?;
        Ok(())
    }

    /// After a conditional write changed nothing: was `owner`'s todo
    /// missing (or another owner's, which is the same to the caller), or
    /// its version not the expected one?
    async fn missing_or_changed(
        &self,
        client: &ClientWrapper,
        owner: Owner,
        id: i64,
    ) -> StoreError {
        let exists = self
            .statements
            .query(
                client,
                EXISTS,
                &[(&id, Type::INT8), (&owner.id(), Type::INT8)],
            )
            .await;
        match exists {
            Ok(rows) if !rows.is_empty() => StoreError::PreconditionFailed,
            Ok(_) => StoreError::NotFound(id),
            Err(error) => from_pg(error),
        }
    }

    /// Closes both pools: later calls fail as unavailable.
    pub(crate) fn close(&self) {
        self.pool.close();
        self.shared.release();
    }

    /// Both kinds of connection together: a shared connection is in use
    /// while some request is using it.
    pub(crate) fn status(&self) -> PoolStatus {
        let exclusive = self.pool.status();
        let exclusive_in_use = exclusive.size.saturating_sub(exclusive.available);
        if self.shared.is_empty() {
            return PoolStatus {
                max_size: exclusive.max_size,
                size: exclusive.size,
                idle: exclusive.available,
                in_use: exclusive_in_use,
                waiting: exclusive.waiting,
            };
        }
        let (shared_open, shared_in_use) = self.shared.figures();
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
}

/// The owners and the ids of (owner, id) pairs, as two arrays.
fn owner_and_id_arrays(pairs: &[(Owner, i64)]) -> (Vec<i64>, Vec<i64>) {
    pairs.iter().map(|(owner, id)| (owner.id(), *id)).unzip()
}

/// The todo of a statement that returns exactly one.
fn one_todo(rows: &[Row]) -> Result<Todo, StoreError> {
    let row = rows.first().ok_or_else(|| {
        StoreError::internal(std::io::Error::other("a statement returned no row"))
    })?;
    todo_from_row(row)
}
