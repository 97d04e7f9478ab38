//! How the store sends a listing's statement: which of the shared
//! builder's forms (`todo-listing-sql`), prepared and cached or unnamed.

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

/// The statement the store sends for `owner`'s listing `query` while its
/// connection's cache has room: the benchmark's "service's statement".
#[cfg(feature = "statements")]
pub fn listing_statement(owner: Owner, query: &ListQuery) -> Statement {
    listing(owner, query, true).0
}
