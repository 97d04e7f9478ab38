//! Checks of keyed creates: replay, reuse with another request, racing
//! copies, scopes, and the purge of old keys.

use serde_json::json;

use crate::idempotency::{Created, Creation, IdempotencyKey, KeyedOutcome};
use crate::listing::ListQuery;
use crate::store::StoreError;
use crate::testing::UserStore;
use crate::testing::seed::new_todo;
use crate::todo::now;

fn key(scope: &str, key: &str, title: &str) -> IdempotencyKey {
    IdempotencyKey::new(
        scope.to_owned(),
        key.to_owned(),
        "/api/todo",
        &json!({"title": title}),
    )
}

async fn count(store: &UserStore) -> usize {
    let query = ListQuery {
        limit: crate::MAX_LIMIT,
        ..ListQuery::default()
    };
    store.list(&query).await.unwrap().todos.len()
}

pub async fn a_keyed_create_is_replayed_with_its_stored_answer_and_creates_once(store: UserStore) {
    let first = store
        .create_keyed(&key("", "k1", "t"), Creation::One(new_todo("t")))
        .await
        .unwrap();
    let KeyedOutcome::Created(Created::One(todo)) = &first else {
        panic!("first use creates: {first:?}");
    };
    let body = serde_json::to_string(todo).unwrap();
    for _ in 0..2 {
        let again = store
            .create_keyed(&key("", "k1", "t"), Creation::One(new_todo("t")))
            .await
            .unwrap();
        let KeyedOutcome::Replayed(stored) = again else {
            panic!("a retry replays: {again:?}");
        };
        assert_eq!(stored.status, 201);
        assert_eq!(stored.body, body);
    }
    assert_eq!(count(&store).await, 1);
}

pub async fn a_key_reused_with_another_request_is_refused_and_creates_nothing(store: UserStore) {
    store
        .create_keyed(&key("", "k1", "t"), Creation::One(new_todo("t")))
        .await
        .unwrap();
    let other = store
        .create_keyed(&key("", "k1", "u"), Creation::One(new_todo("u")))
        .await;
    assert!(
        matches!(other, Err(StoreError::IdempotencyKeyReused)),
        "{other:?}"
    );
    assert_eq!(count(&store).await, 1);
}

pub async fn keys_of_different_scopes_do_not_meet(store: UserStore) {
    for scope in ["alice", "bob"] {
        let outcome = store
            .create_keyed(&key(scope, "k1", "t"), Creation::One(new_todo("t")))
            .await
            .unwrap();
        assert!(
            matches!(outcome, KeyedOutcome::Created(_)),
            "{scope}: {outcome:?}"
        );
    }
    assert_eq!(count(&store).await, 2);
}

pub async fn racing_copies_of_a_keyed_bulk_create_create_once(store: UserStore) {
    let bulk_key = IdempotencyKey::new(
        String::new(),
        "bulk".into(),
        "/api/todo/bulk",
        &json!(["a", "b"]),
    );
    let copies: Vec<_> = (0..20)
        .map(|_| {
            let (store, key) = (store.clone(), bulk_key.clone());
            tokio::spawn(async move {
                store
                    .create_keyed(&key, Creation::Many(vec![new_todo("a"), new_todo("b")]))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for copy in copies {
        match copy.await.unwrap() {
            Ok(KeyedOutcome::Created(Created::Many(todos))) => {
                assert_eq!(todos.len(), 2);
                created += 1;
            }
            Ok(KeyedOutcome::Replayed(stored)) => assert_eq!(stored.status, 201),
            Err(StoreError::IdempotencyKeyInFlight) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(count(&store).await, 2);
}

pub async fn purging_removes_keys_older_than_the_cutoff_only(store: UserStore) {
    store
        .create_keyed(&key("", "old", "t"), Creation::One(new_todo("t")))
        .await
        .unwrap();
    let cutoff = now() - chrono::Duration::hours(1);
    assert_eq!(store.purge_idempotency_keys(cutoff).await.unwrap(), 0);
    let future = now() + chrono::Duration::seconds(1);
    assert_eq!(store.purge_idempotency_keys(future).await.unwrap(), 1);
    // The key is gone, so the same key now creates again.
    let again = store
        .create_keyed(&key("", "old", "t"), Creation::One(new_todo("t")))
        .await
        .unwrap();
    assert!(matches!(again, KeyedOutcome::Created(_)), "{again:?}");
}
