//! A million rows without the API: the todos table of a fresh database
//! filled straight in PostgreSQL with generated todos, for the parts that
//! measure listings on a large table (`indexes`, `lists-1m`).

use todo_core::Owner;

use crate::error::BenchError;

/// Whose the generated todos are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owners {
    /// All the anonymous user's: open mode.
    Anonymous,
    /// Spread over this many users (`bench-user-0` …), row by row.
    Users(u64),
}

impl Owners {
    /// `users` users, or the anonymous user when 0.
    pub fn from_count(users: u64) -> Owners {
        if users == 0 {
            Owners::Anonymous
        } else {
            Owners::Users(users)
        }
    }

    /// The subject of the user whose listings are measured (one in the
    /// middle: `bench-user-0` has no "Urgent" todo), when there are users.
    pub fn measured_subject(self) -> Option<String> {
        match self {
            Owners::Anonymous => None,
            Owners::Users(count) => Some(format!("bench-user-{}", count / 2)),
        }
    }
}

/// Inserts `rows` generated todos straight into PostgreSQL (10% open,
/// priorities 1–5 whether open or not, 25% without a due date, 0.1%
/// titled "Urgent …"), with
/// the migration's indexes built afterwards and `vacuum analyze`; returns
/// the secondary indexes' names and definitions, and the owner of the
/// measured user's todos (the anonymous user's without users).
///
/// With users, consecutive rows go to different users (as todos written
/// by many users at once would lie in the table), and each user's share
/// has the same mix: row `g` is user `(g / n + g) % n`'s, so every user
/// gets one row of each run of `n` and the remainders the mix is drawn
/// from (`g % 10`, `g % 4`, …) vary from run to run.
pub async fn fill_table(
    admin: &tokio_postgres::Client,
    rows: u64,
    owners: Owners,
) -> Result<(Vec<(String, String)>, Owner), BenchError> {
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
    let (first_owner, users, measured) = match owners {
        Owners::Anonymous => (Owner::ANONYMOUS.id(), 1, Owner::ANONYMOUS),
        Owners::Users(count) => {
            let count = i64::try_from(count).unwrap_or(i64::MAX);
            admin
                .execute(
                    "insert into users (subject)
                     select 'bench-user-' || k from generate_series(0, $1::bigint - 1) k",
                    &[&count],
                )
                .await?;
            let id_of = |subject: String| async move {
                let row = admin
                    .query_one("select id from users where subject = $1", &[&subject])
                    .await?;
                Ok::<i64, BenchError>(row.get(0))
            };
            let first = id_of("bench-user-0".to_owned()).await?;
            let measured = owners.measured_subject().unwrap_or_default();
            (first, count, Owner::from_id(id_of(measured).await?))
        }
    };
    admin
        .execute(
            "insert into todos (title, title_search, description, priority, due_date,
                                completed, created_at, updated_at, owner)
             select t, lower(t), null, 1 + (g / 10) % 5,
                    case when g % 4 = 0 then null
                         else timestamptz '2025-01-01' + (g % 730) * interval '1 day' end,
                    g % 10 <> 0,
                    timestamptz '2020-01-01' + g * interval '1 second',
                    timestamptz '2020-01-01' + g * interval '1 second',
                    $2::bigint + (g / $3::bigint + g) % $3::bigint
             from generate_series(1, $1::bigint) g,
                  lateral (select case when g % 1000 = 0 then 'Urgent todo ' else 'Todo ' end
                                  || g as t) title",
            &[&rows, &first_owner, &users],
        )
        .await?;
    for (_, definition) in &definitions {
        admin.batch_execute(definition).await?;
    }
    admin.batch_execute("vacuum analyze todos").await?;
    Ok((definitions, measured))
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
