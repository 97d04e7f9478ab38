//! How the store sends a listing's statement: which of the shared
//! builder's forms (`todo-listing-sql`), prepared and cached or unnamed,
//! and the statement that serves many listings of one form at once.

use todo_core::{ListQuery, Owner};
use todo_listing_sql::{Dialect, Statement, list_statement, list_statement_with_dates_written};

/// How a listing's statement goes to PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Prepared once and kept (when the store caches statements at all):
    /// its generic plan serves any values.
    Prepared,
    /// Unnamed, planned for its values every time.
    Unnamed,
}

/// The statement for `owner`'s listing `query`, and how it is sent;
/// `room_for_dates` says whether the connection's cache may take one more
/// statement with dates written in. Only the form sent is built.
pub(crate) fn listing(owner: Owner, query: &ListQuery, room_for_dates: bool) -> (Statement, Sent) {
    let filter = &query.filter;
    if filter.title_contains.is_some() {
        // Planned for its own values every time: a title search's cached
        // generic plan, for a common word, scans every match instead of
        // walking the default order (docs/query-plans.md). The pattern is
        // text from the request, never written in.
        (
            list_statement(owner, query, Dialect::Postgres),
            Sent::Unnamed,
        )
    } else if filter.due_before.is_none() && filter.due_after.is_none() {
        (
            list_statement(owner, query, Dialect::Postgres),
            Sent::Prepared,
        )
    } else if room_for_dates {
        // A due date's generic plan takes a bound date to keep a third of
        // the rows (two: a narrow range) and walks the wrong index, at half
        // the rate of the plan for the dates or less (BENCHMARKS.md): the
        // dates are written in, planned once.
        let written = list_statement_with_dates_written(owner, query, Dialect::Postgres);
        (written, Sent::Prepared)
    } else {
        // No room for one more date: bound, planned for its values.
        (
            list_statement(owner, query, Dialect::Postgres),
            Sent::Unnamed,
        )
    }
}

/// Whether `query`'s listing may wait to be served in a group (`groups.rs`,
/// `Listings`): a first page or one after a cursor. An offset is bound and
/// cannot be one listing's own in a shared statement (PostgreSQL takes no
/// column in `offset`); a title search is planned for its own pattern each
/// time, and might keep its group waiting on a long search.
pub(crate) fn groupable(query: &ListQuery) -> bool {
    query.offset == 0 && query.filter.title_contains.is_none()
}

/// The statement that runs the listing statement `shape` once for each row
/// of values: placeholder `$k` of `shape` becomes the `k`-th column of the
/// rows, each bound as an array of `types[k - 1]`. Each row of the answer
/// is a todo's columns, then the 1-based place of the listing it is for;
/// the rows of one listing come together and in its own order (a nested
/// loop over the values, the listing run as written for each, which a
/// `lateral` subquery with its own `order by … limit` always is).
pub(crate) fn grouped_listing_sql(shape: &str, types: &[&str]) -> String {
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(index, sql_type)| format!("${}::{sql_type}[]", index + 1))
        .collect();
    let columns: Vec<String> = (1..=types.len()).map(|k| format!("p{k}")).collect();
    format!(
        "select listed.*, wanted.place from unnest({}) with ordinality as wanted({}, place) \
         cross join lateral ({}) as listed",
        arrays.join(", "),
        columns.join(", "),
        placeholders_as_columns(shape)
    )
}

/// `sql` with each placeholder `$k` read from the column `wanted.pk`. The
/// builder writes `$` only in placeholders (its literals are numbers,
/// booleans and timestamps it formats itself).
fn placeholders_as_columns(sql: &str) -> String {
    let mut written = String::with_capacity(sql.len() + 32);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        written.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            written.push('$');
        } else {
            written.push_str("wanted.p");
            written.push_str(&after[..digits]);
        }
        rest = &after[digits..];
    }
    written.push_str(rest);
    written
}

/// The statement the store sends for `owner`'s listing `query` while its
/// connection's cache has room: the benchmark's "service's statement".
#[cfg(feature = "statements")]
pub fn listing_statement(owner: Owner, query: &ListQuery) -> Statement {
    listing(owner, query, true).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grouped_listing_reads_each_placeholder_from_its_column() {
        let shape = "select id from todos where owner = $1 and (created_at, id) < \
                     ((select $2::timestamptz), (select $10::bigint)) order by id limit 21";
        let types = ["bigint"; 10];
        let sql = grouped_listing_sql(shape, &types);
        assert!(
            sql.starts_with(
                "select listed.*, wanted.place from unnest($1::bigint[], $2::bigint[], "
            )
        );
        assert!(sql.contains("$10::bigint[]) with ordinality as wanted(p1, p2, "));
        assert!(sql.contains("p10, place) cross join lateral (select id from todos where owner = wanted.p1 and (created_at, id) < ((select wanted.p2::timestamptz), (select wanted.p10::bigint)) order by id limit 21) as listed"));
        assert!(!sql.contains("$11"));
    }

    #[test]
    fn a_listing_is_grouped_unless_it_has_an_offset_or_a_title_search() {
        let first = ListQuery::default();
        assert!(groupable(&first));
        let deep = ListQuery {
            offset: 20,
            ..ListQuery::default()
        };
        assert!(!groupable(&deep));
        let mut search = ListQuery::default();
        search.filter.title_contains = Some("milk".into());
        assert!(!groupable(&search));
    }
}
