//! A million rows without the API: the todos table of a fresh database
//! filled straight in PostgreSQL with generated todos, for the parts that
//! measure listings on a large table (`indexes`, `lists-1m`).

use crate::error::BenchError;

/// Inserts `rows` generated todos straight into PostgreSQL (10% open,
/// priorities 1–5 whether open or not, 25% without a due date, 0.1%
/// titled "Urgent …"), with
/// the migration's indexes built afterwards and `vacuum analyze`; returns
/// the secondary indexes' names and definitions.
pub async fn fill_table(
    admin: &tokio_postgres::Client,
    rows: u64,
) -> Result<Vec<(String, String)>, BenchError> {
    // Drop the indexes for the load, build them again after: much faster
    // than maintaining them row by row.
    let definitions: Vec<(String, String)> = admin
        .query(
            "select indexname, indexdef from pg_indexes
             where tablename = 'todos' and indexname <> 'todos_pkey'",
            &[],
        )
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    drop_indexes(admin, &definitions).await?;
    let rows = i64::try_from(rows).unwrap_or(i64::MAX);
    admin
        .execute(
            "insert into todos (title, title_search, description, priority, due_date,
                                completed, created_at, updated_at)
             select t, lower(t), null, 1 + (g / 10) % 5,
                    case when g % 4 = 0 then null
                         else timestamptz '2025-01-01' + (g % 730) * interval '1 day' end,
                    g % 10 <> 0,
                    timestamptz '2020-01-01' + g * interval '1 second',
                    timestamptz '2020-01-01' + g * interval '1 second'
             from generate_series(1, $1::bigint) g,
                  lateral (select case when g % 1000 = 0 then 'Urgent todo ' else 'Todo ' end
                                  || g as t) title",
            &[&rows],
        )
        .await?;
    for (_, definition) in &definitions {
        admin.batch_execute(definition).await?;
    }
    admin.batch_execute("vacuum analyze todos").await?;
    Ok(definitions)
}

/// Drops the indexes of `definitions` (names from `pg_indexes`).
pub async fn drop_indexes(
    admin: &tokio_postgres::Client,
    definitions: &[(String, String)],
) -> Result<(), BenchError> {
    for (name, _) in definitions {
        // Names come from pg_indexes, not from input.
        admin
            .batch_execute(&format!("drop index if exists \"{name}\""))
            .await?;
    }
    Ok(())
}
