//! Reading a row of [`todo_store_sql::TODO_COLUMNS`] into a [`Todo`].

use std::collections::HashSet;

use todo_core::{StoreError, Todo};
use tokio_postgres::Row;

use crate::error::from_pg;

/// The todo of a row whose columns are `TODO_COLUMNS`, in that order.
pub(crate) fn todo_from_row(row: &Row) -> Result<Todo, StoreError> {
    Ok(Todo {
        id: row.try_get(0).map_err(from_pg)?,
        title: row.try_get(1).map_err(from_pg)?,
        description: row.try_get(2).map_err(from_pg)?,
        priority: row.try_get(3).map_err(from_pg)?,
        due_date: row.try_get(4).map_err(from_pg)?,
        completed: row.try_get(5).map_err(from_pg)?,
        created_at: row.try_get(6).map_err(from_pg)?,
        updated_at: row.try_get(7).map_err(from_pg)?,
        version: row.try_get(8).map_err(from_pg)?,
    })
}

/// The ids of rows whose first column is a todo's id.
pub(crate) fn ids_from_rows(rows: &[Row]) -> Result<HashSet<i64>, StoreError> {
    rows.iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(from_pg)
}

pub(crate) fn todos_from_rows(rows: &[Row]) -> Result<Vec<Todo>, StoreError> {
    rows.iter().map(todo_from_row).collect()
}
