//! Keyed creates (API.md, "Idempotency"): the todos, the key and the stored
//! response in one transaction, with a transaction-scoped advisory lock on
//! the key so a copy racing a request in flight is told so at once, on
//! whichever instance it arrives.

use deadpool_postgres::Transaction;
use todo_core::{
    Created, Creation, IdempotencyKey, KeyedOutcome, StoreError, StoredResponse, Timestamp,
};

use crate::error::from_pg;
use crate::params::{InsertManyParams, InsertParams};
use crate::row::{todo_from_row, todos_from_rows};
use crate::sql::{
    INSERT, INSERT_KEY, INSERT_MANY, PURGE_BATCH, PURGE_KEYS, SELECT_KEY, TRY_LOCK_KEY,
};
use crate::store::PgStore;

/// The status a keyed create answers and stores.
const CREATED: i16 = 201;

impl PgStore {
    pub(crate) async fn create_keyed_in_transaction(
        &self,
        key: &IdempotencyKey,
        creation: Creation,
    ) -> Result<KeyedOutcome, StoreError> {
        let mut client = self.pool().get().await.map_err(crate::error::from_pool)?;
        let transaction = client.transaction().await.map_err(from_pg)?;
        let lock = transaction
            .prepare_cached(TRY_LOCK_KEY)
            .await
            .map_err(from_pg)?;
        let locked: bool = transaction
            .query_one(&lock, &[&key.scope, &key.key])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(from_pg)?;
        if !locked {
            return Err(StoreError::IdempotencyKeyInFlight);
        }
        let select = transaction
            .prepare_cached(SELECT_KEY)
            .await
            .map_err(from_pg)?;
        if let Some(row) = transaction
            .query_opt(&select, &[&key.scope, &key.key])
            .await
            .map_err(from_pg)?
        {
            let fingerprint: String = row.try_get(0).map_err(from_pg)?;
            if fingerprint != key.fingerprint {
                return Err(StoreError::IdempotencyKeyReused);
            }
            let status: i16 = row.try_get(1).map_err(from_pg)?;
            let body: String = row.try_get(2).map_err(from_pg)?;
            return Ok(KeyedOutcome::Replayed(StoredResponse {
                status: u16::try_from(status).unwrap_or(201),
                body,
            }));
        }
        let created = insert(&transaction, creation).await?;
        let insert_key = transaction
            .prepare_cached(INSERT_KEY)
            .await
            .map_err(from_pg)?;
        transaction
            .execute(
                &insert_key,
                &[
                    &key.scope,
                    &key.key,
                    &key.fingerprint,
                    &CREATED,
                    &created.body(),
                ],
            )
            .await
            .map_err(from_pg)?;
        transaction.commit().await.map_err(from_pg)?;
        Ok(KeyedOutcome::Created(created))
    }

    pub(crate) async fn purge_keys_in_batches(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let mut purged = 0;
        loop {
            // A connection per batch, so a long purge never holds one while
            // requests wait for it.
            let client = self.pool().get().await.map_err(crate::error::from_pool)?;
            let statement = client.prepare_cached(PURGE_KEYS).await.map_err(from_pg)?;
            let deleted = client
                .execute(&statement, &[&cutoff])
                .await
                .map_err(from_pg)?;
            purged += deleted;
            if deleted < PURGE_BATCH {
                return Ok(purged);
            }
        }
    }
}

async fn insert(transaction: &Transaction<'_>, creation: Creation) -> Result<Created, StoreError> {
    match creation {
        Creation::One(todo) => {
            let statement = transaction.prepare_cached(&INSERT).await.map_err(from_pg)?;
            let params = InsertParams::new(todo);
            let row = transaction
                .query_one(&statement, &params.as_refs())
                .await
                .map_err(from_pg)?;
            Ok(Created::One(todo_from_row(&row)?))
        }
        Creation::Many(todos) => {
            let statement = transaction
                .prepare_cached(&INSERT_MANY)
                .await
                .map_err(from_pg)?;
            let params = InsertManyParams::new(todos);
            let rows = transaction
                .query(&statement, &params.as_refs())
                .await
                .map_err(from_pg)?;
            let mut created = todos_from_rows(&rows)?;
            created.sort_by_key(|todo| todo.id);
            Ok(Created::Many(created))
        }
    }
}
