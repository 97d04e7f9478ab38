//! Checks of `list` and `delete_matching` against the in-memory model
//! (API.md, "Listing").

use std::collections::BTreeSet;

use chrono::TimeDelta;

use crate::listing::{ListQuery, MAX_LIMIT, Sort, SortField, TodoFilter};
use crate::testing::UserStore;
use crate::testing::model::{assert_same_todos, expected_page, ids, sorted_matches};
use crate::testing::seed::{
    SEED_COUNT, all_todos, at, every_sort, new_todo, priority, probe_filters, seed, seed_due_base,
};
use crate::todo::{Todo, search_key};

/// A query for every match at once.
fn whole(filter: TodoFilter, sort: Sort) -> ListQuery {
    ListQuery {
        filter,
        sort,
        limit: MAX_LIMIT,
        offset: 0,
        after: None,
    }
}

/// Asserts that the store lists what the model expects for `query`.
async fn assert_lists_like_the_model(store: &UserStore, todos: &[Todo], query: &ListQuery) {
    let listed = store.list(query).await.unwrap();
    let expected = expected_page(todos, query);
    assert_same_todos(&listed.todos, &expected.todos, query);
    assert_eq!(
        listed.next, expected.next,
        "where the page after {query:?} starts"
    );
}

pub async fn each_filter_lists_what_the_model_expects(store: UserStore) {
    let todos = seed(&store, SEED_COUNT).await;
    for filter in probe_filters() {
        let query = whole(filter, Sort::default());
        assert_lists_like_the_model(&store, &todos, &query).await;
    }
    // The model agrees with the contract on the boundaries of the due filters.
    let due = seed_due_base();
    let on_due = |todo: &&Todo| todo.due_date == Some(due);
    assert!(
        todos.iter().filter(on_due).count() > 1,
        "seeds share due dates"
    );
    let before = sorted_matches(
        &todos,
        &TodoFilter {
            due_before: Some(due),
            ..TodoFilter::default()
        },
        Sort::default(),
    );
    let after = sorted_matches(
        &todos,
        &TodoFilter {
            due_after: Some(due),
            ..TodoFilter::default()
        },
        Sort::default(),
    );
    assert!(!before.iter().any(|todo| todo.due_date >= Some(due)));
    assert!(after.iter().any(|todo| todo.due_date == Some(due)));
    let dated = todos.iter().filter(|todo| todo.due_date.is_some()).count();
    assert_eq!(
        before.len() + after.len(),
        dated,
        "undated todos match neither"
    );
}

pub async fn each_sort_lists_what_the_model_expects(store: UserStore) {
    let todos = seed(&store, SEED_COUNT).await;
    for sort in every_sort() {
        assert_lists_like_the_model(&store, &todos, &whole(TodoFilter::default(), sort)).await;
    }
    // The default is newest first.
    let default = store.list(&ListQuery::default()).await.unwrap();
    let mut newest_first = todos.clone();
    newest_first.sort_by_key(|todo| std::cmp::Reverse((todo.created_at, todo.id)));
    newest_first.truncate(ListQuery::default().limit as usize);
    assert_same_todos(&default.todos, &newest_first, &"the default listing");
}

pub async fn filters_combined_with_sorts_list_what_the_model_expects(store: UserStore) {
    let todos = seed(&store, SEED_COUNT).await;
    for filter in probe_filters() {
        for sort in every_sort() {
            let query = ListQuery {
                limit: 25,
                ..whole(filter.clone(), sort)
            };
            assert_lists_like_the_model(&store, &todos, &query).await;
        }
    }
}

pub async fn limit_and_offset_page_like_the_model(store: UserStore) {
    let todos = seed(&store, SEED_COUNT).await;
    let filters = [
        TodoFilter::default(),
        TodoFilter {
            completed: Some(false),
            ..TodoFilter::default()
        },
    ];
    for filter in filters {
        for sort in every_sort() {
            for (limit, offset) in [
                (1, 0),
                (1, 7),
                (10, 0),
                (10, 5),
                (10, 195),
                (100, 100),
                (199, 0),
                (200, 0),
                (5, 199),
                (5, 200),
                (5, 10_000),
            ] {
                let query = ListQuery {
                    limit,
                    offset,
                    ..whole(filter.clone(), sort)
                };
                assert_lists_like_the_model(&store, &todos, &query).await;
            }
        }
    }
    // A page holds `limit` todos, and says where the next starts when more
    // follow.
    let page = store
        .list(&ListQuery {
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.todos.len(), 10);
    assert_eq!(page.next.map(|next| next.id), Some(page.todos[9].id));
    let last = store
        .list(&ListQuery {
            limit: 10,
            offset: SEED_COUNT as u64 - 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(last.todos.len(), 10);
    assert_eq!(last.next, None);
}

pub async fn undated_todos_sort_last_in_both_directions(store: UserStore) {
    let dues = [
        None,
        Some("2026-05-01T00:00:00Z"),
        None,
        Some("2026-01-01T00:00:00Z"),
        Some("2026-05-01T00:00:00Z"),
        None,
        Some("2027-01-01T00:00:00.000001Z"),
    ];
    let mut created = Vec::new();
    for (index, due) in dues.iter().enumerate() {
        let mut todo = new_todo(&format!("due {index}"));
        todo.due_date = due.map(at);
        created.push(store.create(todo).await.unwrap());
    }
    let id = |index: usize| created[index].id;
    for (descending, expected) in [
        (false, [3, 1, 4, 6, 0, 2, 5]),
        (true, [6, 4, 1, 3, 5, 2, 0]),
    ] {
        let sort = Sort {
            field: SortField::DueDate,
            descending,
        };
        let listed = store
            .list(&whole(TodoFilter::default(), sort))
            .await
            .unwrap()
            .todos;
        let expected: Vec<i64> = expected.into_iter().map(id).collect();
        assert_eq!(ids(&listed), expected, "{sort:?}");
    }
}

async fn titles_matching(store: &UserStore, q: &str) -> BTreeSet<String> {
    let filter = TodoFilter {
        title_contains: Some(search_key(q)),
        ..TodoFilter::default()
    };
    store
        .list(&whole(filter, Sort::default()))
        .await
        .unwrap()
        .todos
        .into_iter()
        .map(|todo| todo.title)
        .collect()
}

async fn create_titles(store: &UserStore, titles: &[&str]) {
    for title in titles {
        store.create(new_todo(title)).await.unwrap();
    }
}

fn set(titles: &[&str]) -> BTreeSet<String> {
    titles.iter().map(|title| (*title).to_owned()).collect()
}

pub async fn title_search_is_case_insensitive_beyond_ascii(store: UserStore) {
    create_titles(
        &store,
        &[
            "ärger im Büro",
            "Kein ÄRGER",
            "arger ohne Umlaut",
            "Buy MILK",
            "ΣΊΣΥΦΟΣ rolls",
            "Über alles",
        ],
    )
    .await;
    assert_eq!(
        titles_matching(&store, "ÄRGER").await,
        set(&["ärger im Büro", "Kein ÄRGER"])
    );
    assert_eq!(
        titles_matching(&store, "ärger").await,
        set(&["ärger im Büro", "Kein ÄRGER"])
    );
    assert_eq!(titles_matching(&store, "milk").await, set(&["Buy MILK"]));
    assert_eq!(
        titles_matching(&store, "σίσυφος").await,
        set(&["ΣΊΣΥΦΟΣ rolls"])
    );
    assert_eq!(titles_matching(&store, "üBER").await, set(&["Über alles"]));
    assert_eq!(
        titles_matching(&store, "büro").await,
        set(&["ärger im Büro"])
    );
}

pub async fn title_search_wildcards_match_only_themselves(store: UserStore) {
    create_titles(
        &store,
        &[
            "50% off",
            "50 percent off",
            "snake_case",
            "snakeXcase",
            r"back\slash",
            "backslash",
            r"C:\%_",
        ],
    )
    .await;
    assert_eq!(
        titles_matching(&store, "%").await,
        set(&["50% off", r"C:\%_"])
    );
    assert_eq!(titles_matching(&store, "50%").await, set(&["50% off"]));
    assert_eq!(
        titles_matching(&store, "_").await,
        set(&["snake_case", r"C:\%_"])
    );
    assert_eq!(titles_matching(&store, "e_c").await, set(&["snake_case"]));
    assert_eq!(
        titles_matching(&store, "\\").await,
        set(&[r"back\slash", r"C:\%_"])
    );
    assert_eq!(titles_matching(&store, r"\%_").await, set(&[r"C:\%_"]));
    assert_eq!(titles_matching(&store, r"k\s").await, set(&[r"back\slash"]));
}

pub async fn delete_matching_deletes_exactly_what_list_matches(store: UserStore) {
    let mut todos = seed(&store, SEED_COUNT).await;
    let due = seed_due_base();
    let filters = [
        TodoFilter {
            title_contains: Some("nothing like this".into()),
            ..TodoFilter::default()
        },
        TodoFilter {
            title_contains: Some("%".into()),
            ..TodoFilter::default()
        },
        TodoFilter {
            completed: Some(true),
            priority: Some(priority(2)),
            ..TodoFilter::default()
        },
        TodoFilter {
            due_before: Some(due),
            ..TodoFilter::default()
        },
        TodoFilter {
            due_after: Some(due + TimeDelta::days(3)),
            min_priority: Some(priority(4)),
            ..TodoFilter::default()
        },
        TodoFilter {
            title_contains: Some(search_key("ÄRGER")),
            completed: Some(false),
            ..TodoFilter::default()
        },
        TodoFilter {
            priority: Some(priority(1)),
            ..TodoFilter::default()
        },
    ];
    for filter in filters {
        let expected = sorted_matches(&todos, &filter, Sort::default());
        let listed = store
            .list(&whole(filter.clone(), Sort::default()))
            .await
            .unwrap()
            .todos;
        assert_same_todos(&listed, &expected, &filter);
        let deleted = store.delete_matching(&filter).await.unwrap();
        assert_eq!(deleted, expected.len() as u64, "count of {filter:?}");
        todos.retain(|todo| !expected.iter().any(|gone| gone.id == todo.id));
        assert_same_todos(&all_todos(&store).await, &todos, &filter);
    }
    assert!(!todos.is_empty(), "the filters leave some todos");
}
