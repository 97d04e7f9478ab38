//! Checks under concurrent use, and of the store's health figures.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio::task::JoinSet;

use crate::groups::{GroupKind, GroupObserver};
use crate::input::TodoPatch;
use crate::store::{Expected, StoreError};
use crate::testing::UserStore;
use crate::testing::seed::{all_todos, description, new_todo, priority};
use crate::todo::Todo;

const CONCURRENT_CREATES: usize = 200;
const WRITERS: usize = 10;
const INCREMENTS_PER_WRITER: usize = 10;

/// `count` single creates at once, each awaited.
async fn create_concurrently(store: &UserStore, count: usize) -> Vec<Todo> {
    let mut tasks = JoinSet::new();
    for index in 0..count {
        let store = store.clone();
        tasks.spawn(async move {
            store
                .create(new_todo(&format!("concurrent {index}")))
                .await
                .unwrap()
        });
    }
    tasks.join_all().await
}

pub async fn concurrent_creates_all_succeed_with_distinct_ids(store: UserStore) {
    let created = create_concurrently(&store, CONCURRENT_CREATES).await;
    let created_ids: BTreeSet<i64> = created.iter().map(|todo| todo.id).collect();
    assert_eq!(created_ids.len(), CONCURRENT_CREATES, "distinct ids");
    let stored = all_todos(&store).await;
    let stored_ids: BTreeSet<i64> = stored.iter().map(|todo| todo.id).collect();
    assert_eq!(stored.len(), CONCURRENT_CREATES);
    assert_eq!(stored_ids, created_ids);
    let titles: BTreeSet<&str> = stored.iter().map(|todo| todo.title.as_str()).collect();
    assert_eq!(titles.len(), CONCURRENT_CREATES, "every create stored once");
}

/// The groups a store reported.
#[derive(Default)]
struct RecordedGroups(Mutex<Vec<(GroupKind, usize)>>);

impl GroupObserver for RecordedGroups {
    fn group_served(&self, kind: GroupKind, size: usize) {
        self.0.lock().unwrap().push((kind, size));
    }
}

/// Whether grouped as creates or as writes, every create is in exactly
/// one reported group, and no group is empty.
pub async fn concurrent_creates_are_each_reported_in_one_group(store: UserStore) {
    let groups = Arc::new(RecordedGroups::default());
    store.observe_groups(Arc::clone(&groups) as Arc<dyn GroupObserver>);
    create_concurrently(&store, CONCURRENT_CREATES).await;
    let groups = groups.0.lock().unwrap();
    let writes: Vec<usize> = groups
        .iter()
        .filter(|(kind, _)| matches!(kind, GroupKind::Create | GroupKind::Write))
        .map(|&(_, size)| size)
        .collect();
    assert!(writes.iter().all(|&size| size > 0), "{groups:?}");
    assert_eq!(
        writes.iter().sum::<usize>(),
        CONCURRENT_CREATES,
        "{groups:?}"
    );
}

/// Adds one to the counter kept in the todo's description, as a client
/// with `If-Match` would: read, write on that version, retry on conflict.
async fn increment(store: &UserStore, id: i64) {
    loop {
        let current = store.get(id).await.unwrap();
        let count: u64 = current.description.as_deref().unwrap().parse().unwrap();
        let patch = TodoPatch {
            description: Some(Some(description(&(count + 1).to_string()))),
            ..TodoPatch::default()
        };
        let expected = Expected::Versions(vec![current.version]);
        match store.update(id, patch, Some(&expected)).await {
            Ok(updated) => {
                assert_eq!(updated.version, current.version + 1);
                return;
            }
            Err(StoreError::PreconditionFailed) => {}
            Err(error) => panic!("increment failed: {error}"),
        }
    }
}

pub async fn concurrent_conditional_updates_with_retry_lose_no_increment(store: UserStore) {
    let mut counter = new_todo("counter");
    counter.description = Some(description("0"));
    let counter = store.create(counter).await.unwrap();
    let mut tasks = JoinSet::new();
    for _ in 0..WRITERS {
        let store = store.clone();
        tasks.spawn(async move {
            for _ in 0..INCREMENTS_PER_WRITER {
                increment(&store, counter.id).await;
            }
        });
    }
    tasks.join_all().await;
    let total = WRITERS * INCREMENTS_PER_WRITER;
    let after = store.get(counter.id).await.unwrap();
    assert_eq!(after.description, Some(total.to_string()));
    assert_eq!(after.version, counter.version + total as i64);
}

const TARGETS: usize = 20;
const UPDATES_PER_TARGET: usize = 10;

/// Many updates at once, several of each todo: every one applies, once,
/// each on its own version (a store that serves concurrent updates in
/// groups must never put two of one todo in a statement).
pub async fn concurrent_updates_each_apply_once(store: UserStore) {
    let mut targets = Vec::new();
    for index in 0..TARGETS {
        targets.push(
            store
                .create(new_todo(&format!("target {index}")))
                .await
                .unwrap(),
        );
    }
    let mut tasks = JoinSet::new();
    for round in 0..UPDATES_PER_TARGET {
        for target in &targets {
            let store = store.clone();
            let id = target.id;
            tasks.spawn(async move {
                let patch = TodoPatch {
                    priority: Some(priority(1 + (round % 5) as i64)),
                    completed: Some(round % 2 == 0),
                    ..TodoPatch::default()
                };
                store.update(id, patch, None).await.unwrap()
            });
        }
    }
    let answers = tasks.join_all().await;
    for target in &targets {
        let versions: BTreeSet<i64> = answers
            .iter()
            .filter(|todo| todo.id == target.id)
            .map(|todo| todo.version)
            .collect();
        let expected: BTreeSet<i64> = (1..=UPDATES_PER_TARGET as i64)
            .map(|step| target.version + step)
            .collect();
        assert_eq!(
            versions, expected,
            "todo {}: one version per update",
            target.id
        );
        let stored = store.get(target.id).await.unwrap();
        assert_eq!(stored.version, target.version + UPDATES_PER_TARGET as i64);
        assert_eq!(stored.title, target.title, "fields not in a patch kept");
    }
}

/// Updates and reads of existing and missing todos at once: each gets its
/// own answer, whatever else it was served with.
pub async fn concurrent_reads_and_updates_each_get_their_own_answer(store: UserStore) {
    let existing = store.create(new_todo("existing")).await.unwrap();
    let missing = existing.id + 1_000_000;
    let stale = Expected::Versions(vec![existing.version + 7]);
    let mut tasks = JoinSet::new();
    for round in 0..50 {
        let store = store.clone();
        let stale = stale.clone();
        tasks.spawn(async move {
            match round % 5 {
                0 => assert_eq!(store.get(existing.id).await.unwrap().id, existing.id),
                1 => assert!(matches!(
                    store.get(missing).await,
                    Err(StoreError::NotFound(id)) if id == missing
                )),
                2 => assert!(matches!(
                    store.update(missing, TodoPatch::default(), Some(&stale)).await,
                    Err(StoreError::NotFound(id)) if id == missing
                )),
                3 => assert!(matches!(
                    store
                        .update(existing.id, TodoPatch::default(), Some(&stale))
                        .await,
                    Err(StoreError::PreconditionFailed)
                )),
                _ => assert!(matches!(
                    store.update(missing, TodoPatch::default(), None).await,
                    Err(StoreError::NotFound(id)) if id == missing
                )),
            }
        });
    }
    tasks.join_all().await;
    let after = store.get(existing.id).await.unwrap();
    assert_eq!(after, existing, "no stale or missing update changed it");
}

pub async fn ping_succeeds_and_the_pool_has_a_size(store: UserStore) {
    store.ping().await.unwrap();
    let status = store.pool_status();
    assert!(status.max_size >= 1, "{status:?}");
}
