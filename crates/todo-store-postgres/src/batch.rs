//! Group commit for creates: single-todo creates that arrive while others
//! are being written share one multi-row insert, and so one commit (one log
//! flush), the way PostgreSQL batches the log flushes of concurrent
//! commits. A create never waits for companions: when no batch is being
//! written, it is written at once, alone. Each caller is answered only
//! after its row is committed, so a 2xx still means durable.

use std::sync::{Arc, Mutex, PoisonError};

use todo_core::{NewTodo, StoreError, Todo};
use tokio::sync::{Semaphore, oneshot};

use crate::error::from_pg;
use crate::params::InsertManyParams;
use crate::row::todos_from_rows;
use crate::sql::INSERT_MANY;
use crate::store::PgStore;

/// Most todos one batched insert takes.
const MAX_BATCH: usize = 500;

/// A create waiting to be written.
struct Pending {
    todo: NewTodo,
    reply: oneshot::Sender<Result<Todo, StoreError>>,
}

/// The queue of creates and the writers that drain it.
pub(crate) struct CreateBatcher {
    queue: Mutex<Vec<Pending>>,
    /// How many batches may be written at once.
    writers: Arc<Semaphore>,
}

impl std::fmt::Debug for CreateBatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateBatcher")
            .field("writers", &self.writers.available_permits())
            .finish_non_exhaustive()
    }
}

impl CreateBatcher {
    pub(crate) fn new(concurrent_batches: usize) -> Self {
        CreateBatcher {
            queue: Mutex::new(Vec::new()),
            writers: Arc::new(Semaphore::new(concurrent_batches.max(1))),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PgStore {
    /// Creates one todo through the batcher.
    pub(crate) async fn create_batched(&self, todo: NewTodo) -> Result<Todo, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.batcher().queue().push(Pending { todo, reply });
        self.start_writer();
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the store was closed".into())))
    }

    /// Starts a writer for the queue, unless every writer is busy; a busy
    /// writer takes up what queued meanwhile when its batch is done.
    fn start_writer(&self) {
        let Ok(permit) = Arc::clone(&self.batcher().writers).try_acquire_owned() else {
            return;
        };
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                let batch = store.take_batch();
                if batch.is_empty() {
                    break;
                }
                store.write_batch(batch).await;
            }
            drop(permit);
            // A create queued after the last look but before the permit was
            // released found every writer busy: look once more.
            if !store.batcher().queue().is_empty() {
                store.start_writer();
            }
        });
    }

    /// Up to [`MAX_BATCH`] queued creates whose callers still wait; those
    /// that gave up (timed out, disconnected) are not written at all.
    fn take_batch(&self) -> Vec<Pending> {
        let mut queue = self.batcher().queue();
        let taken = queue.len().min(MAX_BATCH);
        // Oldest first, so ids follow arrival and no create is starved.
        queue
            .drain(..taken)
            .filter(|pending| !pending.reply.is_closed())
            .collect()
    }

    async fn write_batch(&self, batch: Vec<Pending>) {
        let (todos, replies): (Vec<NewTodo>, Vec<_>) = batch
            .into_iter()
            .map(|pending| (pending.todo, pending.reply))
            .unzip();
        match self.insert_rows(todos).await {
            Ok(created) => {
                for (todo, reply) in created.into_iter().zip(replies) {
                    let _ = reply.send(Ok(todo));
                }
            }
            Err(error) => {
                for reply in replies {
                    let _ = reply.send(Err(same_error(&error)));
                }
            }
        }
    }

    /// One statement, one commit, for every todo; ids in input order.
    pub(crate) async fn insert_rows(&self, todos: Vec<NewTodo>) -> Result<Vec<Todo>, StoreError> {
        let params = InsertManyParams::new(todos);
        let client = self.standalone().await?;
        let rows = self
            .statement_mode()
            .query(&client, &INSERT_MANY, &params.as_typed())
            .await
            .map_err(from_pg)?;
        let mut created = todos_from_rows(&rows)?;
        // `returning` promises no order; ids were given in input order.
        created.sort_by_key(|todo| todo.id);
        Ok(created)
    }
}

/// The failure of a batch, for each of its creates.
fn same_error(error: &StoreError) -> StoreError {
    match error {
        StoreError::Unavailable(reason) => StoreError::Unavailable(reason.clone()),
        other => StoreError::Internal(other.to_string().into()),
    }
}
