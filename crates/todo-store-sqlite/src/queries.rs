//! The store's operations as plain functions on one connection. The store
//! runs the writing ones on its writer thread and the reading ones on a
//! reader thread; each is one transaction (or one statement).

use std::ops::Deref;

use rusqlite::{
    CachedStatement, Connection, OptionalExtension, Savepoint, Transaction, TransactionBehavior,
    named_params, params_from_iter,
};
use todo_core::{
    Description, Expected, IdentifiedPatch, ListQuery, NewTodo, Owner, Page, StoreError, Todo,
    TodoFilter, TodoPatch,
};
use todo_listing_sql::{Dialect, delete_matching_statement, list_statement};

use crate::change_numbers;
use crate::error::Failure;
use crate::row::{micros, sql_value, todo_from_row};
use crate::statements::{DELETE, GET, INSERT, INSERT_USER, SELECT_USER, UPDATE, VERSION};

type Outcome<T> = Result<T, Failure>;

/// Where one operation's writes go: its own transaction, or, when the
/// writer runs it in a group commit, a savepoint of the group's transaction,
/// so that a failing operation still undoes exactly its own writes; or, for
/// an operation of one statement in a group, the group's transaction as it
/// is: a statement that fails undoes its own writes.
pub(crate) enum WriteScope<'c> {
    Own(Transaction<'c>),
    Grouped(Savepoint<'c>),
    Statement(&'c Connection),
}

impl Deref for WriteScope<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            WriteScope::Own(transaction) => transaction,
            WriteScope::Grouped(savepoint) => savepoint,
            WriteScope::Statement(connection) => connection,
        }
    }
}

impl WriteScope<'_> {
    /// Keeps the writes: commits the own transaction, or releases the
    /// savepoint (the group's commit makes them durable).
    pub(crate) fn commit(self) -> rusqlite::Result<()> {
        match self {
            WriteScope::Own(transaction) => transaction.commit(),
            WriteScope::Grouped(savepoint) => savepoint.commit(),
            WriteScope::Statement(_) => Ok(()),
        }
    }
}

/// Opens the scope of one write operation. An own transaction is
/// `immediate`: it takes the file's write lock at once, so a lock held by
/// another process is waited for (busy timeout) at the start instead of
/// failing midway when a read would turn into a write.
pub(crate) fn write_transaction(connection: &mut Connection) -> rusqlite::Result<WriteScope<'_>> {
    if connection.is_autocommit() {
        connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map(WriteScope::Own)
    } else {
        connection.savepoint().map(WriteScope::Grouped)
    }
}

/// Opens the scope of an operation that writes with a single statement
/// (any others only read): in a group, it saves a savepoint's two
/// statements and its copies of the pages the statement changes.
pub(crate) fn statement_scope(connection: &mut Connection) -> rusqlite::Result<WriteScope<'_>> {
    if connection.is_autocommit() {
        write_transaction(connection)
    } else {
        Ok(WriteScope::Statement(connection))
    }
}

/// The owner whose subject is `subject`, made on first sight. On the
/// writer, so no other request can make it in between.
pub(crate) fn owner_of(connection: &mut Connection, subject: &str) -> Outcome<Owner> {
    let found: Option<i64> = connection
        .prepare_cached(SELECT_USER)?
        .query_row(named_params! { ":subject": subject }, |row| row.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(Owner::from_id(id));
    }
    let transaction = statement_scope(connection)?;
    let id: i64 = transaction.prepare_cached(INSERT_USER)?.query_row(
        named_params! { ":subject": subject, ":now": now() },
        |row| row.get(0),
    )?;
    transaction.commit()?;
    Ok(Owner::from_id(id))
}

pub(crate) fn create(connection: &mut Connection, owner: Owner, todo: NewTodo) -> Outcome<Todo> {
    // No savepoint in a group: a failed insert leaves only an unused
    // number behind.
    let transaction = statement_scope(connection)?;
    let change_no = change_numbers::take(&transaction, 1)?;
    let created = insert(
        &mut transaction.prepare_cached(&INSERT)?,
        owner,
        todo,
        now(),
        change_no,
    )?;
    transaction.commit()?;
    Ok(created)
}

pub(crate) fn create_many(
    connection: &mut Connection,
    owner: Owner,
    todos: Vec<NewTodo>,
) -> Outcome<Vec<Todo>> {
    let transaction = write_transaction(connection)?;
    // One time for the whole batch: it is created at one moment.
    let now = now();
    let created = insert_all(&transaction, owner, todos, now)?;
    transaction.commit()?;
    Ok(created)
}

/// Inserts `todos` in input order (so their ids increase in input order),
/// numbered with one block of the change log's numbers.
pub(crate) fn insert_all(
    connection: &Connection,
    owner: Owner,
    todos: Vec<NewTodo>,
    now: i64,
) -> rusqlite::Result<Vec<Todo>> {
    let first = change_numbers::take(connection, todos.len())?;
    let mut statement = connection.prepare_cached(&INSERT)?;
    todos
        .into_iter()
        .zip(first..)
        .map(|(todo, change_no)| insert(&mut statement, owner, todo, now, change_no))
        .collect()
}

pub(crate) fn insert(
    statement: &mut CachedStatement<'_>,
    owner: Owner,
    todo: NewTodo,
    now: i64,
    change_no: i64,
) -> rusqlite::Result<Todo> {
    statement.query_row(
        named_params! {
            ":title": todo.title.as_str(),
            ":title_search": todo.title.search_key(),
            ":description": todo.description.as_ref().map(Description::as_str),
            ":priority": todo.priority.get(),
            ":due_date": todo.due_date.as_ref().map(micros),
            ":completed": todo.completed,
            ":now": now,
            ":owner": owner.id(),
            ":change_no": change_no,
        },
        todo_from_row,
    )
}

pub(crate) fn get(connection: &mut Connection, owner: Owner, id: i64) -> Outcome<Todo> {
    connection
        .prepare_cached(&GET)?
        .query_row(
            named_params! { ":id": id, ":owner": owner.id() },
            todo_from_row,
        )
        .optional()?
        .ok_or(Failure::Store(StoreError::NotFound(id)))
}

pub(crate) fn list(connection: &mut Connection, owner: Owner, query: &ListQuery) -> Outcome<Page> {
    let statement = list_statement(owner, query, Dialect::Sqlite);
    let mut prepared = connection.prepare_cached(&statement.sql)?;
    let todos = prepared
        .query_map(
            params_from_iter(statement.params.iter().map(sql_value)),
            todo_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_rows(query, todos))
}

pub(crate) fn update(
    connection: &mut Connection,
    owner: Owner,
    id: i64,
    patch: TodoPatch,
    expected: Option<&Expected>,
) -> Outcome<Todo> {
    let transaction = statement_scope(connection)?;
    // The check and the write are atomic: this transaction holds the write
    // lock, and this thread is the only writer.
    check_version(&transaction, owner, id, expected)?;
    let change_no = change_numbers::take(&transaction, 1)?;
    let updated =
        apply(&transaction, owner, id, patch, now(), change_no)?.ok_or(StoreError::NotFound(id))?;
    transaction.commit()?;
    Ok(updated)
}

pub(crate) fn update_many(
    connection: &mut Connection,
    owner: Owner,
    patches: Vec<IdentifiedPatch>,
) -> Outcome<Vec<Todo>> {
    let transaction = write_transaction(connection)?;
    let now = now();
    let first = change_numbers::take(&transaction, patches.len())?;
    let mut updated = Vec::with_capacity(patches.len());
    // In input order, so the first missing id is the one reported; returning
    // early drops the transaction, which rolls back what was applied.
    for (IdentifiedPatch { id, patch }, change_no) in patches.into_iter().zip(first..) {
        updated.push(
            apply(&transaction, owner, id, patch, now, change_no)?
                .ok_or(StoreError::NotFound(id))?,
        );
    }
    transaction.commit()?;
    Ok(updated)
}

/// Applies `patch` to `owner`'s todo `id` as change `change_no`; `None`
/// when there is no such todo.
fn apply(
    connection: &Connection,
    owner: Owner,
    id: i64,
    patch: TodoPatch,
    now: i64,
    change_no: i64,
) -> Outcome<Option<Todo>> {
    let todo = connection
        .prepare_cached(&UPDATE)?
        .query_row(
            named_params! {
                ":id": id,
                ":title": patch.title.as_ref().map(|title| title.as_str()),
                ":title_search": patch.title.as_ref().map(|title| title.search_key()),
                ":set_description": patch.description.is_some(),
                ":description": patch.description.flatten().as_ref().map(Description::as_str),
                ":priority": patch.priority.map(|priority| priority.get()),
                ":set_due_date": patch.due_date.is_some(),
                ":due_date": patch.due_date.flatten().as_ref().map(micros),
                ":completed": patch.completed,
                ":now": now,
                ":owner": owner.id(),
                ":change_no": change_no,
            },
            todo_from_row,
        )
        .optional()?;
    Ok(todo)
}

pub(crate) fn delete(
    connection: &mut Connection,
    owner: Owner,
    id: i64,
    expected: Option<&Expected>,
) -> Outcome<()> {
    let transaction = statement_scope(connection)?;
    check_version(&transaction, owner, id, expected)?;
    change_numbers::hand_over_to_row(&transaction)?;
    transaction
        .prepare_cached(DELETE)?
        .execute(named_params! { ":id": id, ":owner": owner.id() })?;
    transaction.commit()?;
    Ok(())
}

/// Fails with `NotFound` when `owner` has no such todo (whatever `expected`
/// says, API.md "Errors", 412; another owner's is no different) and
/// `PreconditionFailed` when its version is not one `expected` accepts.
fn check_version(
    connection: &Connection,
    owner: Owner,
    id: i64,
    expected: Option<&Expected>,
) -> Outcome<()> {
    let version: i64 = connection
        .prepare_cached(VERSION)?
        .query_row(named_params! { ":id": id, ":owner": owner.id() }, |row| {
            row.get(0)
        })
        .optional()?
        .ok_or(StoreError::NotFound(id))?;
    match expected {
        Some(expected) if !expected.accepts(version) => {
            Err(Failure::Store(StoreError::PreconditionFailed))
        }
        _ => Ok(()),
    }
}

pub(crate) fn delete_matching(
    connection: &mut Connection,
    owner: Owner,
    filter: &TodoFilter,
) -> Outcome<u64> {
    let statement = delete_matching_statement(owner, filter, Dialect::Sqlite);
    let transaction = statement_scope(connection)?;
    change_numbers::hand_over_to_row(&transaction)?;
    let deleted = transaction
        .prepare_cached(&statement.sql)?
        .execute(params_from_iter(statement.params.iter().map(sql_value)))?;
    transaction.commit()?;
    Ok(deleted as u64)
}

pub(crate) fn ping(connection: &mut Connection) -> Outcome<()> {
    connection.query_row("select 1", [], |row| row.get::<_, i64>(0))?;
    Ok(())
}

pub(crate) fn now() -> i64 {
    micros(&todo_core::now())
}
