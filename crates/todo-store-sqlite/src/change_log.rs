//! Reading and purging the change log (API.md, "Changes"). The triggers of
//! `migrations/V4__change_log.sql` write it with every change, numbered by
//! one counter under SQLite's single writer, so numbers follow the commit
//! order; a reader reads in one transaction, which sees one committed
//! state of the file (ARCHITECTURE.md, "The change log").

use rusqlite::{Connection, OptionalExtension, named_params};
use todo_core::{ChangeCursor, ChangePage, Owner, StoreError, Todo};
use todo_listing_sql::TODO_COLUMNS;

use crate::error::Failure;
use crate::queries::write_transaction;
use crate::row::todo_from_row;

/// The size of one purge batch.
pub(crate) const PURGE_BATCH: usize = 1000;

const HEAD: &str = r"
select coalesce((select purged_through from change_log_horizons where owner = :owner), 0),
       coalesce((select max(change_no) from todo_tombstones where owner = :owner), 0),
       coalesce((select max(change_no) from todos where owner = :owner), 0)
";

const HORIZON: &str = "select purged_through from change_log_horizons where owner = :owner";

const DELETES_AFTER: &str = r"
select change_no, id
from todo_tombstones
where owner = :owner and change_no > :after
order by change_no
limit :rows
";

/// Moves each owner's horizon past the tombstones of the batch about to be
/// purged (the same rows as [`PURGE`] removes, in the same transaction).
const ADVANCE_HORIZONS: &str = r"
insert into change_log_horizons (owner, purged_through)
select owner, max(change_no)
from (
    select owner, change_no
    from todo_tombstones
    where deleted_at < :cutoff
    order by deleted_at, owner, change_no
    limit :batch
)
group by owner
on conflict (owner) do update
set purged_through = max(purged_through, excluded.purged_through)
";

const PURGE: &str = r"
delete from todo_tombstones
where (owner, change_no) in (
    select owner, change_no
    from todo_tombstones
    where deleted_at < :cutoff
    order by deleted_at, owner, change_no
    limit :batch
)
";

/// Where a log stands: the newest purged change, the newest delete and the
/// newest upsert (0 for none).
fn head(connection: &Connection, owner: Owner) -> rusqlite::Result<(i64, i64, i64)> {
    connection
        .prepare_cached(HEAD)?
        .query_row(named_params! {":owner": owner.id()}, |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
}

/// A page of `owner`'s log after `since` (from the start when `None`).
pub(crate) fn changes(
    connection: &mut Connection,
    owner: Owner,
    since: Option<ChangeCursor>,
    limit: u16,
) -> Result<ChangePage, Failure> {
    // One read transaction: every statement sees the same committed state.
    let transaction = connection.transaction()?;
    let from = match since {
        Some(cursor) => cursor,
        // A copy made from scratch needs no delete made before it began.
        None => {
            let (purged_through, last_delete, _) = head(&transaction, owner)?;
            ChangeCursor {
                upserts_seen: 0,
                deletes_seen: last_delete.max(purged_through),
            }
        }
    };
    if since.is_some() {
        let purged_through: Option<i64> = transaction
            .prepare_cached(HORIZON)?
            .query_row(named_params! {":owner": owner.id()}, |row| row.get(0))
            .optional()?;
        if purged_through.is_some_and(|purged| purged > from.deletes_seen) {
            return Err(Failure::Store(StoreError::ChangesExpired));
        }
    }
    let rows = i64::from(limit) + 1;
    let upserts = transaction
        .prepare_cached(&format!(
            "select {TODO_COLUMNS}, change_no from todos \
             where owner = :owner and change_no > :after order by change_no limit :rows"
        ))?
        .query_map(
            named_params! {":owner": owner.id(), ":after": from.upserts_seen, ":rows": rows},
            |row| Ok((row.get(9)?, todo_from_row(row)?)),
        )?
        .collect::<rusqlite::Result<Vec<(i64, Todo)>>>()?;
    let deletes = transaction
        .prepare_cached(DELETES_AFTER)?
        .query_map(
            named_params! {":owner": owner.id(), ":after": from.deletes_seen, ":rows": rows},
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?
        .collect::<rusqlite::Result<Vec<(i64, i64)>>>()?;
    transaction.commit()?;
    Ok(ChangePage::merge(from, upserts, deletes, limit))
}

/// The position after every change of `owner` committed so far.
pub(crate) fn change_head(
    connection: &mut Connection,
    owner: Owner,
) -> Result<ChangeCursor, Failure> {
    let (purged_through, last_delete, last_upsert) = head(connection, owner)?;
    let newest = last_delete.max(last_upsert);
    Ok(ChangeCursor {
        upserts_seen: newest,
        deletes_seen: newest.max(purged_through),
    })
}

/// Purges one batch of tombstones of deletes before `cutoff`
/// (microseconds); returns how many.
pub(crate) fn purge_batch(connection: &mut Connection, cutoff: i64) -> Result<usize, Failure> {
    let transaction = write_transaction(connection)?;
    let batch = named_params! {":cutoff": cutoff, ":batch": PURGE_BATCH as i64};
    transaction
        .prepare_cached(ADVANCE_HORIZONS)?
        .execute(batch)?;
    let purged = transaction.prepare_cached(PURGE)?.execute(batch)?;
    transaction.commit()?;
    Ok(purged)
}
