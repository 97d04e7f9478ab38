//! Keyed creates (API.md, "Idempotency") on the writer thread: the todos,
//! the key and the stored response in one transaction. The one writer
//! serialises copies of a request; the store's in-flight set tells a copy
//! that arrives while the first is still queued or running.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension, named_params};
use todo_core::{
    Created, Creation, IdempotencyKey, KeyedOutcome, Owner, StoreError, StoredResponse,
};

use crate::change_numbers;
use crate::error::Failure;
use crate::queries::{insert, insert_all, now, write_transaction};
use crate::statements::INSERT;

/// The status a keyed create answers and stores.
const CREATED: u16 = 201;

const SELECT_KEY: &str = r"
select fingerprint, status, body
from idempotency_keys
where owner = :owner and scope = :scope and key = :key
";

const INSERT_KEY: &str = r"
insert into idempotency_keys (owner, scope, key, fingerprint, status, body, created_at)
values (:owner, :scope, :key, :fingerprint, :status, :body, :now)
";

/// Deletes at most one batch of keys first used before `:cutoff`.
const PURGE_KEYS: &str = r"
delete from idempotency_keys
where (owner, scope, key) in (
    select owner, scope, key
    from idempotency_keys
    where created_at < :cutoff
    limit :batch
)
";

/// Keys deleted per purge transaction, so the writer is never held long.
pub(crate) const PURGE_BATCH: usize = 1000;

pub(crate) fn create_keyed(
    connection: &mut Connection,
    owner: Owner,
    key: &IdempotencyKey,
    creation: Creation,
) -> Result<KeyedOutcome, Failure> {
    let transaction = write_transaction(connection)?;
    let stored = transaction
        .prepare_cached(SELECT_KEY)?
        .query_row(
            named_params! {":owner": owner.id(), ":scope": key.scope, ":key": key.key},
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, u16>(1)?,
                    row.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    if let Some((fingerprint, status, body)) = stored {
        if fingerprint != key.fingerprint {
            return Err(StoreError::IdempotencyKeyReused.into());
        }
        return Ok(KeyedOutcome::Replayed(StoredResponse { status, body }));
    }
    let now = now();
    let created = match creation {
        Creation::One(todo) => {
            let change_no = change_numbers::take(&transaction, 1)?;
            let mut statement = transaction.prepare_cached(&INSERT)?;
            Created::One(insert(&mut statement, owner, todo, now, change_no)?)
        }
        Creation::Many(todos) => Created::Many(insert_all(&transaction, owner, todos, now)?),
    };
    transaction
        .prepare_cached(INSERT_KEY)?
        .execute(named_params! {
            ":owner": owner.id(),
            ":scope": key.scope,
            ":key": key.key,
            ":fingerprint": key.fingerprint,
            ":status": CREATED,
            ":body": created.body(),
            ":now": now,
        })?;
    transaction.commit()?;
    Ok(KeyedOutcome::Created(created))
}

/// Deletes one batch of keys first used before `cutoff` (microseconds);
/// returns how many.
pub(crate) fn purge_batch(connection: &mut Connection, cutoff: i64) -> Result<usize, Failure> {
    let transaction = write_transaction(connection)?;
    let deleted = transaction
        .prepare_cached(PURGE_KEYS)?
        .execute(named_params! {":cutoff": cutoff, ":batch": PURGE_BATCH as i64})?;
    transaction.commit()?;
    Ok(deleted)
}

/// The keys of keyed creates under way in this process.
#[derive(Debug, Default, Clone)]
pub(crate) struct InFlight(Arc<Mutex<HashSet<(Owner, String, String)>>>);

/// Holds a key as in flight until dropped.
#[derive(Debug)]
pub(crate) struct InFlightGuard {
    set: InFlight,
    entry: (Owner, String, String),
}

impl InFlight {
    /// Marks `owner`'s `key` in flight, unless it already is.
    pub(crate) fn claim(&self, owner: Owner, key: &IdempotencyKey) -> Option<InFlightGuard> {
        let entry = (owner, key.scope.clone(), key.key.clone());
        let inserted = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(entry.clone());
        inserted.then(|| InFlightGuard {
            set: self.clone(),
            entry,
        })
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.set
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.entry);
    }
}
