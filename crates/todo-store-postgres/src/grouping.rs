//! Group execution: requests of one kind that arrive while others of that
//! kind are being served share one statement. Concurrent creates share one
//! multi-row insert, and so one commit (one log flush), the way PostgreSQL
//! batches the log flushes of concurrent commits; concurrent reads by id
//! share one `id = any(…)` select, one plan and one round trip instead of
//! one each; concurrent updates of different todos share one
//! `update … from unnest(…)` and one commit (`groups.rs` has the kinds).
//!
//! A request never waits for companions. One that finds no other of its
//! kind waiting and a runner free is served at once, on its own task, with
//! its kind's single-row statement ([`Batched::run_alone`]): no task hop
//! and no array statement for a group of one: with one client, 4% more
//! creates, 20% more reads and updates than a group of one (BENCHMARKS.md,
//! "Grouping: a request that arrives alone"). Each caller is answered only
//! after its statement is done (for a write, committed), so a 2xx still
//! means durable.

use std::collections::HashSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::FutureExt;
use todo_core::{GroupKind, GroupReports, StoreError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::db::Db;

/// One kind of request served in groups.
pub(crate) trait Batched: Send + Sync + Sized + 'static {
    type Item: Send + 'static;
    type Output: Send + 'static;

    /// The kind reported for this kind's groups.
    const KIND: GroupKind;

    /// Most items one statement takes.
    const MAX_BATCH: usize;

    /// A key no two items of one group may share (a row one statement may
    /// change only once); an item whose key is taken waits for the next
    /// group, keeping its place.
    fn exclusive_key(_item: &Self::Item) -> Option<i64> {
        None
    }

    /// Serves `items` together: one answer per item, in order.
    fn run(
        db: &Db,
        items: Vec<Self::Item>,
    ) -> impl Future<Output = Vec<Result<Self::Output, StoreError>>> + Send;

    /// Serves one item that arrived alone.
    fn run_alone(
        db: &Db,
        item: Self::Item,
    ) -> impl Future<Output = Result<Self::Output, StoreError>> + Send;
}

/// A request waiting for its group.
struct Pending<B: Batched> {
    item: B::Item,
    reply: oneshot::Sender<Result<B::Output, StoreError>>,
}

/// The queue of one kind of request and the runners that drain it.
pub(crate) struct GroupQueue<B: Batched> {
    db: Db,
    queue: Mutex<Vec<Pending<B>>>,
    /// How many groups may run at once.
    runners: Arc<Semaphore>,
    /// Where each group served is reported.
    reports: GroupReports,
}

impl<B: Batched> std::fmt::Debug for GroupQueue<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupQueue")
            .field("idle_runners", &self.runners.available_permits())
            .finish_non_exhaustive()
    }
}

impl<B: Batched> GroupQueue<B> {
    pub(crate) fn new(db: Db, concurrent_groups: usize, reports: GroupReports) -> Self {
        GroupQueue {
            db,
            queue: Mutex::new(Vec::new()),
            runners: Arc::new(Semaphore::new(concurrent_groups.max(1))),
            reports,
        }
    }

    /// Serves `item`, alone at once when nothing of its kind is waiting
    /// and a runner is free, else with whatever else of its kind waits.
    pub(crate) async fn serve(self: &Arc<Self>, item: B::Item) -> Result<B::Output, StoreError> {
        if let Some(permit) = self.free_runner_for_one() {
            // Held while the statement runs, so later arrivals group up;
            // released on every way out, a dropped caller included.
            let _runner = RunnerGuard {
                queue: Arc::clone(self),
                permit: Some(permit),
            };
            self.reports.served(B::KIND, 1);
            return B::run_alone(&self.db, item).await;
        }
        let (reply, answer) = oneshot::channel();
        self.waiting().push(Pending { item, reply });
        self.start_runner();
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the store was closed".into())))
    }

    fn waiting(&self) -> MutexGuard<'_, Vec<Pending<B>>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A runner's permit, when no request of this kind is waiting; looked
    /// at under the queue's lock, so no waiting request is overtaken.
    fn free_runner_for_one(&self) -> Option<OwnedSemaphorePermit> {
        let queue = self.waiting();
        if !queue.is_empty() {
            return None;
        }
        Arc::clone(&self.runners).try_acquire_owned().ok()
    }

    /// Up to `MAX_BATCH` queued requests whose callers still wait, oldest
    /// first (so ids follow arrival and no request is starved), no two with
    /// one exclusive key; those that gave up (timed out, disconnected) are
    /// not served at all.
    fn take(&self) -> Vec<Pending<B>> {
        let mut queue = self.waiting();
        let mut taken = Vec::with_capacity(queue.len().min(B::MAX_BATCH));
        let mut kept = Vec::new();
        let mut keys = HashSet::new();
        for pending in queue.drain(..) {
            if pending.reply.is_closed() {
                continue;
            }
            let clashes = B::exclusive_key(&pending.item).is_some_and(|key| !keys.insert(key));
            if taken.len() == B::MAX_BATCH || clashes {
                kept.push(pending);
            } else {
                taken.push(pending);
            }
        }
        *queue = kept;
        taken
    }

    /// Starts a runner for the queue, unless every runner is busy; a busy
    /// runner takes up what queued meanwhile when its group is done.
    fn start_runner(self: &Arc<Self>) {
        let Ok(permit) = Arc::clone(&self.runners).try_acquire_owned() else {
            return;
        };
        let queue = Arc::clone(self);
        tokio::spawn(async move {
            let _runner = RunnerGuard {
                queue: Arc::clone(&queue),
                permit: Some(permit),
            };
            loop {
                let group = queue.take();
                if group.is_empty() {
                    break;
                }
                queue.reports.served(B::KIND, group.len());
                let (items, replies): (Vec<_>, Vec<_>) = group
                    .into_iter()
                    .map(|pending| (pending.item, pending.reply))
                    .unzip();
                let answers =
                    answered_even_if_panicking(items.len(), B::run(&queue.db, items)).await;
                for (answer, reply) in answers.into_iter().zip(replies) {
                    let _ = reply.send(answer);
                }
            }
        });
    }
}

/// A runner's permit. Letting it go, the runner looks at the queue once
/// more: a request queued after its last look, while every runner was
/// busy, would otherwise wait for the next arrival.
struct RunnerGuard<B: Batched> {
    queue: Arc<GroupQueue<B>>,
    permit: Option<OwnedSemaphorePermit>,
}

impl<B: Batched> Drop for RunnerGuard<B> {
    fn drop(&mut self) {
        drop(self.permit.take());
        if !self.queue.waiting().is_empty() {
            self.queue.start_runner();
        }
    }
}

/// The answers of a group's `count` requests. A panic while serving them
/// is a bug: each caller gets an internal error (a 500), not the "store
/// closed" its dropped reply would mean, and the runner goes on serving
/// the queue.
async fn answered_even_if_panicking<T>(
    count: usize,
    run: impl Future<Output = Vec<Result<T, StoreError>>>,
) -> Vec<Result<T, StoreError>> {
    match AssertUnwindSafe(run).catch_unwind().await {
        Ok(answers) => answers,
        Err(panic) => {
            tracing::error!(
                panic = todo_core::panic_message(&*panic),
                requests = count,
                "a group of store requests panicked"
            );
            for_each(
                count,
                &StoreError::Internal("a group of store requests panicked".into()),
            )
        }
    }
}

/// The failure of a group, for each of its `count` requests.
pub(crate) fn for_each<T>(count: usize, error: &StoreError) -> Vec<Result<T, StoreError>> {
    (0..count).map(|_| Err(same_error(error))).collect()
}

/// `error` again, for one more caller.
pub(crate) fn same_error(error: &StoreError) -> StoreError {
    match error {
        StoreError::Unavailable(reason) => StoreError::Unavailable(reason.clone()),
        other => StoreError::Internal(other.to_string().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_group_answers_each_caller_internal() {
        let answers: Vec<Result<u8, StoreError>> = answered_even_if_panicking(3, async {
            panic!("a bug");
        })
        .await;
        assert_eq!(answers.len(), 3);
        for answer in answers {
            assert!(matches!(answer, Err(StoreError::Internal(_))), "{answer:?}");
        }
    }

    #[tokio::test]
    async fn a_group_that_completes_keeps_its_answers() {
        let answers = answered_even_if_panicking(2, async {
            vec![Ok(1), Err(StoreError::Unavailable("down".into()))]
        })
        .await;
        assert!(matches!(
            answers[..],
            [Ok(1), Err(StoreError::Unavailable(_))]
        ));
    }
}
