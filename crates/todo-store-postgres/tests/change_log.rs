//! The change log's ordering on PostgreSQL, made visible: a writer that
//! took a change number and has not committed yet holds back every reader
//! of that owner's log, so no reader can move past its number; and writers
//! never wait for one another (ARCHITECTURE.md, "The change log").

use std::time::Duration;

use todo_core::{Change, NewTodo, Owner, Priority, Title, TodoStore};
use todo_store_postgres::PgStore;
use todo_store_postgres::testing::{TEST_OPTIONS, TestCluster};
use tokio_postgres::{Client, NoTls};

fn new_todo(title: &str) -> NewTodo {
    NewTodo {
        title: Title::parse(title.to_owned()).expect("a valid title"),
        description: None,
        priority: Priority::default(),
        due_date: None,
        completed: false,
    }
}

/// A store and the URL of its fresh database.
async fn store_and_url() -> (PgStore, String) {
    let url = TestCluster::shared().await.fresh_database_url().await;
    let store = PgStore::connect(&url, TEST_OPTIONS)
        .await
        .expect("could not connect to the test database");
    (store, url)
}

/// A connection of the test's own, as another program writing to the
/// database would have.
async fn raw_connection(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("a raw connection");
    tokio::spawn(connection);
    client
}

const PAUSE: Duration = Duration::from_millis(300);

#[tokio::test]
async fn a_reader_waits_for_a_writer_that_took_an_earlier_number() {
    let (store, url) = store_and_url().await;
    let owner = Owner::ANONYMOUS;
    let early = store.create(owner, new_todo("early")).await.unwrap();
    let start = store.change_head(owner).await.unwrap();
    // Takes a number for its update, and keeps its transaction open.
    let slow = raw_connection(&url).await;
    slow.batch_execute(&format!(
        "begin; update todos set title = 'slow', version = version + 1 where id = {}",
        early.id
    ))
    .await
    .unwrap();
    // Takes a later number and commits at once: it does not wait.
    let late = tokio::time::timeout(PAUSE, store.create(owner, new_todo("late")))
        .await
        .expect("a writer does not wait for another")
        .unwrap();
    let reading = tokio::spawn({
        let store = store.clone();
        async move { store.changes(owner, Some(start), 100).await }
    });
    tokio::time::sleep(PAUSE).await;
    assert!(
        !reading.is_finished(),
        "a reader must not see the later change before the earlier one commits"
    );
    slow.batch_execute("commit").await.unwrap();
    let page = reading.await.unwrap().unwrap();
    let ids: Vec<i64> = page
        .changes
        .iter()
        .map(|numbered| numbered.change.id())
        .collect();
    assert_eq!(ids, [early.id, late.id], "both, in commit order");
    assert!(matches!(&page.changes[0].change, Change::Upsert(todo) if todo.title == "slow"));
}

#[tokio::test]
async fn a_reader_of_another_owner_does_not_wait() {
    let (store, url) = store_and_url().await;
    let alice = store.owner_of("alice").await.unwrap();
    let mine = store
        .create(Owner::ANONYMOUS, new_todo("anonymous"))
        .await
        .unwrap();
    store.create(alice, new_todo("alice's")).await.unwrap();
    let slow = raw_connection(&url).await;
    slow.batch_execute(&format!(
        "begin; update todos set title = 'slow', version = version + 1 where id = {}",
        mine.id
    ))
    .await
    .unwrap();
    let page = tokio::time::timeout(PAUSE, store.changes(alice, None, 100))
        .await
        .expect("another owner's writer holds nothing of alice's log")
        .unwrap();
    assert_eq!(page.changes.len(), 1);
    slow.batch_execute("rollback").await.unwrap();
}

#[tokio::test]
async fn a_delete_by_another_program_is_logged_too() {
    let (store, url) = store_and_url().await;
    let owner = Owner::ANONYMOUS;
    let todo = store.create(owner, new_todo("doomed")).await.unwrap();
    let start = store.change_head(owner).await.unwrap();
    let other = raw_connection(&url).await;
    other
        .batch_execute(&format!("delete from todos where id = {}", todo.id))
        .await
        .unwrap();
    let page = store.changes(owner, Some(start), 100).await.unwrap();
    assert_eq!(page.changes.len(), 1);
    assert_eq!(page.changes[0].change, Change::Delete(todo.id));
}
