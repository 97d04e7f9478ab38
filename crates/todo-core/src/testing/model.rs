//! The in-memory model of the listing (API.md, "Listing") that the checks
//! compare every store with: filters, sort order, keyset position, offset
//! and the `limit + 1` rows a page fetches.

use std::cmp::Ordering;

use crate::listing::{ListQuery, Page, Position, Sort, SortValue, TodoFilter};
use crate::todo::{Todo, search_key};

/// Whether `todo` passes every filter that is set.
pub(crate) fn matches(filter: &TodoFilter, todo: &Todo) -> bool {
    filter
        .completed
        .is_none_or(|completed| todo.completed == completed)
        && filter
            .priority
            .is_none_or(|priority| todo.priority == priority.get())
        && filter
            .min_priority
            .is_none_or(|priority| todo.priority >= priority.get())
        && filter
            .due_before
            .is_none_or(|at| todo.due_date.is_some_and(|due| due < at))
        && filter
            .due_after
            .is_none_or(|at| todo.due_date.is_some_and(|due| due >= at))
        && filter
            .title_contains
            .as_ref()
            .is_none_or(|text| search_key(&todo.title).contains(text.as_str()))
}

/// The order of two positions under `sort`: by the field, ties by id in the
/// same direction, undated todos last in both directions.
pub(crate) fn compare_positions(a: &Position, b: &Position, sort: Sort) -> Ordering {
    let directed = |ordering: Ordering| {
        if sort.descending {
            ordering.reverse()
        } else {
            ordering
        }
    };
    match (a.value, b.value) {
        (SortValue::CreatedAt(x), SortValue::CreatedAt(y)) => directed((x, a.id).cmp(&(y, b.id))),
        (SortValue::Priority(x), SortValue::Priority(y)) => directed((x, a.id).cmp(&(y, b.id))),
        (SortValue::Id, SortValue::Id) => directed(a.id.cmp(&b.id)),
        (SortValue::DueDate(x), SortValue::DueDate(y)) => match (x, y) {
            (Some(x), Some(y)) => directed((x, a.id).cmp(&(y, b.id))),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => directed(a.id.cmp(&b.id)),
        },
        (x, y) => panic!("positions of different sort fields: {x:?} and {y:?}"),
    }
}

/// The order of two todos under `sort`.
pub(crate) fn compare(a: &Todo, b: &Todo, sort: Sort) -> Ordering {
    compare_positions(
        &Position::of(a, sort.field),
        &Position::of(b, sort.field),
        sort,
    )
}

/// Every todo of `todos` the filter matches, in `sort` order.
pub(crate) fn sorted_matches(todos: &[Todo], filter: &TodoFilter, sort: Sort) -> Vec<Todo> {
    let mut matching: Vec<Todo> = todos
        .iter()
        .filter(|todo| matches(filter, todo))
        .cloned()
        .collect();
    matching.sort_by(|a, b| compare(a, b, sort));
    matching
}

/// What `list(query)` must return when the store holds exactly `todos`:
/// the matches strictly after `query.after`, skipping `offset`, at most
/// `limit` of them, and where the next page starts when more follow.
pub(crate) fn expected_page(todos: &[Todo], query: &ListQuery) -> Page {
    let rows = sorted_matches(todos, &query.filter, query.sort)
        .into_iter()
        .filter(|todo| {
            query.after.as_ref().is_none_or(|after| {
                compare_positions(&Position::of(todo, query.sort.field), after, query.sort)
                    == Ordering::Greater
            })
        })
        .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
        .take(query.rows_to_fetch() as usize)
        .collect();
    Page::from_rows(query, rows)
}

/// The ids of `todos`, in order, for readable assertion messages.
pub(crate) fn ids(todos: &[Todo]) -> Vec<i64> {
    todos.iter().map(|todo| todo.id).collect()
}

/// Asserts that a store's answer equals the model's, ids first so that a
/// failure shows which rows differ.
#[track_caller]
pub(crate) fn assert_same_todos(actual: &[Todo], expected: &[Todo], context: &dyn std::fmt::Debug) {
    assert_eq!(ids(actual), ids(expected), "ids of {context:?}");
    assert_eq!(actual, expected, "todos of {context:?}");
}
