//! Migrations of the PostgreSQL store against a real server.

use todo_core::{NewTodo, Owner, Priority, Title, TodoStore};
use todo_store_postgres::PgStore;
use todo_store_postgres::testing::{TEST_OPTIONS, TestCluster};

#[tokio::test]
async fn two_instances_migrating_one_database_at_once_both_succeed() {
    let cluster = TestCluster::shared().await;
    let url = cluster.empty_database_url().await;
    let first = PgStore::connect(&url, TEST_OPTIONS).await.unwrap();
    let second = PgStore::connect(&url, TEST_OPTIONS).await.unwrap();
    let (a, b) = tokio::join!(first.migrate(), second.migrate());
    a.unwrap();
    b.unwrap();
    // Again, as an instance restarting would.
    first.migrate().await.unwrap();

    let todo = NewTodo {
        title: Title::parse("migrated".into()).unwrap(),
        description: None,
        priority: Priority::default(),
        due_date: None,
        completed: false,
    };
    let created = second.create(Owner::ANONYMOUS, todo).await.unwrap();
    assert_eq!(
        first.get(Owner::ANONYMOUS, created.id).await.unwrap(),
        created
    );
}

#[tokio::test]
async fn a_database_from_before_users_migrates_in_place_to_the_anonymous_users_list() {
    let cluster = TestCluster::shared().await;
    let url = cluster.empty_database_url().await;
    let store = PgStore::connect(&url, TEST_OPTIONS).await.unwrap();
    store.migrate_to_version(2).await;
    // What the previous release wrote: a todo and an idempotency key.
    store
        .execute_batch(
            "insert into todos (title, title_search) values ('Old milk', 'old milk');
             insert into idempotency_keys (scope, key, fingerprint, status, body)
             values ('', 'old-key', 'f', 201, '{\"id\":1}');",
        )
        .await;
    store.migrate().await.unwrap();
    let listed = store
        .list(Owner::ANONYMOUS, &todo_core::ListQuery::default())
        .await
        .unwrap();
    assert_eq!(listed.todos.len(), 1);
    assert_eq!(listed.todos[0].title, "Old milk");
    let alice = store.owner_of("alice").await.unwrap();
    assert!(
        store
            .list(alice, &todo_core::ListQuery::default())
            .await
            .unwrap()
            .todos
            .is_empty()
    );
    let key = todo_core::IdempotencyKey {
        scope: String::new(),
        key: "old-key".into(),
        fingerprint: "f".into(),
    };
    let creation = todo_core::Creation::One(NewTodo {
        title: Title::parse("again".into()).unwrap(),
        description: None,
        priority: Priority::default(),
        due_date: None,
        completed: false,
    });
    let replayed = store
        .create_keyed(Owner::ANONYMOUS, &key, creation.clone())
        .await
        .unwrap();
    assert!(
        matches!(replayed, todo_core::KeyedOutcome::Replayed(_)),
        "{replayed:?}"
    );
    let theirs = store.create_keyed(alice, &key, creation).await.unwrap();
    assert!(
        matches!(theirs, todo_core::KeyedOutcome::Created(_)),
        "another user's key"
    );
}
