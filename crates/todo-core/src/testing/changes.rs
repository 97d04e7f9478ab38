//! Checks of the change log (API.md, "Changes"): a copy built from pages
//! of changes equals the owner's todos, whatever was written meanwhile and
//! however many writers wrote at once; no change is seen twice.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::changes::{Change, ChangeCursor, ChangeListener, ChangePage};
use crate::input::{IdentifiedPatch, TodoPatch};
use crate::listing::TodoFilter;
use crate::owner::Owner;
use crate::store::StoreError;
use crate::testing::UserStore;
use crate::testing::seed::{self, all_todos, new_todo, seed};
use crate::todo::Todo;

/// A client's copy of the todos, built from the log.
#[derive(Debug, Default)]
struct Copy {
    todos: BTreeMap<i64, Todo>,
    cursor: Option<ChangeCursor>,
    last_number: i64,
}

impl Copy {
    /// Applies one page; panics if a change comes out of order, twice, or
    /// twice for one todo in a page.
    fn apply(&mut self, page: ChangePage) {
        let mut ids = std::collections::BTreeSet::new();
        for numbered in page.changes {
            assert!(
                numbered.number > self.last_number,
                "change {} after {}: out of order or seen twice",
                numbered.number,
                self.last_number
            );
            self.last_number = numbered.number;
            assert!(
                ids.insert(numbered.change.id()),
                "todo {} twice in one page",
                numbered.change.id()
            );
            match numbered.change {
                Change::Upsert(todo) => {
                    self.todos.insert(todo.id, todo);
                }
                Change::Delete(id) => {
                    self.todos.remove(&id);
                }
            }
        }
        self.cursor = Some(page.cursor);
    }

    /// Follows the log until it says nothing more follows.
    async fn catch_up(&mut self, store: &UserStore, limit: u16) {
        loop {
            let page = store.changes(self.cursor, limit).await.unwrap();
            let more = page.has_more;
            self.apply(page);
            if !more {
                return;
            }
        }
    }

    fn assert_equals(&self, todos: &[Todo]) {
        let expected: BTreeMap<i64, Todo> =
            todos.iter().map(|todo| (todo.id, todo.clone())).collect();
        assert_eq!(self.todos, expected, "the copy and the store differ");
    }
}

pub async fn changes_from_scratch_give_every_todo_once_as_upserts(store: UserStore) {
    let seeded = seed(&store, 25).await;
    for todo in &seeded[..3] {
        store.delete(todo.id, None).await.unwrap();
    }
    let mut copy = Copy::default();
    let first = store.changes(None, 10).await.unwrap();
    assert!(first.has_more);
    assert_eq!(first.changes.len(), 10);
    assert!(
        first
            .changes
            .iter()
            .all(|numbered| matches!(numbered.change, Change::Upsert(_))),
        "a copy from scratch needs no deletes"
    );
    copy.apply(first);
    copy.catch_up(&store, 10).await;
    copy.assert_equals(&all_todos(&store).await);
    assert_eq!(copy.todos.len(), 22);
    let quiet = store.changes(copy.cursor, 10).await.unwrap();
    assert!(quiet.changes.is_empty() && !quiet.has_more);
    assert_eq!(
        Some(quiet.cursor),
        copy.cursor,
        "a quiet poll keeps its place"
    );
}

pub async fn changes_after_a_cursor_give_each_todo_once_in_its_latest_state(store: UserStore) {
    let seeded = seed(&store, 6).await;
    let mut copy = Copy::default();
    copy.catch_up(&store, 100).await;
    let kept = seeded[0].id;
    let deleted = seeded[1].id;
    store
        .update(kept, title_patch("first change"), None)
        .await
        .unwrap();
    store.delete(deleted, None).await.unwrap();
    let fresh = store.create(new_todo("made after")).await.unwrap();
    let latest = store
        .update(kept, title_patch("second change"), None)
        .await
        .unwrap();
    store
        .update_many(vec![IdentifiedPatch {
            id: seeded[2].id,
            patch: title_patch("bulk"),
        }])
        .await
        .unwrap();
    let short_lived = store.create(new_todo("gone at once")).await.unwrap();
    store.delete(short_lived.id, None).await.unwrap();
    let page = store.changes(copy.cursor, 100).await.unwrap();
    let ids: Vec<i64> = page.changes.iter().map(|c| c.change.id()).collect();
    assert_eq!(
        ids,
        [deleted, fresh.id, kept, seeded[2].id, short_lived.id],
        "in the order of each todo's latest change"
    );
    assert_eq!(page.changes[2].change, Change::Upsert(latest));
    assert_eq!(
        page.changes[4].change,
        Change::Delete(short_lived.id),
        "made and deleted since the cursor: a delete only"
    );
    copy.apply(page);
    copy.assert_equals(&all_todos(&store).await);
}

pub async fn deletes_by_filter_are_changes_too(store: UserStore) {
    let mut copy = Copy::default();
    let seeded = seed(&store, 20).await;
    copy.catch_up(&store, 7).await;
    let filter = TodoFilter {
        completed: Some(true),
        ..TodoFilter::default()
    };
    let deleted = store.delete_matching(&filter).await.unwrap();
    assert!(deleted > 0 && (deleted as usize) < seeded.len());
    copy.catch_up(&store, 7).await;
    copy.assert_equals(&all_todos(&store).await);
}

pub async fn the_head_is_past_every_committed_change(store: UserStore) {
    seed(&store, 3).await;
    let head = store.change_head().await.unwrap();
    let page = store.changes(Some(head), 10).await.unwrap();
    assert!(page.changes.is_empty(), "nothing after the head");
    let made = store.create(new_todo("after the head")).await.unwrap();
    let page = store.changes(Some(head), 10).await.unwrap();
    assert_eq!(page.changes.len(), 1);
    assert_eq!(page.changes[0].change, Change::Upsert(made));
}

pub async fn purged_deletes_expire_the_cursors_that_needed_them_only(store: UserStore) {
    let seeded = seed(&store, 4).await;
    let mut copy = Copy::default();
    copy.catch_up(&store, 100).await;
    let before = copy.cursor;
    store.delete(seeded[0].id, None).await.unwrap();
    let mut current = Copy::default();
    current.catch_up(&store, 100).await;
    let purged = store
        .store()
        .purge_tombstones(crate::now() + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert!(purged >= 1);
    assert!(matches!(
        store.changes(before, 100).await,
        Err(StoreError::ChangesExpired)
    ));
    // A copy that had seen the delete, and a copy made afresh, go on.
    current.catch_up(&store, 100).await;
    let mut fresh = Copy::default();
    fresh.catch_up(&store, 2).await;
    store.create(new_todo("after the purge")).await.unwrap();
    current.catch_up(&store, 100).await;
    fresh.catch_up(&store, 2).await;
    let todos = all_todos(&store).await;
    current.assert_equals(&todos);
    fresh.assert_equals(&todos);
}

const WRITERS: usize = 6;
const WRITES_PER_WRITER: usize = 40;

/// Writers create, update, bulk update and delete at once, while a reader
/// follows the log all along in small pages: its copy ends equal to the
/// store, and no change reached it twice or out of order.
///
/// Half the writers update many todos per transaction, so their changes
/// take numbers well before they commit while the other half's single
/// creates commit at once with later numbers: a log ordered by number
/// alone, read without regard to commits still under way, shows the later
/// numbers first and the reader moves past the earlier ones for good.
pub async fn a_follower_of_concurrent_writers_misses_nothing_and_sees_nothing_twice(
    store: UserStore,
) {
    let seeded = seed(&store, 300).await;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let follower = {
        let store = store.clone();
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut copy = Copy::default();
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                copy.catch_up(&store, 3).await;
            }
            copy
        })
    };
    let mut writers = JoinSet::new();
    for writer in 0..WRITERS {
        let store = store.clone();
        let shared: Vec<i64> = seeded.iter().map(|todo| todo.id).collect();
        writers.spawn(async move {
            let mut mine = Vec::new();
            for step in 0..WRITES_PER_WRITER {
                if writer % 2 == 0 {
                    // Each seed is updated once, by one writer, so a
                    // change the reader missed is not made good by a later
                    // one: the copy keeps the old version.
                    if step >= 10 {
                        continue;
                    }
                    let start = (writer / 2) * 100 + step * 10;
                    let patches = shared[start..start + 10]
                        .iter()
                        .map(|&id| IdentifiedPatch {
                            id,
                            patch: title_patch(&format!("bulk {writer} {step}")),
                        })
                        .collect();
                    store.update_many(patches).await.unwrap();
                    continue;
                }
                match step % 4 {
                    0 | 1 => {
                        let made = store
                            .create(new_todo(&format!("w{writer} s{step}")))
                            .await
                            .unwrap();
                        mine.push(made.id);
                    }
                    2 => {
                        if let Some(&id) = mine.last() {
                            store
                                .update(id, title_patch(&format!("w{writer} u{step}")), None)
                                .await
                                .unwrap();
                        }
                    }
                    _ => {
                        if let Some(id) = mine.pop() {
                            store.delete(id, None).await.unwrap();
                        }
                    }
                }
            }
        });
    }
    writers.join_all().await;
    done.store(true, std::sync::atomic::Ordering::Release);
    let mut copy = follower.await.unwrap();
    copy.catch_up(&store, 3).await;
    copy.assert_equals(&all_todos(&store).await);
}

/// Records the owners a store says changed.
#[derive(Debug, Default)]
struct Recorded(Mutex<Vec<Owner>>);

impl ChangeListener for Recorded {
    fn changed(&self, owner: Owner) {
        self.0.lock().unwrap().push(owner);
    }

    fn all_changed(&self) {}

    fn notified(&self, _lag: Duration) {}
}

pub async fn a_follower_is_told_of_each_committed_write(store: UserStore) {
    let recorded = Arc::new(Recorded::default());
    store.store().follow_changes(recorded.clone());
    let made = store.create(new_todo("told")).await.unwrap();
    store
        .update(made.id, title_patch("again"), None)
        .await
        .unwrap();
    store.delete(made.id, None).await.unwrap();
    assert!(store.delete(made.id, None).await.is_err());
    let told = recorded.0.lock().unwrap().clone();
    assert_eq!(
        told,
        vec![store.owner(); 3],
        "one signal per committed write"
    );
}

fn title_patch(title: &str) -> TodoPatch {
    TodoPatch {
        title: Some(seed::title(title)),
        ..TodoPatch::default()
    }
}
