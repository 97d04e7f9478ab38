//! The change log's numbers, as the writer hands them out.
//!
//! In a group commit the numbers come from memory: the counter row is read
//! once, at the group's first write, and written back once, before the
//! group commits, in the same transaction. Moving the counter row for every
//! write, by trigger or by statement, cost a create about a fifth of its
//! time (ARCHITECTURE.md, "The change log"). Outside a group (an operation
//! in a transaction of its own) each operation moves the counter row with
//! one statement.
//!
//! Why the numbers stay in commit order: the writer is the only writer
//! while its transaction holds the file's write lock, so the counter row
//! read at the group's start is the latest; numbers are handed out
//! increasing; the new last number is written back before the commit, so
//! the next transaction, of this writer or of another program, starts above
//! it. A delete numbers its tombstones in a trigger, from the counter row,
//! so the numbers held in memory are written back before any delete
//! ([`hand_over_to_row`]) and the row read again after it. A number handed to a write
//! that then fails is never used, which readers cannot tell from a number
//! never taken.
//!
//! The state is the writer thread's own (a thread-local): the jobs of a
//! group run one after the other on that thread, between [`begin_group`]
//! and [`end_group`].

use std::cell::Cell;

use rusqlite::{Connection, named_params};

use crate::statements::{SET_LAST_CHANGE_NUMBER, TAKE_CHANGE_NUMBERS};

/// Where the writer thread stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Numbers {
    /// Not in a group: every operation moves the counter row itself.
    Ungrouped,
    /// In a group, the next number comes from the counter row (first use,
    /// or after a delete moved it), and is above `floor`, the last handed
    /// out before, whatever a rolled-back savepoint did to the row.
    Row { floor: i64 },
    /// In a group: `last` handed out so far; `written` whether the counter
    /// row already holds it.
    Held { last: i64, written: bool },
}

thread_local! {
    static NUMBERS: Cell<Numbers> = const { Cell::new(Numbers::Ungrouped) };
}

/// A group's transaction has begun on this thread.
pub(crate) fn begin_group() {
    NUMBERS.set(Numbers::Row { floor: 0 });
}

/// The group's transaction has ended (committed or not): what was held in
/// memory is forgotten.
pub(crate) fn end_group() {
    NUMBERS.set(Numbers::Ungrouped);
}

/// Takes `count` numbers for the writes of one operation; answers the
/// first (the block is `first .. first + count`).
pub(crate) fn take(connection: &Connection, count: usize) -> rusqlite::Result<i64> {
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let last = match NUMBERS.get() {
        Numbers::Ungrouped => return take_from_row(connection, count),
        Numbers::Row { floor } => read_last(connection)?.max(floor),
        Numbers::Held { last, .. } => last,
    };
    NUMBERS.set(Numbers::Held {
        last: last + count,
        written: false,
    });
    Ok(last + 1)
}

/// Writes the numbers held in memory back to the counter row, in the
/// group's transaction, before it commits.
pub(crate) fn write_back(connection: &Connection) -> rusqlite::Result<()> {
    if let Numbers::Held {
        last,
        written: false,
    } = NUMBERS.get()
    {
        connection
            .prepare_cached(SET_LAST_CHANGE_NUMBER)?
            .execute(named_params! { ":last": last })?;
        NUMBERS.set(Numbers::Held {
            last,
            written: true,
        });
    }
    Ok(())
}

/// Before a statement that numbers from the counter row itself (a delete's
/// trigger): the row gets what memory holds, and is read again afterwards.
pub(crate) fn hand_over_to_row(connection: &Connection) -> rusqlite::Result<()> {
    write_back(connection)?;
    if let Numbers::Held { last, .. } = NUMBERS.get() {
        NUMBERS.set(Numbers::Row { floor: last });
    }
    Ok(())
}

fn read_last(connection: &Connection) -> rusqlite::Result<i64> {
    connection.query_row("select last from change_counter", [], |row| row.get(0))
}

fn take_from_row(connection: &Connection, count: i64) -> rusqlite::Result<i64> {
    let last: i64 = connection
        .prepare_cached(TAKE_CHANGE_NUMBERS)?
        .query_row(named_params! { ":count": count }, |row| row.get(0))?;
    Ok(last - count + 1)
}
