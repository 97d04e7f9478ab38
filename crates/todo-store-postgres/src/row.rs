//! Reading a row of [`todo_listing_sql::TODO_COLUMNS`] into a [`Todo`].

use std::collections::HashSet;
use std::error::Error;

use chrono::DateTime;
use todo_core::{Owner, StoreError, Timestamp, Todo};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Type, accepts};

use crate::error::from_pg;

/// A `timestamptz` read straight from its binary form, microseconds since
/// 2000-01-01 UTC. The driver's own conversion adds them to that date as a
/// calendar duration, several times the work; a page of 100 todos reads
/// 300 of them.
struct WireTimestamp(Timestamp);

/// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01 UTC.
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

impl<'a> FromSql<'a> for WireTimestamp {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        let micros = i64::from_be_bytes(raw.try_into()?);
        micros
            .checked_add(POSTGRES_EPOCH_MICROS)
            .and_then(DateTime::from_timestamp_micros)
            .map(WireTimestamp)
            .ok_or_else(|| "timestamp out of range".into())
    }

    accepts!(TIMESTAMPTZ);
}

/// The timestamp of column `index`.
fn timestamp(row: &Row, index: usize) -> Result<Timestamp, StoreError> {
    let WireTimestamp(at) = row.try_get(index).map_err(from_pg)?;
    Ok(at)
}

/// The todo of a row whose columns are `TODO_COLUMNS`, in that order.
pub(crate) fn todo_from_row(row: &Row) -> Result<Todo, StoreError> {
    Ok(Todo {
        id: row.try_get(0).map_err(from_pg)?,
        title: row.try_get(1).map_err(from_pg)?,
        description: row.try_get(2).map_err(from_pg)?,
        priority: row.try_get(3).map_err(from_pg)?,
        due_date: row
            .try_get::<_, Option<WireTimestamp>>(4)
            .map_err(from_pg)?
            .map(|WireTimestamp(at)| at),
        completed: row.try_get(5).map_err(from_pg)?,
        created_at: timestamp(row, 6)?,
        updated_at: timestamp(row, 7)?,
        version: row.try_get(8).map_err(from_pg)?,
    })
}

/// A todo and its owner, from a row of `TODO_COLUMNS` then `owner`.
pub(crate) fn owned_todo_from_row(row: &Row) -> Result<(Owner, Todo), StoreError> {
    let owner: i64 = row.try_get(TODO_COLUMN_COUNT).map_err(from_pg)?;
    Ok((Owner::from_id(owner), todo_from_row(row)?))
}

/// How many columns `TODO_COLUMNS` names.
pub(crate) const TODO_COLUMN_COUNT: usize = 9;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_timestamps_read_as_the_drivers_conversion_reads_them() {
        let micros = [
            0,
            1,
            -1,
            -POSTGRES_EPOCH_MICROS - 86_400_000_001,
            846_151_629_123_456,
            851_990_399_999_999,
            8_000_000_000_000_000,
        ];
        for micros in micros {
            let raw = micros.to_be_bytes();
            let ours = WireTimestamp::from_sql(&Type::TIMESTAMPTZ, &raw).unwrap().0;
            let drivers = Timestamp::from_sql(&Type::TIMESTAMPTZ, &raw).unwrap();
            assert_eq!(ours, drivers, "{micros}");
        }
        assert!(WireTimestamp::from_sql(&Type::TIMESTAMPTZ, &i64::MAX.to_be_bytes()).is_err());
        assert!(WireTimestamp::from_sql(&Type::TIMESTAMPTZ, &[0; 4]).is_err());
    }
}
