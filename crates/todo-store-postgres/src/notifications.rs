//! Telling every instance of the service of committed changes: after a
//! write commits, the instance that made it wakes its own streams at once
//! and announces the owner with `NOTIFY`; each instance `LISTEN`s on a
//! connection of its own and wakes its streams for the owners announced.
//!
//! The log stays the truth: a notification only makes a stream read the
//! log sooner. One lost (an instance killed between its commit and its
//! announcement, the listening connection down) delays events until the
//! streams' next look at the log, never loses them; after the listening
//! connection is back every stream looks again.
//!
//! `NOTIFY` is sent after the commit, not inside the write's transaction:
//! a transaction that notifies takes a lock that every other notifying
//! transaction waits for at its commit, which would line up every write of
//! every instance behind one another's log flush.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use todo_core::{ChangeListener, ChangeSignals, Owner};
use tokio::sync::{mpsc, watch};
use tokio_postgres::AsyncMessage;

use crate::db::Db;

/// The channel every instance listens on.
const CHANNEL: &str = "todo_changes";

/// Longest payload sent: PostgreSQL refuses 8,000 bytes and more.
const MAX_PAYLOAD: usize = 7_000;

/// Waits between attempts to listen again after the connection was lost.
const RECONNECT_DELAYS: [Duration; 4] = [
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// What the store tells of each committed change: its own listener at
/// once, and the other instances through `NOTIFY`.
#[derive(Debug, Clone)]
pub(crate) struct ChangeFeed {
    signals: ChangeSignals,
    announcements: mpsc::UnboundedSender<Owner>,
    instance: u64,
    /// Stops the listening task when the store closes, or when its last
    /// clone is dropped.
    stop: Arc<Stop>,
}

/// Turns true when the feed stops.
#[derive(Debug)]
struct Stop(watch::Sender<bool>);

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

impl ChangeFeed {
    /// Starts the task that announces changes through `db`.
    pub(crate) fn start(db: &Db) -> ChangeFeed {
        let (announcements, pending) = mpsc::unbounded_channel();
        let instance = instance_id();
        tokio::spawn(announce(db.clone(), pending, instance));
        ChangeFeed {
            signals: ChangeSignals::default(),
            announcements,
            instance,
            stop: Arc::new(Stop(watch::channel(false).0)),
        }
    }

    /// Stops listening (the store is closing).
    pub(crate) fn stop(&self) {
        self.stop.0.send_replace(true);
    }

    /// `owner`'s changes committed through this instance.
    pub(crate) fn committed(&self, owner: Owner) {
        self.signals.changed(owner);
        // Only fails when the announcing task is gone (shutting down).
        let _ = self.announcements.send(owner);
    }

    /// Tells `listener` of changes from now on, listening on a connection
    /// of its own for other instances' announcements. Only the first
    /// listener is kept.
    pub(crate) fn follow(&self, db: &Db, listener: Arc<dyn ChangeListener>) {
        if self.signals.listen(listener.clone()) {
            let stopped = self.stop.0.subscribe();
            tokio::spawn(listen(db.clone(), listener, self.instance, stopped));
        }
    }
}

/// A number telling this instance's announcements from the others'.
fn instance_id() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

fn micros_since_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_micros() as u64)
}

/// Sends one `NOTIFY` per batch of owners: whatever committed while the
/// previous one was on its way goes together in the next.
async fn announce(db: Db, mut pending: mpsc::UnboundedReceiver<Owner>, instance: u64) {
    while let Some(first) = pending.recv().await {
        let mut owners = BTreeSet::from([first]);
        while let Ok(owner) = pending.try_recv() {
            owners.insert(owner);
        }
        for payload in payloads(instance, micros_since_epoch(), &owners) {
            if let Err(error) = db.notify(CHANNEL, &payload).await {
                // The streams of other instances see these changes at
                // their next look at the log.
                tracing::warn!(%error, "cannot announce changes to other instances");
            }
        }
    }
}

/// `instance sent_micros owner,owner,…`, split so that none is too long.
fn payloads(instance: u64, sent_micros: u64, owners: &BTreeSet<Owner>) -> Vec<String> {
    let head = format!("{instance} {sent_micros} ");
    let mut payloads = Vec::new();
    let mut payload = head.clone();
    for owner in owners {
        let id = owner.id().to_string();
        if payload.len() + id.len() + 1 > MAX_PAYLOAD {
            payloads.push(std::mem::replace(&mut payload, head.clone()));
        }
        if !payload.ends_with(' ') {
            payload.push(',');
        }
        payload.push_str(&id);
    }
    payloads.push(payload);
    payloads
}

/// An announcement read back: who sent it, when, and whose changes.
#[derive(Debug, PartialEq, Eq)]
struct Announcement {
    instance: u64,
    sent_micros: u64,
    owners: Vec<Owner>,
}

fn parse(payload: &str) -> Option<Announcement> {
    let mut parts = payload.splitn(3, ' ');
    let instance = parts.next()?.parse().ok()?;
    let sent_micros = parts.next()?.parse().ok()?;
    let owners = parts
        .next()?
        .split(',')
        .filter(|id| !id.is_empty())
        .map(|id| id.parse().map(Owner::from_id))
        .collect::<Result<_, _>>()
        .ok()?;
    Some(Announcement {
        instance,
        sent_micros,
        owners,
    })
}

/// Listens for other instances' announcements until the feed stops,
/// connecting again whenever the connection is lost.
async fn listen(
    db: Db,
    listener: Arc<dyn ChangeListener>,
    instance: u64,
    mut stopped: watch::Receiver<bool>,
) {
    let mut failures = 0;
    loop {
        tokio::select! {
            listened = listen_once(&db, &listener, instance) => match listened {
                Ok(()) => failures = 0,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for other instances' changes; retrying");
                    failures += 1;
                }
            },
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        let delay = RECONNECT_DELAYS[failures.min(RECONNECT_DELAYS.len() - 1)];
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}

/// One listening connection, until it is lost (`Ok`) or cannot be made.
async fn listen_once(
    db: &Db,
    listener: &Arc<dyn ChangeListener>,
    instance: u64,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = db.direct().connect().await?;
    let (messages, mut received) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut stream = futures::stream::poll_fn(move |context| connection.poll_message(context));
        while let Some(message) = stream.next().await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => {
                    if messages.send(notification.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "the connection listening for changes was lost");
                    return;
                }
            }
        }
    });
    if let Err(error) = client.batch_execute(&format!("listen {CHANNEL}")).await {
        driver.abort();
        return Err(error);
    }
    tracing::info!("listening for other instances' changes");
    // Whatever was announced while nobody listened is looked for now.
    listener.all_changed();
    while let Some(payload) = received.recv().await {
        let Some(announcement) = parse(&payload) else {
            tracing::debug!("ignoring a change notification of another form");
            continue;
        };
        if announcement.instance == instance {
            continue;
        }
        let lag = micros_since_epoch().saturating_sub(announcement.sent_micros);
        listener.notified(Duration::from_micros(lag));
        for owner in announcement.owners {
            listener.changed(owner);
        }
    }
    drop(client);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announcement_round_trips_and_splits_when_long() {
        let owners: BTreeSet<Owner> = (1..=3000).map(Owner::from_id).collect();
        let payloads = payloads(7, 99, &owners);
        assert!(payloads.len() > 1);
        let mut seen = Vec::new();
        for payload in &payloads {
            assert!(payload.len() <= MAX_PAYLOAD);
            let announcement = parse(payload).unwrap();
            assert_eq!((announcement.instance, announcement.sent_micros), (7, 99));
            seen.extend(announcement.owners);
        }
        assert_eq!(seen, owners.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn a_foreign_payload_is_not_an_announcement() {
        assert_eq!(parse("hello"), None);
        assert_eq!(parse("1 2 x,y"), None);
    }
}
