//! The PostgreSQL store against a real server: each test gets a fresh
//! migrated database of the binary's throwaway cluster.

use todo_core::{
    Description, Expected, IdentifiedPatch, ListQuery, NewTodo, Owner, Priority, StoreError, Title,
    TodoFilter, TodoPatch, TodoStore, parse_timestamp, search_key,
};
use todo_store_postgres::PgStore;
use todo_store_postgres::testing::TestCluster;

async fn fresh_store() -> PgStore {
    TestCluster::shared().await.fresh_store().await
}

fn new_todo(title: &str) -> NewTodo {
    NewTodo {
        title: Title::parse(title.to_owned()).expect("a valid title"),
        description: None,
        priority: Priority::default(),
        due_date: None,
        completed: false,
    }
}

fn titles(todos: &[todo_core::Todo]) -> Vec<&str> {
    todos.iter().map(|todo| todo.title.as_str()).collect()
}

#[tokio::test]
async fn a_created_todo_is_read_back_exactly_as_sent() {
    let store = fresh_store().await;
    let todo = NewTodo {
        title: Title::parse("  Écrire l'API  ".into()).unwrap(),
        description: Description::parse("with\nlines".into()),
        priority: Priority::new(5).unwrap(),
        due_date: parse_timestamp("2026-12-01T09:30:00.123456+01:00"),
        completed: true,
    };
    let created = store.create(Owner::ANONYMOUS, todo).await.unwrap();
    assert_eq!(created.title, "  Écrire l'API  ");
    assert_eq!(created.description.as_deref(), Some("with\nlines"));
    assert_eq!(created.priority, 5);
    assert_eq!(
        created.due_date,
        parse_timestamp("2026-12-01T08:30:00.123456Z")
    );
    assert!(created.completed);
    assert_eq!(created.version, 1);
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(
        store.get(Owner::ANONYMOUS, created.id).await.unwrap(),
        created
    );
}

#[tokio::test]
async fn getting_a_missing_todo_names_its_id() {
    let store = fresh_store().await;
    let error = store.get(Owner::ANONYMOUS, 424242).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound(424242)), "{error:?}");
}

#[tokio::test]
async fn a_bulk_create_gives_increasing_ids_in_input_order() {
    let store = fresh_store().await;
    let names: Vec<String> = (0..50).map(|n| format!("todo {n}")).collect();
    let created = store
        .create_many(
            Owner::ANONYMOUS,
            names.iter().map(|name| new_todo(name)).collect(),
        )
        .await
        .unwrap();
    assert_eq!(titles(&created), names);
    assert!(created.windows(2).all(|pair| pair[0].id < pair[1].id));
    assert_eq!(
        store.get(Owner::ANONYMOUS, created[7].id).await.unwrap(),
        created[7]
    );
}

#[tokio::test]
async fn the_listing_is_newest_first_and_filters_by_title_text() {
    let store = fresh_store().await;
    for title in ["Buy MILK", "walk the dog", "milk the cow"] {
        store
            .create(Owner::ANONYMOUS, new_todo(title))
            .await
            .unwrap();
    }
    let all = store
        .list(Owner::ANONYMOUS, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(
        titles(&all.todos),
        ["milk the cow", "walk the dog", "Buy MILK"]
    );
    let query = ListQuery {
        filter: TodoFilter {
            title_contains: Some(search_key("Milk")),
            ..TodoFilter::default()
        },
        ..ListQuery::default()
    };
    let found = store.list(Owner::ANONYMOUS, &query).await.unwrap();
    assert_eq!(titles(&found.todos), ["milk the cow", "Buy MILK"]);
}

#[tokio::test]
async fn an_update_changes_only_the_fields_it_sets() {
    let store = fresh_store().await;
    let mut todo = new_todo("before");
    todo.description = Description::parse("keep me".into());
    todo.due_date = parse_timestamp("2026-12-01");
    let created = store.create(Owner::ANONYMOUS, todo).await.unwrap();

    let patch = TodoPatch {
        title: Some(Title::parse("after".into()).unwrap()),
        due_date: Some(None),
        ..TodoPatch::default()
    };
    let updated = store
        .update(Owner::ANONYMOUS, created.id, patch, None)
        .await
        .unwrap();
    assert_eq!(updated.title, "after");
    assert_eq!(updated.description.as_deref(), Some("keep me"));
    assert_eq!(updated.due_date, None);
    assert_eq!(updated.priority, created.priority);
    assert_eq!(updated.version, created.version + 1);
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(
        store.get(Owner::ANONYMOUS, created.id).await.unwrap(),
        updated
    );

    // The search key follows the new title.
    let query = ListQuery {
        filter: TodoFilter {
            title_contains: Some("aft".into()),
            ..TodoFilter::default()
        },
        ..ListQuery::default()
    };
    assert_eq!(
        store
            .list(Owner::ANONYMOUS, &query)
            .await
            .unwrap()
            .todos
            .len(),
        1
    );
}

#[tokio::test]
async fn an_update_expecting_a_stale_version_fails_and_changes_nothing() {
    let store = fresh_store().await;
    let created = store
        .create(Owner::ANONYMOUS, new_todo("contested"))
        .await
        .unwrap();
    let first = TodoPatch {
        completed: Some(true),
        ..TodoPatch::default()
    };
    let current = store
        .update(
            Owner::ANONYMOUS,
            created.id,
            first,
            Some(&Expected::Versions(vec![created.version])),
        )
        .await
        .unwrap();

    let second = TodoPatch {
        priority: Priority::new(1),
        ..TodoPatch::default()
    };
    let stale = Expected::Versions(vec![created.version]);
    let error = store
        .update(Owner::ANONYMOUS, created.id, second.clone(), Some(&stale))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::PreconditionFailed), "{error:?}");
    assert_eq!(
        store.get(Owner::ANONYMOUS, created.id).await.unwrap(),
        current
    );

    let error = store
        .update(
            Owner::ANONYMOUS,
            created.id + 1000,
            second.clone(),
            Some(&stale),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound(id) if id == created.id + 1000));

    let updated = store
        .update(Owner::ANONYMOUS, created.id, second, Some(&Expected::Any))
        .await
        .unwrap();
    assert_eq!(updated.priority, 1);
}

#[tokio::test]
async fn a_bulk_update_with_a_missing_id_names_the_first_and_changes_nothing() {
    let store = fresh_store().await;
    let created = store
        .create_many(Owner::ANONYMOUS, vec![new_todo("a"), new_todo("b")])
        .await
        .unwrap();
    let done = TodoPatch {
        completed: Some(true),
        ..TodoPatch::default()
    };
    let patches = [created[0].id, 9002, created[1].id, 9001]
        .into_iter()
        .map(|id| IdentifiedPatch {
            id,
            patch: done.clone(),
        })
        .collect();
    let error = store
        .update_many(Owner::ANONYMOUS, patches)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound(9002)), "{error:?}");
    for todo in &created {
        assert_eq!(&store.get(Owner::ANONYMOUS, todo.id).await.unwrap(), todo);
    }
}

#[tokio::test]
async fn a_bulk_update_applies_every_patch_and_answers_in_input_order() {
    let store = fresh_store().await;
    let created = store
        .create_many(
            Owner::ANONYMOUS,
            (0..20).map(|n| new_todo(&format!("item {n}"))).collect(),
        )
        .await
        .unwrap();
    let patches: Vec<IdentifiedPatch> = created
        .iter()
        .rev()
        .map(|todo| IdentifiedPatch {
            id: todo.id,
            patch: TodoPatch {
                title: Some(Title::parse(format!("{} done", todo.title)).unwrap()),
                completed: Some(true),
                ..TodoPatch::default()
            },
        })
        .collect();
    let updated = store.update_many(Owner::ANONYMOUS, patches).await.unwrap();
    let ids: Vec<i64> = updated.iter().map(|todo| todo.id).collect();
    let expected: Vec<i64> = created.iter().rev().map(|todo| todo.id).collect();
    assert_eq!(ids, expected);
    assert!(
        updated
            .iter()
            .all(|todo| todo.completed && todo.title.ends_with(" done") && todo.version == 2)
    );
    assert_eq!(
        store.get(Owner::ANONYMOUS, created[3].id).await.unwrap(),
        updated[16]
    );
}

#[tokio::test]
async fn a_delete_checks_the_expected_version() {
    let store = fresh_store().await;
    let created = store
        .create(Owner::ANONYMOUS, new_todo("to delete"))
        .await
        .unwrap();
    let stale = Expected::Versions(vec![created.version + 1]);
    let error = store
        .delete(Owner::ANONYMOUS, created.id, Some(&stale))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::PreconditionFailed), "{error:?}");
    let current = Expected::Versions(vec![created.version]);
    store
        .delete(Owner::ANONYMOUS, created.id, Some(&current))
        .await
        .unwrap();
    let error = store
        .delete(Owner::ANONYMOUS, created.id, None)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound(id) if id == created.id));
    assert!(matches!(
        store.get(Owner::ANONYMOUS, created.id).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn deleting_by_filter_removes_only_the_matching_todos() {
    let store = fresh_store().await;
    let mut todos: Vec<NewTodo> = (0..6).map(|n| new_todo(&format!("todo {n}"))).collect();
    for todo in todos.iter_mut().step_by(2) {
        todo.completed = true;
    }
    store.create_many(Owner::ANONYMOUS, todos).await.unwrap();
    let filter = TodoFilter {
        completed: Some(true),
        ..TodoFilter::default()
    };
    assert_eq!(
        store
            .delete_matching(Owner::ANONYMOUS, &filter)
            .await
            .unwrap(),
        3
    );
    let left = store
        .list(Owner::ANONYMOUS, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(titles(&left.todos), ["todo 5", "todo 3", "todo 1"]);
}

#[tokio::test]
async fn the_store_answers_a_ping_and_reports_its_pool() {
    let store = fresh_store().await;
    store.ping().await.unwrap();
    let status = store.pool_status();
    // The pool's exclusive connections and the shared ones.
    assert_eq!(status.max_size, 4 + 2);
    assert_eq!(status.in_use, 0);
    assert_eq!(status.idle, status.size);
}

/// A listing by due date is prepared with its dates written in only while
/// the connection's statement cache has room; past that it goes bound and
/// unnamed. Four hundred distinct dates take every shared connection past
/// that point, and each answer must stay exact on both paths.
#[tokio::test]
async fn listings_by_many_distinct_due_dates_stay_exact_past_the_statement_cache() {
    let store = fresh_store().await;
    let start = parse_timestamp("2025-01-01").unwrap();
    let hour = chrono::Duration::hours(1);
    let todos = (0..60)
        .map(|hours| NewTodo {
            due_date: Some(start + hour * hours),
            ..new_todo(&format!("due in {hours} hours"))
        })
        .collect();
    store.create_many(Owner::ANONYMOUS, todos).await.unwrap();
    for minutes in 0..400_i64 {
        let at = start + chrono::Duration::minutes(minutes);
        let before = ListQuery {
            filter: TodoFilter {
                due_before: Some(at),
                ..TodoFilter::default()
            },
            ..ListQuery::default()
        };
        let expected = (minutes + 59) / 60;
        let found = store.list(Owner::ANONYMOUS, &before).await.unwrap();
        assert_eq!(found.todos.len() as i64, expected, "due before {at}");
        let range = ListQuery {
            filter: TodoFilter {
                due_after: Some(at),
                due_before: Some(at + hour * 2),
                completed: Some(false),
                ..TodoFilter::default()
            },
            ..ListQuery::default()
        };
        let found = store.list(Owner::ANONYMOUS, &range).await.unwrap();
        let expected = (0..60)
            .filter(|hours| {
                let due = start + hour * *hours;
                due >= at && due < at + hour * 2
            })
            .count();
        assert_eq!(found.todos.len(), expected, "due from {at} for two hours");
    }
    let all = store
        .list(Owner::ANONYMOUS, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(all.todos.len(), 60);
}

/// The groups a store reported.
#[derive(Default)]
struct RecordedGroups(std::sync::Mutex<Vec<(todo_core::GroupKind, usize)>>);

impl todo_core::GroupObserver for RecordedGroups {
    fn group_served(&self, kind: todo_core::GroupKind, size: usize) {
        self.0.lock().expect("not poisoned").push((kind, size));
    }
}

#[tokio::test]
async fn concurrent_listings_are_served_in_groups_each_with_its_own_page() {
    let store: std::sync::Arc<dyn TodoStore> = std::sync::Arc::new(fresh_store().await);
    let groups = std::sync::Arc::new(RecordedGroups::default());
    store.observe_groups(groups.clone());
    todo_core::testing::concurrent_listings_of_many_users_each_get_their_own_page(store).await;
    let largest = groups
        .0
        .lock()
        .expect("not poisoned")
        .iter()
        .filter(|(kind, _)| *kind == todo_core::GroupKind::List)
        .map(|(_, size)| *size)
        .max();
    assert!(
        largest.is_some_and(|size| size > 1),
        "listings were grouped: largest group {largest:?}"
    );
}
