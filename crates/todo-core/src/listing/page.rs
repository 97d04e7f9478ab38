//! A page of a listing: the todos, and where the next page starts when
//! more may follow. A store fetches one row more than the page holds and
//! builds the page here, so "one more tells whether more follow" is known
//! in this file only.

use super::{ListQuery, Position};
use crate::todo::Todo;

/// One page of `GET /api/todo`.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// At most the query's `limit` todos, in its sort order.
    pub todos: Vec<Todo>,
    /// Where the next page starts (the last todo's position) when more
    /// todos may follow; `None` on the last page.
    pub next: Option<Position>,
}

impl ListQuery {
    /// How many rows a store's statement fetches for this page: one more
    /// than the page holds, to tell whether more follow.
    pub fn rows_to_fetch(&self) -> u32 {
        self.limit + 1
    }
}

impl Page {
    /// The page of `query` from the rows its statement fetched, in order,
    /// at most [`ListQuery::rows_to_fetch`] of them.
    pub fn from_rows(query: &ListQuery, mut rows: Vec<Todo>) -> Page {
        let limit = query.limit as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = match (more, rows.last()) {
            (true, Some(last)) => Some(Position::of(last, query.sort.field)),
            _ => None,
        };
        Page { todos: rows, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::SortValue;
    use crate::todo::parse_timestamp;

    fn todo(id: i64) -> Todo {
        let at = parse_timestamp("2026-11-26T15:00:00Z").unwrap();
        Todo {
            id,
            title: format!("todo {id}"),
            description: None,
            priority: 3,
            due_date: None,
            completed: false,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    #[test]
    fn the_extra_row_is_cut_and_names_where_the_next_page_starts() {
        let query = ListQuery {
            limit: 2,
            ..ListQuery::default()
        };
        assert_eq!(query.rows_to_fetch(), 3);
        let page = Page::from_rows(&query, vec![todo(9), todo(8), todo(7)]);
        assert_eq!(page.todos, vec![todo(9), todo(8)]);
        let next = page.next.expect("more follow");
        assert_eq!(next.id, 8);
        assert!(matches!(next.value, SortValue::CreatedAt(_)));
    }

    #[test]
    fn a_page_without_the_extra_row_is_the_last() {
        let query = ListQuery {
            limit: 2,
            ..ListQuery::default()
        };
        assert_eq!(Page::from_rows(&query, vec![todo(9), todo(8)]).next, None);
        assert_eq!(Page::from_rows(&query, Vec::new()).next, None);
    }
}
