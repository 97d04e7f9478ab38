//! The reference of the SQLite figures: a bare `rusqlite` loop running the
//! SQLite store's own statements (`todo_store_sqlite::statements`; the
//! listing from the shared builder), in the same transactions and with the
//! same connection settings (WAL, `synchronous=FULL`), on the same file:
//! one writer thread, as the store has, and one reader thread per core.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior, named_params, params_from_iter};
use todo_core::{ListQuery, Owner};
use todo_listing_sql::{Dialect, SqlParam, Statement, list_statement};
use todo_load::stats::Latencies;
use todo_load::workload::{IdRange, LIST_PATH, Op, Rng, Workload};
use todo_store_sqlite::statements::{GET, INSERT, TAKE_CHANGE_NUMBERS, UPDATE, VERSION};

/// The owner the service serves in open mode, whose todos the loop works on.
const OWNER: i64 = Owner::ANONYMOUS.id();

use crate::error::BenchError;
use crate::results::Ceiling;

/// 2030-01-01T00:00:00Z in microseconds, the due date the load tool sends.
const DUE_MICROS: i64 = 1_893_456_000_000_000;

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(Duration::from_secs(5))?;
    connection.pragma_update(None, "journal_mode", "wal")?;
    connection.pragma_update(None, "synchronous", "full")?;
    connection.pragma_update(None, "foreign_keys", "on")?;
    Ok(connection)
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Reads all columns of a row, as the store does when it builds a todo.
fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<i64> {
    for column in 1..9 {
        let _: rusqlite::types::Value = row.get(column)?;
    }
    row.get(0)
}

/// The change log's next number, taken as the store takes it.
fn take_change_number(connection: &Connection) -> rusqlite::Result<i64> {
    connection
        .prepare_cached(TAKE_CHANGE_NUMBERS)?
        .query_row(named_params! { ":count": 1 }, |row| row.get(0))
}

fn one(connection: &mut Connection, op: Op, rng: &mut Rng, ids: IdRange) -> rusqlite::Result<()> {
    let priority = 1 + (rng.next_u64() % 5) as i64;
    let id = ids.min + (rng.next_u64() % (ids.max - ids.min + 1).max(1) as u64) as i64;
    match op {
        Op::Create => {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let change_no = take_change_number(&transaction)?;
            transaction.prepare_cached(&INSERT)?.query_row(
                named_params! {
                    ":title": "load test todo", ":title_search": "load test todo",
                    ":description": "created by todo-load", ":priority": priority,
                    ":due_date": DUE_MICROS, ":completed": false, ":now": now_micros(),
                    ":owner": OWNER, ":change_no": change_no,
                },
                read_row,
            )?;
            transaction.commit()
        }
        Op::Update => {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let _: i64 = transaction
                .prepare_cached(VERSION)?
                .query_row(named_params! { ":id": id, ":owner": OWNER }, |row| {
                    row.get(0)
                })?;
            let change_no = take_change_number(&transaction)?;
            transaction.prepare_cached(&UPDATE)?.query_row(
                named_params! {
                    ":id": id, ":title": None::<String>, ":title_search": None::<String>,
                    ":set_description": false, ":description": None::<String>,
                    ":priority": priority, ":set_due_date": false, ":due_date": None::<i64>,
                    ":completed": None::<bool>, ":now": now_micros(), ":owner": OWNER,
                    ":change_no": change_no,
                },
                read_row,
            )?;
            transaction.commit()
        }
        Op::Read => connection
            .prepare_cached(&GET)?
            .query_row(named_params! { ":id": id, ":owner": OWNER }, read_row)
            .map(|_| ()),
        Op::List => {
            let statement = list_query();
            let params = statement.params.iter().map(|param| match param {
                SqlParam::Bool(value) => rusqlite::types::Value::Integer(i64::from(*value)),
                SqlParam::SmallInt(value) => rusqlite::types::Value::Integer(i64::from(*value)),
                SqlParam::BigInt(value) => rusqlite::types::Value::Integer(*value),
                SqlParam::Time(value) => rusqlite::types::Value::Integer(value.timestamp_micros()),
                SqlParam::Text(value) => rusqlite::types::Value::Text(value.clone()),
            });
            let mut prepared = connection.prepare_cached(&statement.sql)?;
            let rows = prepared.query_map(params_from_iter(params), read_row)?;
            for row in rows {
                row?;
            }
            Ok(())
        }
    }
}

fn list_query() -> Statement {
    let query = LIST_PATH.split_once('?').map_or("", |(_, q)| q);
    let pairs: Vec<(String, String)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let query =
        ListQuery::from_params(&pairs, Owner::ANONYMOUS).unwrap_or_else(|_| ListQuery::default());
    list_statement(Owner::ANONYMOUS, &query, Dialect::Sqlite)
}

/// Runs the bare loop for `workload` on `path`: writes on one thread,
/// reads on `readers` threads, for `duration`.
pub async fn run_sqlite_loop(
    workload: Workload,
    path: &Path,
    ids: IdRange,
    clients: u64,
    duration: Duration,
) -> Result<Ceiling, BenchError> {
    let readers =
        (clients as usize).min(std::thread::available_parallelism().map_or(1, usize::from));
    let path: PathBuf = path.to_owned();
    let threads = match workload {
        Workload::Create | Workload::Update => 1,
        _ => readers.max(1),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut handles = Vec::new();
    for index in 0..threads {
        let path = path.clone();
        let stop = Arc::clone(&stop);
        handles.push(std::thread::spawn(
            move || -> rusqlite::Result<Latencies> {
                let mut connection = open(&path)?;
                let mut rng = Rng::new(0xC0FFEE + index as u64);
                let mut latencies = Latencies::default();
                while !stop.load(Ordering::Relaxed) {
                    let op = workload.pick(&mut rng);
                    let begun = Instant::now();
                    one(&mut connection, op, &mut rng, ids)?;
                    latencies.record(begun.elapsed());
                }
                Ok(latencies)
            },
        ));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = Latencies::default();
    for handle in handles {
        let latencies = tokio::task::block_in_place(|| handle.join())
            .map_err(|_| BenchError::Setup("a rusqlite thread panicked".to_owned()))??;
        total.merge(&latencies);
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Ceiling {
        tool: "rusqlite".to_owned(),
        clients: threads as u64,
        throughput: total.count() as f64 / elapsed,
        latency: total.summary(),
        command: format!(
            "bare rusqlite loop, {threads} thread(s), WAL, synchronous=FULL, the store's statements"
        ),
        scripts: vec![
            TAKE_CHANGE_NUMBERS.trim().to_owned(),
            INSERT.trim().to_owned(),
            UPDATE.trim().to_owned(),
            GET.trim().to_owned(),
            list_query().sql,
        ],
    })
}

#[cfg(test)]
mod tests {
    use todo_store_sqlite::{SqliteOptions, SqliteStore};

    use super::*;

    #[test]
    fn every_operation_runs_the_stores_statements_on_a_file_the_store_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("todo.db");
        let options = SqliteOptions {
            readers: 1,
            acquire_timeout: Duration::from_secs(5),
        };
        drop(SqliteStore::open_blocking(&path, options).unwrap());
        let mut connection = open(&path).unwrap();
        let mut rng = Rng::new(1);
        let ids = IdRange { min: 1, max: 1 };
        for op in [Op::Create, Op::Read, Op::Update, Op::List] {
            one(&mut connection, op, &mut rng, ids).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        }
        let version: i64 = connection
            .query_row("select version from todos where id = 1", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(version, 2, "created, then updated once");
    }
}
