//! Reading and purging the change log (API.md, "Changes"). The triggers of
//! `migrations/V4__change_log.sql` write it with every change; a reader
//! reads with its owner's change log lock held in exclusive mode, so no
//! change numbered below one it sees can still be uncommitted
//! (ARCHITECTURE.md, "The change log").

use deadpool_postgres::Transaction;
use todo_core::{ChangeCursor, ChangePage, Owner, StoreError, Timestamp, Todo};
use tokio_postgres::types::Type;

use crate::db::Db;
use crate::error::from_pg;
use crate::row::todo_from_row;
use crate::statements::{
    CHANGE_HEAD, CHANGE_HORIZON, DELETES_AFTER, LOCK_CHANGE_LOG_TO_READ, PURGE_BATCH,
    PURGE_TOMBSTONES, UPSERTS_AFTER,
};

/// Where a log stands, as [`CHANGE_HEAD`] reads it.
struct Head {
    purged_through: i64,
    last_delete: i64,
    last_upsert: i64,
}

/// A page of `owner`'s log after `since` (from the start when `None`).
/// The lock and the reads travel pipelined: the server runs them in order,
/// so the reads' snapshots are taken once the lock is granted.
pub(crate) async fn read_changes(
    db: &Db,
    owner: Owner,
    since: Option<ChangeCursor>,
    limit: u16,
) -> Result<ChangePage, StoreError> {
    let mut client = db.exclusive().await?;
    let transaction = client.transaction().await.map_err(from_pg)?;
    let statements = db.statement_mode();
    let owner_param = [(&owner.id() as _, Type::INT8)];
    let from = match since {
        Some(cursor) => cursor,
        // A copy made from scratch needs no delete made before it began.
        None => {
            let ((), head) = futures::try_join!(
                lock_to_read(db, &transaction, owner),
                head(db, &transaction, owner)
            )?;
            ChangeCursor {
                upserts_seen: 0,
                deletes_seen: head.last_delete.max(head.purged_through),
            }
        }
    };
    let rows = i64::from(limit) + 1;
    let upsert_params = [
        (&owner.id() as _, Type::INT8),
        (&from.upserts_seen as _, Type::INT8),
        (&rows as _, Type::INT8),
    ];
    let delete_params = [
        (&owner.id() as _, Type::INT8),
        (&from.deletes_seen as _, Type::INT8),
        (&rows as _, Type::INT8),
    ];
    let read = async {
        futures::try_join!(
            statements.query_in(&transaction, &UPSERTS_AFTER, &upsert_params),
            statements.query_in(&transaction, DELETES_AFTER, &delete_params),
            // After the page: a purge that committed before the page was
            // read shows here, so a delete missing from the page is noticed.
            statements.query_in(&transaction, CHANGE_HORIZON, &owner_param),
        )
        .map_err(from_pg)
    };
    let (upserts, deletes, horizon) = if since.is_some() {
        let ((), read) = futures::try_join!(lock_to_read(db, &transaction, owner), read)?;
        read
    } else {
        read.await?
    };
    if since.is_some()
        && let Some(row) = horizon.first()
    {
        let purged_through: i64 = row.try_get(0).map_err(from_pg)?;
        if purged_through > from.deletes_seen {
            // Ended now, not when the dropped transaction's rollback
            // gets its turn: the reader's lock holds the owner's writes.
            transaction.rollback().await.map_err(from_pg)?;
            return Err(StoreError::ChangesExpired);
        }
    }
    transaction.commit().await.map_err(from_pg)?;
    let upserts = upserts
        .iter()
        .map(|row| Ok((row.try_get(9).map_err(from_pg)?, todo_from_row(row)?)))
        .collect::<Result<Vec<(i64, Todo)>, StoreError>>()?;
    let deletes = deletes
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<Vec<(i64, i64)>, tokio_postgres::Error>>()
        .map_err(from_pg)?;
    Ok(ChangePage::merge(from, upserts, deletes, limit))
}

/// The position after every change of `owner` committed so far.
pub(crate) async fn change_head(db: &Db, owner: Owner) -> Result<ChangeCursor, StoreError> {
    let mut client = db.exclusive().await?;
    let transaction = client.transaction().await.map_err(from_pg)?;
    let ((), head) = futures::try_join!(
        lock_to_read(db, &transaction, owner),
        head(db, &transaction, owner)
    )?;
    transaction.commit().await.map_err(from_pg)?;
    let newest = head.last_delete.max(head.last_upsert);
    Ok(ChangeCursor {
        upserts_seen: newest,
        deletes_seen: newest.max(head.purged_through),
    })
}

/// Removes the tombstones of deletes before `cutoff`, a batch at a time.
pub(crate) async fn purge_tombstones(db: &Db, cutoff: Timestamp) -> Result<u64, StoreError> {
    let mut purged = 0;
    loop {
        // A connection per batch, so a long purge never holds one while
        // requests wait for it.
        let client = db.exclusive().await?;
        let rows = db
            .statement_mode()
            .query(&client, PURGE_TOMBSTONES, &[(&cutoff, Type::TIMESTAMPTZ)])
            .await
            .map_err(from_pg)?;
        let removed: i64 = match rows.first() {
            Some(row) => row.try_get(0).map_err(from_pg)?,
            None => 0,
        };
        let removed = removed.unsigned_abs();
        purged += removed;
        if removed < PURGE_BATCH {
            return Ok(purged);
        }
    }
}

/// Waits until no writer of `owner` is between taking a change number and
/// committing, and keeps new ones waiting until `transaction` ends.
async fn lock_to_read(
    db: &Db,
    transaction: &Transaction<'_>,
    owner: Owner,
) -> Result<(), StoreError> {
    db.statement_mode()
        .query_in(
            transaction,
            LOCK_CHANGE_LOG_TO_READ,
            &[(&owner.id(), Type::INT8)],
        )
        .await
        .map_err(from_pg)?;
    Ok(())
}

async fn head(db: &Db, transaction: &Transaction<'_>, owner: Owner) -> Result<Head, StoreError> {
    let rows = db
        .statement_mode()
        .query_in(transaction, CHANGE_HEAD, &[(&owner.id(), Type::INT8)])
        .await
        .map_err(from_pg)?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::internal(std::io::Error::other("no head of the log")))?;
    Ok(Head {
        purged_through: row.try_get(0).map_err(from_pg)?,
        last_delete: row.try_get(1).map_err(from_pg)?,
        last_upsert: row.try_get(2).map_err(from_pg)?,
    })
}
