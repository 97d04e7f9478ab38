//! Wakes the live event streams when their user's change log grows, and
//! lets the streams of one user share their reads of it. Each stream
//! subscribes to its owner; the store tells the hub of every change
//! committed through this instance, and of other instances' changes as
//! their notifications arrive (`TodoStore::follow_changes`). A wake-up
//! only makes a stream read the log again: the log is the truth.
//!
//! A user with ten tabs open has ten streams, all at the same place in
//! the log and all woken by the same write: they make one read, not ten.
//! A stream joins a read in flight from its own position only when that
//! read started after the last wake-up the stream has seen, so the read's
//! snapshot holds every change that woke it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use dashmap::DashMap;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use todo_core::{ChangeCursor, ChangeListener, ChangePage, Owner, StoreError, TodoStore};
use tokio::sync::watch;

use crate::metrics::FeedMetrics;

/// The owners someone is streaming, each with a counter bumped at every
/// change. A map sharded by owner, so that writes of different users do
/// not contend for one lock.
pub struct ChangeHub {
    owners: DashMap<Owner, Arc<OwnerFeed>>,
    metrics: FeedMetrics,
}

/// One streamed owner: the wake-up counter, and the reads of its log in
/// flight.
#[derive(Debug)]
struct OwnerFeed {
    wakes: watch::Sender<u64>,
    reads: Mutex<Vec<SharedRead>>,
}

/// A read of the log that several streams may wait for.
struct SharedRead {
    from: ChangeCursor,
    limit: u16,
    /// The wake-up count when it started: every change that had woken the
    /// streams by then is in its snapshot.
    generation: u64,
    page: Shared<BoxFuture<'static, Result<Arc<ChangePage>, Arc<StoreError>>>>,
}

impl std::fmt::Debug for SharedRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRead")
            .field("from", &self.from)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ChangeHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeHub")
            .field("owners", &self.owners.len())
            .finish()
    }
}

impl ChangeHub {
    pub fn new(metrics: FeedMetrics) -> Arc<ChangeHub> {
        Arc::new(ChangeHub {
            owners: DashMap::new(),
            metrics,
        })
    }

    pub fn metrics(&self) -> &FeedMetrics {
        &self.metrics
    }

    /// Wake-ups for `owner`'s changes from now on.
    pub fn subscribe(self: &Arc<Self>, owner: Owner) -> Subscription {
        let feed = Arc::clone(&self.owners.entry(owner).or_insert_with(|| {
            Arc::new(OwnerFeed {
                wakes: watch::channel(0).0,
                reads: Mutex::new(Vec::new()),
            })
        }));
        Subscription {
            hub: Arc::clone(self),
            owner,
            receiver: feed.wakes.subscribe(),
            feed,
        }
    }

    fn wake(feed: &OwnerFeed) {
        feed.wakes
            .send_modify(|count| *count = count.wrapping_add(1));
    }
}

impl ChangeListener for ChangeHub {
    fn changed(&self, owner: Owner) {
        if let Some(feed) = self.owners.get(&owner) {
            ChangeHub::wake(&feed);
        }
    }

    fn all_changed(&self) {
        for feed in &self.owners {
            ChangeHub::wake(&feed);
        }
    }

    fn notified(&self, lag: Duration) {
        self.metrics.notification_lag.record(lag.as_secs_f64());
    }
}

/// One stream's wake-ups. The owner's entry leaves the hub with its last
/// subscription.
#[derive(Debug)]
pub struct Subscription {
    hub: Arc<ChangeHub>,
    owner: Owner,
    receiver: watch::Receiver<u64>,
    feed: Arc<OwnerFeed>,
}

impl Subscription {
    /// Forgets the wake-ups so far: call it just before reading the log,
    /// so that a change committed during the read wakes the next wait.
    pub fn mark_seen(&mut self) {
        self.receiver.borrow_and_update();
    }

    /// The page of at most `limit` changes after `from`, read now: the
    /// wake-ups so far are marked seen, and a read from the same place
    /// that started after the last of them is shared rather than repeated.
    pub async fn read(
        &mut self,
        store: &Arc<dyn TodoStore>,
        from: ChangeCursor,
        limit: u16,
    ) -> Result<ChangePage, StoreError> {
        let seen = *self.receiver.borrow_and_update();
        let page = {
            let mut reads = self
                .feed
                .reads
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            reads.retain(|read| read.page.peek().is_none());
            match reads
                .iter()
                .find(|read| read.from == from && read.limit == limit && read.generation >= seen)
            {
                Some(read) => read.page.clone(),
                None => {
                    let page = self.start_read(store, from, limit);
                    reads.push(SharedRead {
                        from,
                        limit,
                        // Taken before the read starts, so no later than
                        // its snapshot.
                        generation: *self.feed.wakes.borrow(),
                        page: page.clone(),
                    });
                    page
                }
            }
        };
        match page.await {
            Ok(page) => Ok(ChangePage::clone(&page)),
            Err(error) => Err(same_error(&error)),
        }
    }

    fn start_read(
        &self,
        store: &Arc<dyn TodoStore>,
        from: ChangeCursor,
        limit: u16,
    ) -> Shared<BoxFuture<'static, Result<Arc<ChangePage>, Arc<StoreError>>>> {
        let store = Arc::clone(store);
        let owner = self.owner;
        let reads = self.hub.metrics.log_reads.clone();
        async move {
            reads.increment(1);
            store
                .changes(owner, Some(from), limit)
                .await
                .map(Arc::new)
                .map_err(Arc::new)
        }
        .boxed()
        .shared()
    }

    /// Waits for a wake-up after the last [`mark_seen`](Self::mark_seen).
    pub async fn changed(&mut self) {
        if self.receiver.changed().await.is_err() {
            // The sender is only dropped with the hub: nothing will come.
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // This subscription's receiver still counts here.
        self.hub
            .owners
            .remove_if(&self.owner, |_, feed| feed.wakes.receiver_count() <= 1);
    }
}

/// A shared read's failure, again for one more of its readers.
fn same_error(error: &StoreError) -> StoreError {
    match error {
        StoreError::ChangesExpired => StoreError::ChangesExpired,
        StoreError::Unavailable(reason) => StoreError::Unavailable(reason.clone()),
        other => StoreError::Internal(other.to_string().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    const ALICE: Owner = Owner::from_id(5);
    const BOB: Owner = Owner::from_id(6);

    #[tokio::test]
    async fn a_change_wakes_its_owners_subscriptions_only() {
        let hub = ChangeHub::new(Metrics::new().feed());
        let mut alice = hub.subscribe(ALICE);
        let mut bob = hub.subscribe(BOB);
        alice.mark_seen();
        bob.mark_seen();
        hub.changed(ALICE);
        tokio::time::timeout(Duration::from_secs(1), alice.changed())
            .await
            .expect("alice is woken");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), bob.changed())
                .await
                .is_err(),
            "bob is not"
        );
        hub.all_changed();
        tokio::time::timeout(Duration::from_secs(1), bob.changed())
            .await
            .expect("everyone is woken when changes may have been missed");
    }

    #[tokio::test]
    async fn an_owner_leaves_the_hub_with_its_last_subscription() {
        let hub = ChangeHub::new(Metrics::new().feed());
        let first = hub.subscribe(ALICE);
        let second = hub.subscribe(ALICE);
        drop(first);
        assert_eq!(hub.owners.len(), 1);
        drop(second);
        assert_eq!(hub.owners.len(), 0);
        hub.changed(ALICE);
    }
}
