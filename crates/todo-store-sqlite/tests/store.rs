//! The SQLite store against a real database file in a temporary directory.

use std::collections::HashSet;
use std::time::Duration;

use tempfile::TempDir;
use todo_core::{
    Description, Expected, IdentifiedPatch, ListQuery, NewTodo, Owner, Priority, Sort, SortField,
    StoreError, Title, TodoFilter, TodoPatch, TodoStore, parse_timestamp,
};
use todo_store_sqlite::{OpenError, SqliteOptions, SqliteStore};

/// A fresh migrated store; keep the directory alive as long as the store.
async fn open_store() -> (TempDir, SqliteStore) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&directory.path().join("todos.db"), options())
        .await
        .expect("the store opens");
    (directory, store)
}

fn options() -> SqliteOptions {
    SqliteOptions {
        readers: 4,
        acquire_timeout: Duration::from_secs(5),
    }
}

fn new_todo(title: &str) -> NewTodo {
    NewTodo {
        title: Title::parse(title.into()).expect("a valid title"),
        description: None,
        priority: Priority::default(),
        due_date: None,
        completed: false,
    }
}

fn title(text: &str) -> Title {
    Title::parse(text.into()).expect("a valid title")
}

#[tokio::test]
async fn a_created_todo_reads_back_the_same() {
    let (_directory, store) = open_store().await;
    let due = parse_timestamp("2026-12-01T09:30:00.123456Z");
    let created = store
        .create(
            Owner::ANONYMOUS,
            NewTodo {
                description: Description::parse("two litres".into()),
                priority: Priority::new(5).expect("a priority"),
                due_date: due,
                ..new_todo("Buy Milk")
            },
        )
        .await
        .expect("created");
    assert_eq!(created.title, "Buy Milk");
    assert_eq!(created.description.as_deref(), Some("two litres"));
    assert_eq!(created.priority, 5);
    assert_eq!(created.due_date, due);
    assert!(!created.completed);
    assert_eq!(created.version, 1);
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(
        store
            .get(Owner::ANONYMOUS, created.id)
            .await
            .expect("found"),
        created
    );
}

#[tokio::test]
async fn getting_a_missing_todo_is_not_found() {
    let (_directory, store) = open_store().await;
    assert!(matches!(
        store.get(Owner::ANONYMOUS, 42).await,
        Err(StoreError::NotFound(42))
    ));
}

#[tokio::test]
async fn a_listing_is_newest_first_and_filters_by_title() {
    let (_directory, store) = open_store().await;
    for name in ["Buy milk", "Walk the dog", "BUY bread"] {
        store
            .create(Owner::ANONYMOUS, new_todo(name))
            .await
            .expect("created");
    }
    let all = store
        .list(Owner::ANONYMOUS, &ListQuery::default())
        .await
        .expect("listed");
    let titles: Vec<_> = all.todos.iter().map(|todo| todo.title.as_str()).collect();
    assert_eq!(titles, ["BUY bread", "Walk the dog", "Buy milk"]);

    let query = ListQuery {
        filter: TodoFilter {
            title_contains: Some("buy".into()),
            ..TodoFilter::default()
        },
        ..ListQuery::default()
    };
    let found = store.list(Owner::ANONYMOUS, &query).await.expect("listed");
    let titles: Vec<_> = found.todos.iter().map(|todo| todo.title.as_str()).collect();
    assert_eq!(titles, ["BUY bread", "Buy milk"]);
}

#[tokio::test]
async fn a_due_date_walk_puts_undated_todos_last_both_ways_and_pages_by_cursor() {
    let (_directory, store) = open_store().await;
    for (name, due) in [
        ("undated 1", None),
        ("late", Some("2026-12-03")),
        ("early", Some("2026-12-01")),
        ("undated 2", None),
        ("middle", Some("2026-12-02")),
    ] {
        let todo = NewTodo {
            due_date: due.and_then(parse_timestamp),
            ..new_todo(name)
        };
        store.create(Owner::ANONYMOUS, todo).await.expect("created");
    }
    for (descending, expected) in [
        (false, ["early", "middle", "late", "undated 1", "undated 2"]),
        (true, ["late", "middle", "early", "undated 2", "undated 1"]),
    ] {
        let sort = Sort {
            field: SortField::DueDate,
            descending,
        };
        let mut query = ListQuery {
            sort,
            limit: 2,
            ..ListQuery::default()
        };
        let mut walked = Vec::new();
        loop {
            let page = store.list(Owner::ANONYMOUS, &query).await.expect("listed");
            walked.extend(page.todos.iter().map(|todo| todo.title.clone()));
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        assert_eq!(walked, expected, "descending: {descending}");
    }
}

#[tokio::test]
async fn an_update_changes_only_the_fields_it_sets_and_counts_the_change() {
    let (_directory, store) = open_store().await;
    let created = store
        .create(
            Owner::ANONYMOUS,
            NewTodo {
                description: Description::parse("two litres".into()),
                due_date: parse_timestamp("2026-12-01"),
                ..new_todo("Buy milk")
            },
        )
        .await
        .expect("created");
    let patch = TodoPatch {
        title: Some(title("Buy oat milk")),
        description: Some(None),
        completed: Some(true),
        ..TodoPatch::default()
    };
    let updated = store
        .update(
            Owner::ANONYMOUS,
            created.id,
            patch,
            Some(&Expected::Versions(vec![1])),
        )
        .await
        .expect("updated");
    assert_eq!(updated.title, "Buy oat milk");
    assert_eq!(updated.description, None);
    assert_eq!(updated.due_date, created.due_date);
    assert_eq!(updated.priority, created.priority);
    assert!(updated.completed);
    assert_eq!(updated.version, 2);
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(
        store
            .get(Owner::ANONYMOUS, created.id)
            .await
            .expect("found"),
        updated
    );
}

#[tokio::test]
async fn an_update_with_a_stale_version_fails_and_changes_nothing() {
    let (_directory, store) = open_store().await;
    let created = store
        .create(Owner::ANONYMOUS, new_todo("Buy milk"))
        .await
        .expect("created");
    let patch = TodoPatch {
        title: Some(title("Changed")),
        ..TodoPatch::default()
    };
    store
        .update(Owner::ANONYMOUS, created.id, patch.clone(), None)
        .await
        .expect("updated");
    let current = store
        .get(Owner::ANONYMOUS, created.id)
        .await
        .expect("found");

    let stale = store
        .update(
            Owner::ANONYMOUS,
            created.id,
            patch,
            Some(&Expected::Versions(vec![1])),
        )
        .await;
    assert!(matches!(stale, Err(StoreError::PreconditionFailed)));
    assert_eq!(
        store
            .get(Owner::ANONYMOUS, created.id)
            .await
            .expect("found"),
        current
    );
}

#[tokio::test]
async fn an_update_of_a_missing_todo_is_not_found_whatever_it_expects() {
    let (_directory, store) = open_store().await;
    let result = store
        .update(
            Owner::ANONYMOUS,
            7,
            TodoPatch::default(),
            Some(&Expected::Any),
        )
        .await;
    assert!(matches!(result, Err(StoreError::NotFound(7))));
}

#[tokio::test]
async fn a_bulk_update_with_a_missing_id_names_the_first_missing_and_changes_nothing() {
    let (_directory, store) = open_store().await;
    let first = store
        .create(Owner::ANONYMOUS, new_todo("One"))
        .await
        .expect("created");
    let second = store
        .create(Owner::ANONYMOUS, new_todo("Two"))
        .await
        .expect("created");
    let done = TodoPatch {
        completed: Some(true),
        ..TodoPatch::default()
    };
    let patches = [first.id, 1000, second.id, 1001]
        .into_iter()
        .map(|id| IdentifiedPatch {
            id,
            patch: done.clone(),
        })
        .collect();
    let result = store.update_many(Owner::ANONYMOUS, patches).await;
    assert!(matches!(result, Err(StoreError::NotFound(1000))));
    assert_eq!(
        store.get(Owner::ANONYMOUS, first.id).await.expect("found"),
        first
    );
    assert_eq!(
        store.get(Owner::ANONYMOUS, second.id).await.expect("found"),
        second
    );
}

#[tokio::test]
async fn a_bulk_update_returns_the_todos_in_input_order() {
    let (_directory, store) = open_store().await;
    let first = store
        .create(Owner::ANONYMOUS, new_todo("One"))
        .await
        .expect("created");
    let second = store
        .create(Owner::ANONYMOUS, new_todo("Two"))
        .await
        .expect("created");
    let patches = vec![
        IdentifiedPatch {
            id: second.id,
            patch: TodoPatch {
                priority: Priority::new(1),
                ..TodoPatch::default()
            },
        },
        IdentifiedPatch {
            id: first.id,
            patch: TodoPatch::default(),
        },
    ];
    let updated = store
        .update_many(Owner::ANONYMOUS, patches)
        .await
        .expect("updated");
    let ids: Vec<_> = updated.iter().map(|todo| todo.id).collect();
    assert_eq!(ids, [second.id, first.id]);
    assert_eq!(updated[0].priority, 1);
    assert!(updated.iter().all(|todo| todo.version == 2));
}

#[tokio::test]
async fn a_deleted_todo_is_gone_and_a_stale_delete_keeps_it() {
    let (_directory, store) = open_store().await;
    let created = store
        .create(Owner::ANONYMOUS, new_todo("Buy milk"))
        .await
        .expect("created");
    let stale = store
        .delete(
            Owner::ANONYMOUS,
            created.id,
            Some(&Expected::Versions(vec![2])),
        )
        .await;
    assert!(matches!(stale, Err(StoreError::PreconditionFailed)));
    assert_eq!(
        store.get(Owner::ANONYMOUS, created.id).await.expect("kept"),
        created
    );

    store
        .delete(
            Owner::ANONYMOUS,
            created.id,
            Some(&Expected::Versions(vec![1])),
        )
        .await
        .expect("deleted");
    assert!(matches!(
        store.get(Owner::ANONYMOUS, created.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delete(Owner::ANONYMOUS, created.id, None).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn deleting_by_filter_removes_only_the_matching_todos_and_counts_them() {
    let (_directory, store) = open_store().await;
    for (name, completed) in [("a", true), ("b", false), ("c", true)] {
        store
            .create(
                Owner::ANONYMOUS,
                NewTodo {
                    completed,
                    ..new_todo(name)
                },
            )
            .await
            .expect("created");
    }
    let filter = TodoFilter {
        completed: Some(true),
        ..TodoFilter::default()
    };
    assert_eq!(
        store
            .delete_matching(Owner::ANONYMOUS, &filter)
            .await
            .expect("deleted"),
        2
    );
    let left = store
        .list(Owner::ANONYMOUS, &ListQuery::default())
        .await
        .expect("listed");
    let titles: Vec<_> = left.todos.iter().map(|todo| todo.title.as_str()).collect();
    assert_eq!(titles, ["b"]);
}

#[tokio::test]
async fn a_bulk_create_stores_the_todos_in_input_order() {
    let (_directory, store) = open_store().await;
    let names = ["first", "second", "third", "fourth"];
    let created = store
        .create_many(
            Owner::ANONYMOUS,
            names.iter().map(|name| new_todo(name)).collect(),
        )
        .await
        .expect("created");
    let titles: Vec<_> = created.iter().map(|todo| todo.title.as_str()).collect();
    assert_eq!(titles, names);
    assert!(created.windows(2).all(|pair| pair[0].id < pair[1].id));
    for todo in &created {
        assert_eq!(
            &store.get(Owner::ANONYMOUS, todo.id).await.expect("found"),
            todo
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_creates_all_land_with_distinct_ids() {
    let (_directory, store) = open_store().await;
    let tasks: Vec<_> = (0..200)
        .map(|index| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create(Owner::ANONYMOUS, new_todo(&format!("todo {index}")))
                    .await
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        let todo = task.await.expect("the task ran").expect("created");
        ids.insert(todo.id);
    }
    assert_eq!(ids.len(), 200);
    let query = ListQuery {
        limit: 500,
        ..ListQuery::default()
    };
    assert_eq!(
        store
            .list(Owner::ANONYMOUS, &query)
            .await
            .expect("listed")
            .todos
            .len(),
        200
    );
}

#[tokio::test]
async fn every_connection_runs_in_wal_mode_with_full_sync() {
    let (_directory, store) = open_store().await;
    for settings in [
        store.writer_settings().await.expect("read"),
        store.reader_settings().await.expect("read"),
    ] {
        assert_eq!(settings.journal_mode, "wal");
        assert_eq!(settings.synchronous, 2, "FULL");
        assert!(settings.foreign_keys);
        assert_eq!(settings.busy_timeout_ms, 5000);
    }
}

#[tokio::test]
async fn a_write_while_another_process_holds_the_lock_is_unavailable_and_changes_nothing() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("todos.db");
    let store = SqliteStore::open(
        &path,
        SqliteOptions {
            readers: 1,
            acquire_timeout: Duration::from_millis(200),
        },
    )
    .await
    .expect("the store opens");
    let other = rusqlite::Connection::open(&path).expect("opened");
    other.execute_batch("begin immediate").expect("locked");

    let result = store.create(Owner::ANONYMOUS, new_todo("Buy milk")).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );

    other.execute_batch("rollback").expect("unlocked");
    let left = store
        .list(Owner::ANONYMOUS, &ListQuery::default())
        .await
        .expect("listed");
    assert!(left.todos.is_empty());
    store
        .create(Owner::ANONYMOUS, new_todo("Buy milk"))
        .await
        .expect("created");
}

#[tokio::test]
async fn a_closed_store_answers_unavailable() {
    let (_directory, store) = open_store().await;
    store.ping().await.expect("answers");
    store.close().await;
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.create(Owner::ANONYMOUS, new_todo("late")).await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn the_pool_counts_the_writer_and_every_reader() {
    let (_directory, store) = open_store().await;
    let status = store.pool_status();
    assert_eq!(status.max_size, 5);
    assert_eq!(status.size, 5);
    assert_eq!(status.idle, 5);
    assert_eq!(status.in_use, 0);
    assert_eq!(status.waiting, 0);
}

#[tokio::test]
async fn a_store_without_readers_or_time_to_acquire_is_refused() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("todos.db");
    for options in [
        SqliteOptions {
            readers: 0,
            ..options()
        },
        SqliteOptions {
            acquire_timeout: Duration::ZERO,
            ..options()
        },
    ] {
        let result = SqliteStore::open(&path, options).await;
        assert!(matches!(result, Err(OpenError::Options(_))), "{options:?}");
    }
}

#[tokio::test]
async fn a_database_from_before_users_migrates_in_place_to_the_anonymous_users_list() {
    let directory = tempfile::tempdir().expect("a directory");
    let path = directory.path().join("todo.db");
    todo_store_sqlite::migrate_to_version(&path, 2).expect("migrated to V2");
    // What the previous release wrote: a todo and an idempotency key.
    let old = rusqlite::Connection::open(&path).expect("opened");
    old.execute_batch(
        "insert into todos (title, title_search, created_at, updated_at)
         values ('Old milk', 'old milk', 1, 1);
         insert into idempotency_keys (scope, key, fingerprint, status, body, created_at)
         values ('', 'old-key', 'f', 201, '{\"id\":1}', 1);",
    )
    .expect("written");
    drop(old);
    let store = SqliteStore::open(&path, options()).await.expect("opened");
    let listed = store
        .list(Owner::ANONYMOUS, &ListQuery::default())
        .await
        .expect("listed");
    let titles: Vec<_> = listed
        .todos
        .iter()
        .map(|todo| todo.title.as_str())
        .collect();
    assert_eq!(titles, ["Old milk"]);
    let alice = store.owner_of("alice").await.expect("a user");
    assert!(
        store
            .list(alice, &ListQuery::default())
            .await
            .expect("listed")
            .todos
            .is_empty()
    );
    let key = todo_core::IdempotencyKey {
        scope: String::new(),
        key: "old-key".into(),
        fingerprint: "f".into(),
    };
    let creation = todo_core::Creation::One(new_todo("again"));
    let replayed = store
        .create_keyed(Owner::ANONYMOUS, &key, creation.clone())
        .await
        .expect("answered");
    assert!(
        matches!(replayed, todo_core::KeyedOutcome::Replayed(_)),
        "{replayed:?}"
    );
    store.close().await;
}

#[tokio::test]
async fn writes_by_another_program_are_numbered_in_the_change_log_in_order() {
    let (directory, store) = open_store().await;
    let owner = Owner::ANONYMOUS;
    let kept = store.create(owner, new_todo("kept")).await.unwrap();
    let doomed = store.create(owner, new_todo("doomed")).await.unwrap();
    let start = store.change_head(owner).await.unwrap();
    let other = rusqlite::Connection::open(directory.path().join("todos.db")).expect("opened");
    other
        .execute_batch(&format!(
            "update todos set title = 'changed elsewhere', version = version + 1 where id = {};
             insert into todos (title, title_search, created_at, updated_at)
                 values ('made elsewhere', 'made elsewhere', 0, 0);
             delete from todos where id = {};",
            kept.id, doomed.id
        ))
        .expect("written");
    drop(other);
    let after = store.create(owner, new_todo("after")).await.unwrap();
    let page = store.changes(owner, Some(start), 100).await.unwrap();
    let ids: Vec<i64> = page.changes.iter().map(|c| c.change.id()).collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert_eq!(ids[0], kept.id);
    assert_eq!(ids[2], doomed.id);
    assert_eq!(ids[3], after.id);
    let numbers: Vec<i64> = page.changes.iter().map(|c| c.number).collect();
    assert!(
        numbers.is_sorted() && numbers[0] < numbers[3],
        "{numbers:?}"
    );
}

/// Grouped writes take their numbers from memory and write the counter back
/// once per group; deletes number their tombstones from the counter row. A
/// mix of every write, from many tasks at once so that groups mix them,
/// must leave every number used once, the counter at or past the last, and
/// a reader's walk of the log equal to the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grouped_writes_of_every_kind_use_each_change_number_once() {
    let (directory, store) = open_store().await;
    let owner = Owner::ANONYMOUS;
    let mut tasks = Vec::new();
    for task in 0..24_u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..20_u32 {
                let made = store
                    .create(owner, new_todo(&format!("t{task} r{round}")))
                    .await
                    .unwrap();
                match (task + round) % 5 {
                    0 => {
                        let patch = TodoPatch {
                            completed: Some(true),
                            ..TodoPatch::default()
                        };
                        store.update(owner, made.id, patch, None).await.unwrap();
                    }
                    1 => store.delete(owner, made.id, None).await.unwrap(),
                    2 => {
                        let batch = vec![new_todo("bulk a"), new_todo("bulk b")];
                        store.create_many(owner, batch).await.unwrap();
                    }
                    3 => {
                        let patches = vec![IdentifiedPatch {
                            id: made.id,
                            patch: TodoPatch {
                                title: Some(title("patched in bulk")),
                                ..TodoPatch::default()
                            },
                        }];
                        store.update_many(owner, patches).await.unwrap();
                    }
                    _ => {
                        let filter = TodoFilter {
                            completed: Some(true),
                            ..TodoFilter::default()
                        };
                        store.delete_matching(owner, &filter).await.unwrap();
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let file = rusqlite::Connection::open(directory.path().join("todos.db")).expect("opened");
    let numbers: Vec<i64> = file
        .prepare(
            "select change_no from todos union all select change_no from todo_tombstones \
             order by 1",
        )
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let distinct: HashSet<i64> = numbers.iter().copied().collect();
    assert_eq!(distinct.len(), numbers.len(), "a number used twice");
    let last: i64 = file
        .query_row("select last from change_counter", [], |row| row.get(0))
        .unwrap();
    assert!(
        last >= *numbers.last().unwrap(),
        "counter {last} behind the log"
    );

    let mut cursor = None;
    let mut seen = HashSet::new();
    loop {
        let page = store.changes(owner, cursor, 100).await.unwrap();
        for change in &page.changes {
            assert!(seen.insert(change.number), "change {} twice", change.number);
        }
        cursor = Some(page.cursor);
        if !page.has_more {
            break;
        }
    }
    let todos: i64 = file
        .query_row("select count(*) from todos", [], |row| row.get(0))
        .unwrap();
    assert_eq!(
        seen.len() as i64,
        todos,
        "a walk from scratch gives every todo"
    );
}
