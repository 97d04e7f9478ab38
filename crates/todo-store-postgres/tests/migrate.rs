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
