//! [`SqliteStore`]: the [`TodoStore`] over one SQLite file, its threads and
//! the async side that hands them work and waits for the answers.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::Connection;
use todo_core::{
    ChangeCursor, ChangeListener, ChangePage, ChangeSignals, Creation, Expected, GroupObserver,
    GroupReports, IdempotencyKey, IdentifiedPatch, KeyedOutcome, ListQuery, NewTodo, Owner, Page,
    PoolStatus, StoreError, Timestamp, Todo, TodoFilter, TodoPatch, TodoStore,
};

use crate::change_log;
use crate::connection::{self, ConnectionSettings};
use crate::error::{Failure, OpenError, closed, timed_out};
use crate::idempotency::{self, InFlight};
use crate::queries;
use crate::row::micros;
use crate::worker::{self, Message};

/// How long a caller still waits for a job a thread started just before its
/// deadline, beyond the busy timeout the job may spend waiting for a lock.
/// Only a stalled disk should ever exhaust it.
const STARTED_JOB_GRACE: Duration = Duration::from_secs(10);

/// The settings of a [`SqliteStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How many reader threads, each with its own read connection; at
    /// least 1. The writer comes on top.
    pub readers: usize,
    /// How long a job may wait for its thread before the caller is told the
    /// database is unavailable. Also the busy timeout of every connection:
    /// how long it waits for a lock another process holds. Above zero.
    pub acquire_timeout: Duration,
}

/// A [`TodoStore`] over one SQLite file. Cloning is cheap and shares the
/// threads; they end when the last clone is dropped, or at [`close`].
///
/// SQLite takes one writer at a time, so writes are serialised by design:
/// one writer thread owns the only write connection and runs every change
/// in turn, while `readers` threads serve `get`, `list` and `ping`.
///
/// [`close`]: SqliteStore::close
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
    /// The directory of a temporary store, removed after the last clone
    /// (declared after `inner`, so it is dropped after it).
    #[cfg(feature = "testing")]
    temp_dir: Option<Arc<tempfile::TempDir>>,
}

struct Inner {
    writes: crossbeam_channel::Sender<Message>,
    reads: crossbeam_channel::Sender<Message>,
    readers: usize,
    acquire_timeout: Duration,
    /// Threads running a job now, across writer and readers.
    in_use: Arc<AtomicUsize>,
    closed: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Idempotency keys of keyed creates under way.
    keys_in_flight: InFlight,
    /// Where the writer reports each group it commits.
    group_reports: GroupReports,
    /// Who is told of committed changes (the live streams).
    change_signals: ChangeSignals,
}

/// Which threads run a job.
#[derive(Debug, Clone, Copy)]
enum Lane {
    Write,
    Read,
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file if missing, migrates
    /// it to the latest schema (so no separate migrate step is needed), and
    /// starts the writer and reader threads. The blocking work runs on
    /// tokio's blocking pool, so this needs a tokio runtime.
    pub async fn open(path: &Path, options: SqliteOptions) -> Result<SqliteStore, OpenError> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || SqliteStore::open_blocking(&path, options))
            .await
            .map_err(OpenError::Interrupted)?
    }

    /// [`open`](SqliteStore::open) for callers outside an async runtime;
    /// blocks while it opens and migrates the database.
    pub fn open_blocking(path: &Path, options: SqliteOptions) -> Result<SqliteStore, OpenError> {
        if options.readers == 0 {
            return Err(OpenError::Options("at least one reader is needed"));
        }
        if options.acquire_timeout.is_zero() {
            // Every job would expire before a thread could take it.
            return Err(OpenError::Options("the acquire timeout must be above zero"));
        }
        let busy_timeout = options.acquire_timeout;
        let writer = connection::open_writer(path, busy_timeout)?;
        let readers = (0..options.readers)
            .map(|_| connection::open_reader(path, busy_timeout))
            .collect::<Result<Vec<_>, _>>()?;
        let (writes, write_jobs) = crossbeam_channel::unbounded();
        let (reads, read_jobs) = crossbeam_channel::unbounded();
        let in_use = Arc::new(AtomicUsize::new(0));
        let group_reports = GroupReports::default();
        // Should a spawn fail, returning drops the senders, which ends the
        // threads already started.
        let mut threads = Vec::with_capacity(options.readers + 1);
        let writer_thread = worker::spawn(
            "sqlite-writer".into(),
            writer,
            write_jobs,
            Arc::clone(&in_use),
            worker::Mode::GroupCommit(group_reports.clone()),
        );
        threads.push(writer_thread.map_err(OpenError::Spawn)?);
        for (index, reader) in readers.into_iter().enumerate() {
            let reader_thread = worker::spawn(
                format!("sqlite-reader-{index}"),
                reader,
                read_jobs.clone(),
                Arc::clone(&in_use),
                worker::Mode::Single,
            );
            threads.push(reader_thread.map_err(OpenError::Spawn)?);
        }
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writes,
                reads,
                readers: options.readers,
                acquire_timeout: options.acquire_timeout,
                in_use,
                closed: AtomicBool::new(false),
                threads: Mutex::new(threads),
                keys_in_flight: InFlight::default(),
                group_reports,
                change_signals: ChangeSignals::default(),
            }),
            #[cfg(feature = "testing")]
            temp_dir: None,
        })
    }

    /// Stops the store: jobs already queued still run, later calls on any
    /// clone answer `Unavailable`, and this returns once every thread has
    /// ended and closed its connection.
    pub async fn close(&self) {
        let inner = &self.inner;
        if !inner.closed.swap(true, Ordering::AcqRel) {
            // Queued behind every job already sent, so those finish first.
            let _ = inner.writes.send(Message::Stop);
            for _ in 0..inner.readers {
                let _ = inner.reads.send(Message::Stop);
            }
        }
        let threads =
            std::mem::take(&mut *inner.threads.lock().unwrap_or_else(PoisonError::into_inner));
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
    }

    /// The settings of the write connection, as SQLite reports them.
    pub async fn writer_settings(&self) -> Result<ConnectionSettings, StoreError> {
        self.run(Lane::Write, |connection| {
            Ok(connection::settings(connection)?)
        })
        .await
    }

    /// The settings of a read connection, as SQLite reports them.
    pub async fn reader_settings(&self) -> Result<ConnectionSettings, StoreError> {
        self.run(Lane::Read, |connection| {
            Ok(connection::settings(connection)?)
        })
        .await
    }

    /// Runs `work` on a thread of `lane` and waits for its answer, at most
    /// the acquire timeout for a thread to start it.
    async fn run<T, F>(&self, lane: Lane, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Failure> + Send + 'static,
    {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let deadline = Instant::now() + inner.acquire_timeout;
        let (job, ticket, mut answer) = worker::job(deadline, work);
        let jobs = match lane {
            Lane::Write => &inner.writes,
            Lane::Read => &inner.reads,
        };
        jobs.send(Message::Job(job)).map_err(|_| closed())?;
        // A dropped answer sender means the job was dropped unrun: the
        // threads are gone.
        if let Ok(answer) = tokio::time::timeout_at(deadline.into(), &mut answer).await {
            return answer.unwrap_or_else(|_| Err(closed()));
        }
        if ticket.abandon() {
            return Err(timed_out());
        }
        // A thread started the job in time, so it may commit: answering
        // 503 now could report a change as not made. Wait for the outcome,
        // as long as the job may legitimately take.
        match tokio::time::timeout(inner.acquire_timeout + STARTED_JOB_GRACE, answer).await {
            Ok(answer) => answer.unwrap_or_else(|_| Err(closed())),
            Err(_) => {
                tracing::error!("a started SQLite job did not finish; its outcome is unknown");
                Err(StoreError::Unavailable(
                    "the database did not answer in time".into(),
                ))
            }
        }
    }
}

impl SqliteStore {
    /// Runs `purge_batch` (which removes at most `batch` rows older than
    /// its cutoff, in microseconds) until a batch comes back short; returns
    /// how many rows went.
    async fn purge_in_batches(
        &self,
        cutoff: Timestamp,
        purge_batch: fn(&mut Connection, i64) -> Result<usize, Failure>,
        batch: usize,
    ) -> Result<u64, StoreError> {
        let cutoff = micros(&cutoff);
        let mut purged = 0;
        loop {
            // One batch per job, so writes queued meanwhile run in between.
            let removed = self
                .run(Lane::Write, move |connection| {
                    purge_batch(connection, cutoff)
                })
                .await?;
            purged += removed as u64;
            if removed < batch {
                return Ok(purged);
            }
        }
    }
}

#[cfg(feature = "testing")]
impl SqliteStore {
    /// A store on a fresh file in a temporary directory, which is removed
    /// when the last clone of the store is dropped. For tests.
    pub async fn open_temporary(options: SqliteOptions) -> Result<SqliteStore, OpenError> {
        let dir = tempfile::tempdir().map_err(OpenError::Directory)?;
        let mut store = SqliteStore::open(&dir.path().join("todo.db"), options).await?;
        store.temp_dir = Some(Arc::new(dir));
        Ok(store)
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SqliteStore")
            .field("readers", &self.inner.readers)
            .field("acquire_timeout", &self.inner.acquire_timeout)
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TodoStore for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn owner_of(&self, subject: &str) -> Result<Owner, StoreError> {
        let subject = subject.to_owned();
        self.run(Lane::Write, move |connection| {
            queries::owner_of(connection, &subject)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn create(&self, owner: Owner, todo: NewTodo) -> Result<Todo, StoreError> {
        self.run(Lane::Write, move |connection| {
            queries::create(connection, owner, todo)
        })
        .await
        .inspect(|_| self.inner.change_signals.changed(owner))
    }

    #[tracing::instrument(skip_all, fields(count = todos.len()))]
    async fn create_many(
        &self,
        owner: Owner,
        todos: Vec<NewTodo>,
    ) -> Result<Vec<Todo>, StoreError> {
        self.run(Lane::Write, move |connection| {
            queries::create_many(connection, owner, todos)
        })
        .await
        .inspect(|_| self.inner.change_signals.changed(owner))
    }

    #[tracing::instrument(skip_all)]
    async fn create_keyed(
        &self,
        owner: Owner,
        key: &IdempotencyKey,
        creation: Creation,
    ) -> Result<KeyedOutcome, StoreError> {
        let Some(_claim) = self.inner.keys_in_flight.claim(owner, key) else {
            return Err(StoreError::IdempotencyKeyInFlight);
        };
        let key = key.clone();
        self.run(Lane::Write, move |connection| {
            idempotency::create_keyed(connection, owner, &key, creation)
        })
        .await
        .inspect(|outcome| {
            if matches!(outcome, KeyedOutcome::Created(_)) {
                self.inner.change_signals.changed(owner);
            }
        })
    }

    #[tracing::instrument(skip_all)]
    async fn purge_idempotency_keys(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        self.purge_in_batches(cutoff, idempotency::purge_batch, idempotency::PURGE_BATCH)
            .await
    }

    #[tracing::instrument(skip_all, fields(id = id))]
    async fn get(&self, owner: Owner, id: i64) -> Result<Todo, StoreError> {
        self.run(Lane::Read, move |connection| {
            queries::get(connection, owner, id)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn list(&self, owner: Owner, query: &ListQuery) -> Result<Page, StoreError> {
        let query = query.clone();
        self.run(Lane::Read, move |connection| {
            queries::list(connection, owner, &query)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(id = id))]
    async fn update(
        &self,
        owner: Owner,
        id: i64,
        patch: TodoPatch,
        expected: Option<&Expected>,
    ) -> Result<Todo, StoreError> {
        let expected = expected.cloned();
        self.run(Lane::Write, move |connection| {
            queries::update(connection, owner, id, patch, expected.as_ref())
        })
        .await
        .inspect(|_| self.inner.change_signals.changed(owner))
    }

    #[tracing::instrument(skip_all, fields(count = patches.len()))]
    async fn update_many(
        &self,
        owner: Owner,
        patches: Vec<IdentifiedPatch>,
    ) -> Result<Vec<Todo>, StoreError> {
        self.run(Lane::Write, move |connection| {
            queries::update_many(connection, owner, patches)
        })
        .await
        .inspect(|_| self.inner.change_signals.changed(owner))
    }

    #[tracing::instrument(skip_all, fields(id = id))]
    async fn delete(
        &self,
        owner: Owner,
        id: i64,
        expected: Option<&Expected>,
    ) -> Result<(), StoreError> {
        let expected = expected.cloned();
        self.run(Lane::Write, move |connection| {
            queries::delete(connection, owner, id, expected.as_ref())
        })
        .await
        .inspect(|_| self.inner.change_signals.changed(owner))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_matching(&self, owner: Owner, filter: &TodoFilter) -> Result<u64, StoreError> {
        let filter = filter.clone();
        self.run(Lane::Write, move |connection| {
            queries::delete_matching(connection, owner, &filter)
        })
        .await
        .inspect(|&deleted| {
            if deleted > 0 {
                self.inner.change_signals.changed(owner);
            }
        })
    }

    #[tracing::instrument(skip_all)]
    async fn changes(
        &self,
        owner: Owner,
        since: Option<ChangeCursor>,
        limit: u16,
    ) -> Result<ChangePage, StoreError> {
        self.run(Lane::Read, move |connection| {
            change_log::changes(connection, owner, since, limit)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn change_head(&self, owner: Owner) -> Result<ChangeCursor, StoreError> {
        self.run(Lane::Read, move |connection| {
            change_log::change_head(connection, owner)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn purge_tombstones(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        self.purge_in_batches(cutoff, change_log::purge_batch, change_log::PURGE_BATCH)
            .await
    }

    fn follow_changes(&self, listener: Arc<dyn ChangeListener>) {
        // Every write goes through this process's writer, so the store's
        // own signals are all there is to follow.
        self.inner.change_signals.listen(listener);
    }

    #[tracing::instrument(skip_all)]
    async fn ping(&self) -> Result<(), StoreError> {
        self.run(Lane::Read, queries::ping).await
    }

    async fn close(&self) {
        SqliteStore::close(self).await;
    }

    fn pool_status(&self) -> PoolStatus {
        let inner = &self.inner;
        let size = inner.readers + 1;
        let in_use = inner.in_use.load(Ordering::Relaxed).min(size);
        PoolStatus {
            max_size: size,
            size,
            idle: size - in_use,
            in_use,
            // Includes jobs whose callers gave up, until a thread skips them.
            waiting: inner.writes.len() + inner.reads.len(),
        }
    }

    fn observe_groups(&self, observer: Arc<dyn GroupObserver>) {
        self.inner.group_reports.observe(observer);
    }
}
