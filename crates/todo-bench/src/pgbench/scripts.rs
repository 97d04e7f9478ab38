//! The scripts pgbench runs: the statement the service issued for each
//! kind of request (or, for the requests the service serves in groups, the
//! store's single-row statement), each `$n` replaced by a pgbench variable
//! carrying the value the load tool sends, or a typed `null`.

use todo_core::{ListQuery, Owner};
use todo_listing_sql::{Dialect, SqlParam, Statement, list_statement_as_written};
use todo_load::workload::{IdRange, LIST_PATH, MIX, Op, Workload};
use todo_store_postgres::statements::{INSERT, SELECT_ONE, UPDATE, listing_statement};

use crate::error::BenchError;
use crate::results::Issued;

/// How one placeholder of a statement is filled.
#[derive(Debug, Clone)]
enum Value {
    Null,
    /// A pgbench variable set with `-D`.
    Fixed(&'static str, String),
    /// A pgbench variable drawn per transaction: `\set NAME random(lo, hi)`.
    Random(&'static str, i64, i64),
}

/// The single-row statement of `op`, the per-statement ceiling its goal is
/// set against: pgbench runs it when the service issued none of its own,
/// serving concurrent requests of that kind with one statement for many.
/// They are the store's own `INSERT`, `SELECT_ONE` and `UPDATE`, which it
/// runs for a request that arrives alone.
fn single_row_statement(op: Op) -> Option<String> {
    match op {
        Op::Create => Some(INSERT.clone()),
        Op::Read => Some(SELECT_ONE.clone()),
        Op::Update => Some(UPDATE.clone()),
        Op::List => None,
    }
}

/// Finds the statement the service issued for `op` among `issued`, else
/// its single-row statement.
pub fn statement_for(op: Op, issued: &[Issued]) -> Option<String> {
    let found = issued
        .iter()
        .find(|statement| {
            let text = statement
                .query
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            match op {
                Op::Create => {
                    text.starts_with("insert into todos (title") && !text.contains("unnest")
                }
                Op::Read => {
                    text.starts_with("select id, title")
                        && text.ends_with("where id = $1 and owner = $2")
                }
                Op::List => text.starts_with("select id, title") && text.contains(" limit "),
                Op::Update => text.starts_with("update todos") && !text.contains("unnest"),
            }
        })
        .map(|statement| statement.query.clone());
    found.or_else(|| single_row_statement(op))
}

/// The values the load tool sends for `op`, placeholder by placeholder.
fn values(op: Op) -> Vec<Value> {
    let fixed = |name, value: &str| Value::Fixed(name, value.to_owned());
    // The bench serves in open mode: every todo is the anonymous user's.
    let owner = || Value::Fixed("owner", Owner::ANONYMOUS.id().to_string());
    match op {
        // POST /api/todo with the body of `Op::request`.
        Op::Create => vec![
            fixed("title", "load test todo"),
            fixed("title_search", "load test todo"),
            fixed("description", "created by todo-load"),
            Value::Random("priority", 1, 5),
            fixed("due", "2030-01-01T00:00:00Z"),
            fixed("no", "false"),
            owner(),
        ],
        Op::Read => vec![Value::Random("id", 0, 0), owner()],
        // PATCH {"priority": p}: only the priority is set, any version.
        Op::Update => vec![
            Value::Random("id", 0, 0),
            Value::Null,
            Value::Null,
            fixed("no", "false"),
            Value::Null,
            Value::Random("priority", 1, 5),
            fixed("no", "false"),
            Value::Null,
            Value::Null,
            fixed("yes", "true"),
            fixed("no_versions", "{}"),
            owner(),
        ],
        Op::List => list_values(),
    }
}

/// The listing's values, from the shared SQL builder the service uses.
fn list_values() -> Vec<Value> {
    list_statement_for(LIST_PATH, Owner::ANONYMOUS)
        .map_or_else(Vec::new, |statement| values_of(statement.params))
}

/// The statement the service sends for `owner`'s listing `path`
/// (`/api/todo?...`, cursor included; the form the store picks while its
/// statement cache has room), with its values.
pub fn list_statement_for(path: &str, owner: Owner) -> Option<Statement> {
    let query = list_query_for(path, owner)?;
    Some(listing_statement(owner, &query))
}

/// `owner`'s listing query of `path`, as the service reads it.
fn list_query_for(path: &str, owner: Owner) -> Option<ListQuery> {
    let query = path.split_once('?').map_or("", |(_, q)| q);
    let pairs: Vec<(String, String)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect();
    ListQuery::from_params(&pairs, owner).ok()
}

/// Undoes the percent-encoding of a query-string value (`+` is a space).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        index += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A pgbench script running `statement` (as the service issued it) with
/// the values the shared builder binds for `owner`'s listing `path`: one
/// `-D` variable per placeholder, added to `defines`.
pub fn listing_script(
    path: &str,
    owner: Owner,
    statement: &str,
    defines: &mut Vec<String>,
) -> Option<String> {
    let values = values_of(list_statement_for(path, owner)?.params);
    Some(script_with(
        &values,
        statement,
        IdRange { min: 1, max: 1 },
        defines,
    ))
}

fn values_of(params: Vec<SqlParam>) -> Vec<Value> {
    const NAMES: [&str; 12] = [
        "l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "l9", "l10", "l11", "l12",
    ];
    params
        .into_iter()
        .zip(NAMES)
        .map(|(param, name)| match param {
            SqlParam::Bool(value) => Value::Fixed(name, value.to_string()),
            SqlParam::SmallInt(value) => Value::Fixed(name, value.to_string()),
            SqlParam::BigInt(value) => Value::Fixed(name, value.to_string()),
            SqlParam::Time(value) => Value::Fixed(name, value.to_rfc3339()),
            SqlParam::Text(value) => Value::Fixed(name, value),
        })
        .collect()
}

/// A pgbench script for `op`: `\set` lines, then the statement with each
/// `$n` replaced by its variable (or a typed `null`).
fn script(op: Op, statement: &str, ids: IdRange, defines: &mut Vec<String>) -> String {
    script_with(&values(op), statement, ids, defines)
}

fn script_with(
    values: &[Value],
    statement: &str,
    ids: IdRange,
    defines: &mut Vec<String>,
) -> String {
    let mut head = String::new();
    let mut names = Vec::new();
    for value in values {
        names.push(match value {
            Value::Null => "null".to_owned(),
            Value::Fixed(name, text) => {
                let define = format!("{name}={text}");
                if !defines.contains(&define) {
                    defines.push(define);
                }
                format!(":{name}")
            }
            Value::Random(name, low, high) => {
                let (low, high) = if *name == "id" {
                    (ids.min, ids.max)
                } else {
                    (*low, *high)
                };
                head.push_str(&format!("\\set {name} random({low}, {high})\n"));
                format!(":{name}")
            }
        });
    }
    let sql = substitute(statement, &names);
    // pgbench reads one statement per `;`-terminated block.
    format!(
        "{head}{};\n",
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

/// `statement` with each `$n` replaced by `names[n - 1]` (`null` past
/// their end).
fn substitute(statement: &str, names: &[String]) -> String {
    let mut sql = String::new();
    let mut chars = statement.trim().trim_end_matches(';').chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            let mut digits = String::new();
            while let Some(digit) = chars.peek().filter(|c| c.is_ascii_digit()) {
                digits.push(*digit);
                chars.next();
            }
            let index: usize = digits.parse().unwrap_or(0);
            sql.push_str(
                names
                    .get(index.wrapping_sub(1))
                    .map_or("null", String::as_str),
            );
        } else {
            sql.push(ch);
        }
    }
    sql
}

/// A pgbench script of what a careful hand-written client would send for
/// `owner`'s listing `path`: the shared builder's query with every value
/// written into its text, so that PostgreSQL plans it for those very
/// values, once (pgbench prepares it). The reference for a listing's
/// speed: a service statement slower than this shows beside it.
pub fn hand_written_script(path: &str, owner: Owner) -> Option<String> {
    let statement =
        list_statement_as_written(owner, &list_query_for(path, owner)?, Dialect::Postgres);
    let literals: Vec<String> = statement.params.iter().map(literal).collect();
    let sql = substitute(&statement.sql, &literals);
    Some(format!(
        "{};\n",
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    ))
}

/// `param` as an SQL literal of its column's type: a bare `502` is an
/// `integer`, which the owner-led trigram index cannot take for its
/// `bigint` owner (a search would then read every user's matches).
fn literal(param: &SqlParam) -> String {
    match param {
        SqlParam::Bool(value) => value.to_string(),
        SqlParam::SmallInt(value) => value.to_string(),
        SqlParam::BigInt(value) => format!("{value}::bigint"),
        SqlParam::Time(value) => format!("'{}'::timestamptz", value.to_rfc3339()),
        SqlParam::Text(value) => format!("'{}'", value.replace('\'', "''")),
    }
}

/// A pgbench script's text and its weight (`-f FILE@WEIGHT`).
pub type Script = (String, u32);

/// The scripts and `-D` variables of `workload`, from the
/// statements the service issued.
pub fn op_scripts(
    workload: Workload,
    issued: &[Issued],
    ids: IdRange,
) -> Result<(Vec<Script>, Vec<String>), BenchError> {
    let ops: Vec<(Op, u32)> = match workload {
        Workload::Mixed => MIX.to_vec(),
        Workload::Create => vec![(Op::Create, 1)],
        Workload::Read => vec![(Op::Read, 1)],
        Workload::List => vec![(Op::List, 1)],
        Workload::Update => vec![(Op::Update, 1)],
    };
    let mut defines = Vec::new();
    let mut scripts = Vec::new();
    for (op, weight) in &ops {
        let statement = statement_for(*op, issued).ok_or_else(|| {
            BenchError::Setup(format!(
                "the service issued no statement for {op:?} during the {workload} run"
            ))
        })?;
        scripts.push((script(*op, &statement, ids, &mut defines), *weight));
    }
    Ok((scripts, defines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_variables_or_typed_nulls() {
        let mut defines = Vec::new();
        let statement = "update todos set title = coalesce($2::text, title), priority = \
                         coalesce($6::smallint, priority) where id = $1 and ($10::boolean or \
                         version = any($11::bigint[]))";
        let text = script(
            Op::Update,
            statement,
            IdRange { min: 5, max: 9 },
            &mut defines,
        );
        assert!(
            text.starts_with("\\set id random(5, 9)\n\\set priority random(1, 5)\n"),
            "{text}"
        );
        assert!(text.contains("coalesce(null::text, title)"), "{text}");
        assert!(text.contains("coalesce(:priority::smallint"), "{text}");
        assert!(
            !text.contains("($10") && text.contains("(:yes::boolean"),
            "{text}"
        );
        assert!(text.contains(":no_versions::bigint[]"), "{text}");
        assert!(defines.contains(&"no_versions={}".to_owned()));
    }

    #[test]
    fn the_hand_written_listing_carries_every_value_as_a_literal() {
        let text = hand_written_script(
            "/api/todo?completed=false&q=it%27s&due_before=2025-03-01",
            Owner::ANONYMOUS,
        )
        .unwrap();
        assert!(!text.contains('$'), "{text}");
        // The anonymous user's search compares the owner as an integer.
        assert!(
            text.contains("owner = (1::bigint::bigint)::integer"),
            "{text}"
        );
        assert!(text.contains("completed = false"), "{text}");
        assert!(text.contains("'%it''s%'"), "{text}");
        assert!(
            text.contains("due_date < '2025-03-01T00:00:00+00:00'::timestamptz"),
            "{text}"
        );
        assert!(text.trim_end().ends_with(';'));
        // A user's owner as a bigint, which the trigram index takes.
        let user = hand_written_script("/api/todo?q=milk", Owner::from_id(502)).unwrap();
        assert!(user.contains("where owner = 502::bigint and"), "{user}");
    }

    #[test]
    fn the_stores_single_row_statements_are_recognised_when_the_service_issues_them() {
        for (op, text) in [
            (Op::Create, &*INSERT),
            (Op::Read, &*SELECT_ONE),
            (Op::Update, &*UPDATE),
        ] {
            let issued = [Issued {
                query: text.clone(),
                calls: 1,
            }];
            assert_eq!(statement_for(op, &issued).as_ref(), Some(text));
        }
    }

    #[test]
    fn without_a_single_row_statement_issued_the_stores_own_is_run() {
        let mut defines = Vec::new();
        let statement = statement_for(Op::Create, &[]).unwrap();
        let text = script(
            Op::Create,
            &statement,
            IdRange { min: 1, max: 9 },
            &mut defines,
        );
        assert_eq!(
            text,
            "\\set priority random(1, 5)\n\
             insert into todos (title, title_search, description, priority, due_date, completed, owner, \
             change_no) select :title, :title_search, :description, :priority, :due, :no, :owner, \
             nextval('todo_change_numbers') where (select lock_change_log(:owner)) \
             returning id, title, description, priority, due_date, completed, created_at, \
             updated_at, version;\n"
        );
    }

    #[test]
    fn a_listing_url_gives_its_own_values_decoded() {
        let mut defines = Vec::new();
        let url = "/api/todo?q=caf%C3%A9+50%25&limit=100";
        let statement = list_statement_for(url, Owner::ANONYMOUS).unwrap().sql;
        let text = listing_script(url, Owner::ANONYMOUS, &statement, &mut defines).unwrap();
        // The owner first (as an integer, for the anonymous user's
        // search), then the filter.
        assert!(text.contains("owner = (:l1::bigint)::integer"), "{text}");
        assert!(text.contains("like :l2"), "{text}");
        assert_eq!(defines[1], r"l2=%café 50\%%");
        // The page size plus one is written into the statement.
        assert_eq!(defines.len(), 2, "{defines:?}");
        assert!(text.contains("limit 101;"), "{text}");
    }

    #[test]
    fn a_listing_by_due_date_is_run_with_its_dates_written_in_as_the_store_sends_it() {
        let url = "/api/todo?completed=false&due_before=2025-03-01&limit=20";
        let statement = list_statement_for(url, Owner::from_id(502)).unwrap();
        assert!(
            statement
                .sql
                .contains("completed = false and due_date < '2025-03-01 00:00:00.000000+00'"),
            "{}",
            statement.sql
        );
        let mut defines = Vec::new();
        let text = listing_script(url, Owner::from_id(502), &statement.sql, &mut defines).unwrap();
        assert!(text.contains("owner = :l1 "), "{text}");
        assert_eq!(defines, ["l1=502"]);
    }

    #[test]
    fn the_listing_values_come_from_the_shared_sql_builder() {
        let values = list_values();
        // The owner alone: `completed = false` and the page size are in
        // the text.
        let fixed: Vec<String> = values
            .iter()
            .map(|value| match value {
                Value::Fixed(_, text) => text.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(fixed, ["1"]);
    }
}
