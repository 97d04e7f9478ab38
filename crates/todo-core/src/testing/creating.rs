//! Checks of `create`, `create_many` and `get` (API.md, "The resource").

use chrono::Timelike;

use crate::input::NewTodo;
use crate::store::StoreError;
use crate::testing::UserStore;
use crate::testing::seed::{all_todos, at, description, new_todo, priority};
use crate::todo::{Title, Todo};

/// A todo fresh from `create`: version 1, and created_at == updated_at at
/// stored (microsecond) precision.
#[track_caller]
fn assert_fresh(todo: &Todo) {
    assert_eq!(todo.version, 1, "a new todo is at version 1: {todo:?}");
    assert_eq!(todo.created_at, todo.updated_at, "{todo:?}");
    assert_eq!(todo.created_at.nanosecond() % 1000, 0, "{todo:?}");
}

pub async fn create_returns_the_stored_todo_with_defaults(store: UserStore) {
    let created = store.create(new_todo("Buy milk")).await.unwrap();
    assert_eq!(created.title, "Buy milk");
    assert_eq!(created.description, None);
    assert_eq!(created.priority, 3);
    assert_eq!(created.due_date, None);
    assert!(!created.completed);
    assert_fresh(&created);
    assert_eq!(store.get(created.id).await.unwrap(), created);
}

pub async fn create_stores_every_field_as_sent(store: UserStore) {
    let todo = NewTodo {
        title: Title::parse("Write report".into()).unwrap(),
        description: Some(description("quarterly, with figures")),
        priority: priority(5),
        due_date: Some(at("2026-12-01T09:30:00.5Z")),
        completed: true,
    };
    let created = store.create(todo).await.unwrap();
    assert_eq!(created.title, "Write report");
    assert_eq!(
        created.description.as_deref(),
        Some("quarterly, with figures")
    );
    assert_eq!(created.priority, 5);
    assert_eq!(created.due_date, Some(at("2026-12-01T09:30:00.500000Z")));
    assert!(created.completed);
    assert_fresh(&created);
    assert_eq!(store.get(created.id).await.unwrap(), created);
}

pub async fn getting_a_missing_todo_is_not_found(store: UserStore) {
    let missing = store.get(1).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(1)), "{missing:?}");
    let created = store.create(new_todo("here")).await.unwrap();
    let gone = created.id + 1000;
    let missing = store.get(gone).await.unwrap_err();
    assert!(
        matches!(missing, StoreError::NotFound(id) if id == gone),
        "{missing:?}"
    );
}

pub async fn titles_and_descriptions_are_stored_exactly_as_sent(store: UserStore) {
    let texts = [
        "  leading and trailing spaces  ".to_owned(),
        "\ttab and\nnewline\r\n".to_owned(),
        "Ärger über Straße, ΣΊΣΥΦΟΣ, 日本語".to_owned(),
        "emoji 🎉👩‍👩‍👧 and flags 🇩🇪".to_owned(),
        // Precomposed and combining forms stay distinct (no normalisation).
        "\u{e9}clair".to_owned(),
        "e\u{301}clair".to_owned(),
        "quotes ' \" ` and \\ % _ ; -- /*".to_owned(),
        "é".repeat(200),
        "🎉".repeat(200),
        "x".repeat(200),
    ];
    for text in &texts {
        let long_description = format!("{text}{}", "ü".repeat(2000 - text.chars().count()));
        for desc in [text.clone(), long_description] {
            let mut todo = new_todo(text);
            todo.description = Some(description(&desc));
            let created = store.create(todo).await.unwrap();
            assert_eq!(&created.title, text);
            assert_eq!(created.description.as_ref(), Some(&desc));
            assert_eq!(store.get(created.id).await.unwrap(), created);
        }
    }
    let listed = all_todos(&store).await;
    assert_eq!(listed.len(), texts.len() * 2);
    for (todo, text) in listed.iter().step_by(2).zip(&texts) {
        assert_eq!(&todo.title, text, "as listed");
    }
}

pub async fn timestamps_round_trip_at_microsecond_precision(store: UserStore) {
    let dues = [
        "2026-12-01T09:30:00.123456Z",
        "2026-12-01T09:30:00.000001Z",
        "2026-12-01T09:30:00.999999+05:30",
        "1969-12-31T23:59:59.999999Z",
        "1970-01-01T00:00:00Z",
        "2000-02-29T12:00:00.5Z",
        "9999-12-31T23:59:59.999999Z",
        "2026-12-01",
    ];
    for text in dues {
        let mut todo = new_todo(text);
        todo.due_date = Some(at(text));
        let created = store.create(todo).await.unwrap();
        assert_eq!(created.due_date, Some(at(text)), "{text}");
        let read = store.get(created.id).await.unwrap();
        assert_eq!(read.due_date, Some(at(text)), "{text}");
        assert_eq!(read.created_at, created.created_at);
        assert_eq!(read.updated_at, created.updated_at);
        assert_fresh(&read);
    }
}

pub async fn created_todos_get_increasing_ids_in_input_order(store: UserStore) {
    let titles: Vec<String> = (0..50).map(|index| format!("bulk {index}")).collect();
    let created = store
        .create_many(titles.iter().map(|title| new_todo(title)).collect())
        .await
        .unwrap();
    let created_titles: Vec<&str> = created.iter().map(|todo| todo.title.as_str()).collect();
    assert_eq!(created_titles, titles, "returned in input order");
    assert!(
        created.windows(2).all(|pair| pair[0].id < pair[1].id),
        "ids increase in input order: {:?}",
        created.iter().map(|todo| todo.id).collect::<Vec<_>>()
    );
    for todo in &created {
        assert_fresh(todo);
        assert_eq!(&store.get(todo.id).await.unwrap(), todo);
    }
    let more = store
        .create_many(vec![new_todo("later a"), new_todo("later b")])
        .await
        .unwrap();
    assert!(more[0].id > created[49].id && more[1].id > more[0].id);
    assert_eq!(all_todos(&store).await.len(), 52);
}

pub async fn successive_creates_get_increasing_ids(store: UserStore) {
    let mut last: Option<Todo> = None;
    for index in 0..10 {
        let todo = store
            .create(new_todo(&format!("one by one {index}")))
            .await
            .unwrap();
        if let Some(last) = &last {
            assert!(todo.id > last.id, "{todo:?} after {last:?}");
        }
        last = Some(todo);
    }
}
