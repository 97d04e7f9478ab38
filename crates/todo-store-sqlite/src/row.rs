//! The conversions between Rust values and SQLite's: a row to a [`Todo`],
//! and the shared statements' parameters to SQLite values. Timestamps are
//! stored as integer microseconds since the Unix epoch (UTC), booleans as 0
//! or 1 (see the migration).

use chrono::DateTime;
use rusqlite::Row;
use rusqlite::types::Value;
use todo_core::{Timestamp, Todo};
use todo_listing_sql::SqlParam;

/// Reads a todo from a row whose columns are `todo_listing_sql::TODO_COLUMNS`,
/// in that order.
pub(crate) fn todo_from_row(row: &Row<'_>) -> rusqlite::Result<Todo> {
    Ok(Todo {
        id: row.get(0)?,
        title: row.get(1)?,
        description: row.get(2)?,
        priority: row.get(3)?,
        due_date: row
            .get::<_, Option<i64>>(4)?
            .map(|micros| timestamp(4, micros))
            .transpose()?,
        completed: row.get(5)?,
        created_at: timestamp(6, row.get(6)?)?,
        updated_at: timestamp(7, row.get(7)?)?,
        version: row.get(8)?,
    })
}

fn timestamp(column: usize, micros: i64) -> rusqlite::Result<Timestamp> {
    DateTime::from_timestamp_micros(micros)
        .ok_or(rusqlite::Error::IntegralValueOutOfRange(column, micros))
}

/// A timestamp as stored.
pub(crate) fn micros(at: &Timestamp) -> i64 {
    at.timestamp_micros()
}

/// A parameter of a shared statement as SQLite stores it.
pub(crate) fn sql_value(param: &SqlParam) -> Value {
    match param {
        SqlParam::Bool(value) => Value::Integer(i64::from(*value)),
        SqlParam::SmallInt(value) => Value::Integer(i64::from(*value)),
        SqlParam::BigInt(value) => Value::Integer(*value),
        SqlParam::Time(at) => Value::Integer(micros(at)),
        SqlParam::Text(text) => Value::Text(text.clone()),
    }
}

#[cfg(test)]
mod tests {
    use todo_core::parse_timestamp;

    use super::*;

    #[test]
    fn timestamps_survive_the_trip_through_microseconds() {
        let at = parse_timestamp("2026-12-01T09:30:00.123456Z").expect("a timestamp");
        assert_eq!(timestamp(0, micros(&at)).expect("in range"), at);
        assert_eq!(sql_value(&SqlParam::Time(at)), Value::Integer(micros(&at)));
    }

    #[test]
    fn booleans_are_stored_as_zero_or_one() {
        assert_eq!(sql_value(&SqlParam::Bool(true)), Value::Integer(1));
        assert_eq!(sql_value(&SqlParam::Bool(false)), Value::Integer(0));
    }
}
