//! Wakes the live event streams when their user's change log grows. Each
//! stream subscribes to its owner; the store tells the hub of every change
//! committed through this instance, and of other instances' changes as
//! their notifications arrive (`TodoStore::follow_changes`). A wake-up
//! only makes a stream read the log again: the log is the truth.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use todo_core::{ChangeListener, Owner};
use tokio::sync::watch;

use crate::metrics::FeedMetrics;

/// The owners someone is streaming, each with a counter bumped at every
/// change. A map sharded by owner, so that writes of different users do
/// not contend for one lock.
pub struct ChangeHub {
    owners: DashMap<Owner, watch::Sender<u64>>,
    metrics: FeedMetrics,
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
        let receiver = self
            .owners
            .entry(owner)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        Subscription {
            hub: Arc::clone(self),
            owner,
            receiver,
        }
    }

    fn wake(sender: &watch::Sender<u64>) {
        sender.send_modify(|count| *count = count.wrapping_add(1));
    }
}

impl ChangeListener for ChangeHub {
    fn changed(&self, owner: Owner) {
        if let Some(sender) = self.owners.get(&owner) {
            ChangeHub::wake(&sender);
        }
    }

    fn all_changed(&self) {
        for sender in &self.owners {
            ChangeHub::wake(&sender);
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
}

impl Subscription {
    /// Forgets the wake-ups so far: call it just before reading the log,
    /// so that a change committed during the read wakes the next wait.
    pub fn mark_seen(&mut self) {
        self.receiver.borrow_and_update();
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
            .remove_if(&self.owner, |_, sender| sender.receiver_count() <= 1);
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
