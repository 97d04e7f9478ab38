//! How the store sends a listing's statement: which of the shared
//! builder's forms (`todo-listing-sql`), prepared and cached or unnamed.

use todo_core::{ListQuery, Owner};
use todo_listing_sql::{Dialect, Statement, list_statement, list_statement_with_dates_written};

/// How one listing's statement is sent.
#[derive(Debug)]
pub(crate) enum Listing {
    /// Prepared once and kept: its generic plan serves any values.
    Cached(Statement),
    /// Unnamed, planned for its values every time.
    Unnamed(Statement),
    /// A listing by due date: `written` (its dates in the text) prepared
    /// while the cache has room for them, else `bound`, unnamed.
    DatesWrittenIn {
        written: Statement,
        bound: Statement,
    },
}

impl Listing {
    /// How `owner`'s listing `query` is sent.
    pub(crate) fn new(owner: Owner, query: &ListQuery) -> Listing {
        let filter = &query.filter;
        if filter.title_contains.is_some() {
            // Planned for its own values every time: a title search's
            // cached generic plan, for a common word, scans every match
            // instead of walking the default order (docs/query-plans.md).
            // The pattern is text from the request, never written in.
            Listing::Unnamed(list_statement(owner, query, Dialect::Postgres))
        } else if filter.due_before.is_some() || filter.due_after.is_some() {
            // A due date's generic plan takes a bound date to keep a third
            // of the rows (two: a narrow range) and walks the wrong index,
            // at half the rate of the plan for the dates or less
            // (BENCHMARKS.md): the dates are written in, planned once.
            Listing::DatesWrittenIn {
                written: list_statement_with_dates_written(owner, query, Dialect::Postgres),
                bound: list_statement(owner, query, Dialect::Postgres),
            }
        } else {
            Listing::Cached(list_statement(owner, query, Dialect::Postgres))
        }
    }
}

/// The statement the store sends for `owner`'s listing `query` while its
/// connection's cache has room: the benchmark's "service's statement".
#[cfg(feature = "statements")]
pub fn listing_statement(owner: Owner, query: &ListQuery) -> Statement {
    match Listing::new(owner, query) {
        Listing::Cached(statement)
        | Listing::Unnamed(statement)
        | Listing::DatesWrittenIn {
            written: statement, ..
        } => statement,
    }
}
