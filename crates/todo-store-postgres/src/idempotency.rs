//! Keyed creates (API.md, "Idempotency"): the todos, the key and the stored
//! response in one transaction, with a transaction-scoped advisory lock on
//! the key so a copy racing a request in flight is told so at once, on
//! whichever instance it arrives.

use deadpool_postgres::Transaction;
use todo_core::{
    Created, Creation, IdempotencyKey, KeyedOutcome, Owner, StoreError, StoredResponse, Timestamp,
};
use tokio_postgres::types::Type;

use crate::db::Db;
use crate::error::from_pg;
use crate::params::{InsertManyParams, InsertParams};
use crate::row::{todo_from_row, todos_from_rows};
use crate::statement_mode::StatementMode;
use crate::statements::{
    INSERT, INSERT_KEY, INSERT_MANY, PURGE_BATCH, PURGE_KEYS, SELECT_KEY, TRY_LOCK_KEY,
};

/// The status a keyed create answers and stores.
const CREATED: i16 = 201;

/// Creates for `owner` under `key`: the todos, the key and the stored
/// response in one transaction (the contract of
/// [`todo_core::TodoStore::create_keyed`]).
pub(crate) async fn create_keyed(
    db: &Db,
    owner: Owner,
    key: &IdempotencyKey,
    creation: Creation,
) -> Result<KeyedOutcome, StoreError> {
    let statements = db.statement_mode();
    let mut client = db.exclusive().await?;
    let transaction = client.transaction().await.map_err(from_pg)?;
    let owner_id = owner.id();
    let key_params = [
        (&key.scope as _, Type::TEXT),
        (&key.key as _, Type::TEXT),
        (&owner_id as _, Type::INT8),
    ];
    let locked: bool = statements
        .query_in(&transaction, TRY_LOCK_KEY, &key_params)
        .await
        .map_err(from_pg)?
        .first()
        .map(|row| row.try_get(0))
        .transpose()
        .map_err(from_pg)?
        .unwrap_or(false);
    if !locked {
        return Err(StoreError::IdempotencyKeyInFlight);
    }
    let stored = statements
        .query_in(&transaction, SELECT_KEY, &key_params)
        .await
        .map_err(from_pg)?;
    if let Some(row) = stored.first() {
        let fingerprint: String = row.try_get(0).map_err(from_pg)?;
        let status: i16 = row.try_get(1).map_err(from_pg)?;
        let body: String = row.try_get(2).map_err(from_pg)?;
        // Ended before answering: a transaction merely dropped is rolled
        // back a moment later, and until then it holds the key's lock, so
        // a retry right after this answer would be told "in flight".
        transaction.rollback().await.map_err(from_pg)?;
        if fingerprint != key.fingerprint {
            return Err(StoreError::IdempotencyKeyReused);
        }
        return Ok(KeyedOutcome::Replayed(StoredResponse {
            status: u16::try_from(status).unwrap_or(201),
            body,
        }));
    }
    let created = insert(statements, &transaction, owner, creation).await?;
    let body = created.body();
    statements
        .execute_in(
            &transaction,
            INSERT_KEY,
            &[
                (&key.scope, Type::TEXT),
                (&key.key, Type::TEXT),
                (&owner_id, Type::INT8),
                (&key.fingerprint, Type::TEXT),
                (&CREATED, Type::INT2),
                (&body, Type::TEXT),
            ],
        )
        .await
        .map_err(from_pg)?;
    transaction.commit().await.map_err(from_pg)?;
    Ok(KeyedOutcome::Created(created))
}

/// Removes the keys first used before `cutoff`, a batch at a time.
pub(crate) async fn purge_keys(db: &Db, cutoff: Timestamp) -> Result<u64, StoreError> {
    let mut purged = 0;
    loop {
        // A connection per batch, so a long purge never holds one while
        // requests wait for it.
        let client = db.exclusive().await?;
        let deleted = db
            .statement_mode()
            .execute(&client, PURGE_KEYS, &[(&cutoff, Type::TIMESTAMPTZ)])
            .await
            .map_err(from_pg)?;
        purged += deleted;
        if deleted < PURGE_BATCH {
            return Ok(purged);
        }
    }
}

async fn insert(
    statements: StatementMode,
    transaction: &Transaction<'_>,
    owner: Owner,
    creation: Creation,
) -> Result<Created, StoreError> {
    match creation {
        Creation::One(todo) => {
            let params = InsertParams::new(owner, todo);
            let rows = statements
                .query_in(transaction, &INSERT, &params.as_typed())
                .await
                .map_err(from_pg)?;
            let row = rows.first().ok_or_else(|| {
                StoreError::internal(std::io::Error::other("an insert returned no row"))
            })?;
            Ok(Created::One(todo_from_row(row)?))
        }
        Creation::Many(todos) => {
            let params = InsertManyParams::new(todos.into_iter().map(|todo| (owner, todo)));
            let rows = statements
                .query_in(transaction, &INSERT_MANY, &params.as_typed())
                .await
                .map_err(from_pg)?;
            let mut created = todos_from_rows(&rows)?;
            created.sort_by_key(|todo| todo.id);
            Ok(Created::Many(created))
        }
    }
}
