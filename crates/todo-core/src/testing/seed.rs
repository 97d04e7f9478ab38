//! Test data: todos to create, and helpers that create and read them back.

use chrono::TimeDelta;

use crate::input::NewTodo;
use crate::listing::{ListQuery, MAX_LIMIT, Sort, SortField, TodoFilter};
use crate::testing::UserStore;
use crate::todo::{Description, Priority, Timestamp, Title, Todo, parse_timestamp};

/// How many todos the listing checks start with.
pub(crate) const SEED_COUNT: usize = 200;

/// Titles that exercise the `q` filter: case beyond ASCII, the LIKE
/// wildcards next to look-alikes, combining marks, emoji, padding.
const TITLES: [&str; 20] = [
    "Buy milk",
    "buy MILK and eggs",
    "Ärger im Büro",
    "kein ärger",
    "ÄRGER",
    "50% off",
    "50 percent off",
    "snake_case",
    "snakeXcase",
    r"back\slash",
    "backslash",
    "Straße fegen",
    "STRASSE",
    "Ωmega ΣΊΣΥΦΟΣ",
    "café ☕",
    "🎉 party",
    "e\u{301}clair",
    "  padded  ",
    "日本語のタスク",
    "plain",
];

/// A todo with this title and every other field at its default.
pub(crate) fn new_todo(title: &str) -> NewTodo {
    NewTodo {
        title: Title::parse(title.to_owned()).unwrap(),
        description: None,
        priority: Priority::default(),
        due_date: None,
        completed: false,
    }
}

pub(crate) fn title(text: &str) -> crate::todo::Title {
    crate::todo::Title::parse(text.to_owned()).unwrap()
}

pub(crate) fn description(text: &str) -> Description {
    Description::parse(text.to_owned()).unwrap()
}

pub(crate) fn priority(value: i64) -> Priority {
    Priority::new(value).unwrap()
}

pub(crate) fn at(text: &str) -> Timestamp {
    parse_timestamp(text).unwrap()
}

/// The due date base of the seeds; seeds share a few due dates, so sorts
/// and the due filters meet ties.
pub(crate) fn seed_due_base() -> Timestamp {
    at("2026-03-01T08:00:00.123456Z")
}

/// The `index`th seed: priorities, completion, due dates (about a third
/// without one, the rest on eleven distinct values) and titles all vary.
pub(crate) fn seed_todo(index: usize) -> NewTodo {
    let step = |n: usize| i64::try_from(n).unwrap();
    let due_date = match index % 6 {
        0 | 3 => None,
        _ => Some(seed_due_base() + TimeDelta::days(step(index * 5 % 11) - 5)),
    };
    NewTodo {
        title: Title::parse(format!("{} {index}", TITLES[index % TITLES.len()])).unwrap(),
        description: (!index.is_multiple_of(4)).then(|| description(&format!("note {index}"))),
        priority: priority(1 + step((index * 7 + index / 5) % 5)),
        due_date,
        completed: index % 3 == 1,
    }
}

/// Creates `count` seeds, alternating bulk and single creates so that
/// created_at has both ties and distinct values; returns them as created.
pub(crate) async fn seed(store: &UserStore, count: usize) -> Vec<Todo> {
    let seeds: Vec<NewTodo> = (0..count).map(seed_todo).collect();
    let mut created = Vec::with_capacity(count);
    for (chunk_index, chunk) in seeds.chunks(20).enumerate() {
        if chunk_index % 2 == 0 {
            let todos = store.create_many(chunk.to_vec()).await.unwrap();
            assert_eq!(todos.len(), chunk.len(), "create_many returns every todo");
            created.extend(todos);
        } else {
            for todo in chunk {
                created.push(store.create(todo.clone()).await.unwrap());
            }
        }
    }
    created
}

/// Every todo in the store, by id, read through `list`.
pub(crate) async fn all_todos(store: &UserStore) -> Vec<Todo> {
    let query = ListQuery {
        filter: TodoFilter::default(),
        sort: Sort {
            field: SortField::Id,
            descending: false,
        },
        limit: MAX_LIMIT,
        offset: 0,
        after: None,
    };
    let page = store.list(&query).await.unwrap();
    assert!(page.next.is_none(), "more todos than one page holds");
    page.todos
}

/// All eight sorts.
pub(crate) fn every_sort() -> Vec<Sort> {
    [
        SortField::CreatedAt,
        SortField::Priority,
        SortField::DueDate,
        SortField::Id,
    ]
    .into_iter()
    .flat_map(|field| [false, true].map(|descending| Sort { field, descending }))
    .collect()
}

/// The filters the listing checks try: each one alone, boundaries of the
/// due filters on a due date several seeds share, and combinations.
pub(crate) fn probe_filters() -> Vec<TodoFilter> {
    let due = seed_due_base();
    let none = TodoFilter::default;
    let text = |q: &str| Some(crate::todo::search_key(q));
    vec![
        none(),
        TodoFilter {
            completed: Some(true),
            ..none()
        },
        TodoFilter {
            completed: Some(false),
            ..none()
        },
        TodoFilter {
            priority: Some(priority(1)),
            ..none()
        },
        TodoFilter {
            priority: Some(priority(5)),
            ..none()
        },
        TodoFilter {
            min_priority: Some(priority(4)),
            ..none()
        },
        TodoFilter {
            min_priority: Some(priority(1)),
            ..none()
        },
        TodoFilter {
            due_before: Some(due),
            ..none()
        },
        TodoFilter {
            due_after: Some(due),
            ..none()
        },
        TodoFilter {
            due_after: Some(due - TimeDelta::days(2)),
            due_before: Some(due + TimeDelta::days(2)),
            ..none()
        },
        TodoFilter {
            title_contains: text("milk"),
            ..none()
        },
        TodoFilter {
            title_contains: text("ÄRGER"),
            ..none()
        },
        TodoFilter {
            title_contains: text("%"),
            ..none()
        },
        TodoFilter {
            title_contains: text("_"),
            ..none()
        },
        TodoFilter {
            title_contains: text("\\"),
            ..none()
        },
        TodoFilter {
            title_contains: text("STRAßE"),
            ..none()
        },
        TodoFilter {
            title_contains: text("σίσυφος"),
            ..none()
        },
        TodoFilter {
            title_contains: text("🎉"),
            ..none()
        },
        TodoFilter {
            title_contains: text("e\u{301}c"),
            ..none()
        },
        TodoFilter {
            title_contains: text("  pad"),
            ..none()
        },
        TodoFilter {
            title_contains: text("nothing like this"),
            ..none()
        },
        TodoFilter {
            completed: Some(false),
            min_priority: Some(priority(3)),
            due_after: Some(due - TimeDelta::days(3)),
            ..none()
        },
        TodoFilter {
            completed: Some(true),
            priority: Some(priority(2)),
            title_contains: text("a"),
            ..none()
        },
        TodoFilter {
            min_priority: Some(priority(2)),
            due_before: Some(due + TimeDelta::days(1)),
            title_contains: text("E"),
            ..none()
        },
    ]
}
