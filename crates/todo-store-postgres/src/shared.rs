//! Connections shared by many requests at once. Reads and the batched
//! creates (statements that stand alone, in autocommit) go to one of
//! a few long-lived connections instead of borrowing one from the pool: the
//! driver pipelines the statements of all the requests using a connection,
//! so many travel in one write and their answers in one read. That saves
//! system calls on a near database, and round trips on a distant one, where
//! an exclusive connection per request would allow one statement per round
//! trip per connection. Transactions keep to the pool's exclusive
//! connections, since their statements must not interleave with others',
//! and so do updates and deletes: a commit waits for its log flush, and on
//! a shared connection every statement pipelined behind it would wait too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use std::ops::Deref;

use deadpool_postgres::{ClientWrapper, Object, Pool};
use todo_core::StoreError;

use crate::error::from_pool;

/// A shared connection; the pool it came from gets it back once every user
/// has dropped it.
pub(crate) type SharedClient = Arc<Object>;

/// A connection for one statement that stands alone: shared, or, when no
/// connections are shared, borrowed from the pool.
pub(crate) enum Standalone {
    Shared(SharedClient),
    Pooled(Box<Object>),
}

impl Deref for Standalone {
    type Target = ClientWrapper;

    fn deref(&self) -> &ClientWrapper {
        match self {
            Standalone::Shared(client) => client,
            Standalone::Pooled(client) => client,
        }
    }
}

/// A few connections, each shared by every request that picks it.
#[derive(Debug)]
pub(crate) struct SharedConnections {
    /// Where the shared connections come from; sized to `slots`.
    pool: Pool,
    slots: Vec<Slot>,
    next: AtomicUsize,
}

/// One shared connection, and the lock that lets one request at a time
/// (re)connect it while the others wait for its connection.
#[derive(Debug, Default)]
struct Slot {
    current: Mutex<Option<SharedClient>>,
    connecting: tokio::sync::Mutex<()>,
}

impl Slot {
    /// The slot's connection if it is live; a closed one (the server
    /// restarted, the network failed) is let go, for its users to finish.
    fn live(&self) -> Option<SharedClient> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match current.as_ref() {
            Some(client) if !client.is_closed() => Some(Arc::clone(client)),
            _ => {
                *current = None;
                None
            }
        }
    }
}

impl SharedConnections {
    /// `pool` must hold at least as many connections as `count`.
    pub(crate) fn new(pool: Pool, count: usize) -> Self {
        SharedConnections {
            pool,
            slots: (0..count).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// A live shared connection, the next in turn; a closed one (the server
    /// restarted, the network failed) is replaced by a new connection.
    pub(crate) async fn client(&self) -> Result<SharedClient, StoreError> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let slot = &self.slots[index];
        if let Some(client) = slot.live() {
            return Ok(client);
        }
        let _connecting = slot.connecting.lock().await;
        // Whoever held the lock before may have connected the slot already.
        if let Some(client) = slot.live() {
            return Ok(client);
        }
        let client = Arc::new(self.pool.get().await.map_err(from_pool)?);
        *slot.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&client));
        Ok(client)
    }

    /// How many shared connections are open, and how many of them some
    /// request is using now.
    pub(crate) fn figures(&self) -> (usize, usize) {
        let mut open = 0;
        let mut in_use = 0;
        for slot in &self.slots {
            if let Some(client) = slot
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
            {
                open += 1;
                // The slot holds one reference; any other is a request's.
                if Arc::strong_count(client) > 1 {
                    in_use += 1;
                }
            }
        }
        (open, in_use)
    }

    /// Lets every shared connection go, so the pool can close them.
    pub(crate) fn release(&self) {
        for slot in &self.slots {
            *slot.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
        self.pool.close();
    }
}
