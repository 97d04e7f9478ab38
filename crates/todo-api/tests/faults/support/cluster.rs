//! The databases of the fault tests: a temp SQLite file, or a database on
//! the shared PostgreSQL cluster, and the turns and guards that keep one
//! test's outage of that cluster from every other test.

use std::time::Duration;

use tempfile::TempDir;
use todo_store_postgres::testing::{Paused, TestCluster};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// How long waiting for another test's turn with the cluster may take.
const CLUSTER_TURN_TIMEOUT: Duration = Duration::from_secs(120);

/// Tests that leave the cluster running share it (read); a test that stops
/// or freezes it has it alone (write), so no other test sees the outage.
static CLUSTER_TURN: RwLock<()> = RwLock::const_new(());

/// Which database a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of one test: a temp SQLite file, or a fresh migrated
/// database on the shared cluster (holding a shared turn with it).
#[derive(Debug)]
pub struct Database {
    url: String,
    // The SQLite file lives in it.
    _dir: Option<TempDir>,
    // The cluster stays up while this database is in use.
    _turn: Option<RwLockReadGuard<'static, ()>>,
}

impl Database {
    /// A fresh, migrated database on `backend`.
    pub async fn new(backend: Backend) -> Database {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("could not create a temp dir");
                let url = format!("sqlite://{}", dir.path().join("todo.db").display());
                Database {
                    url,
                    _dir: Some(dir),
                    _turn: None,
                }
            }
            Backend::Postgres => {
                let (cluster, turn) = shared_cluster().await;
                Database {
                    url: cluster.fresh_database_url().await,
                    _dir: None,
                    _turn: Some(turn),
                }
            }
        }
    }

    /// A PostgreSQL database without any table, for migration tests.
    pub async fn empty_postgres() -> Database {
        let (cluster, turn) = shared_cluster().await;
        Database {
            url: cluster.empty_database_url().await,
            _dir: None,
            _turn: Some(turn),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

/// The shared cluster, for a test that leaves it running.
async fn shared_cluster() -> (&'static TestCluster, RwLockReadGuard<'static, ()>) {
    let turn = tokio::time::timeout(CLUSTER_TURN_TIMEOUT, CLUSTER_TURN.read())
        .await
        .expect("no turn with the shared cluster: a test that stops it ran too long");
    (TestCluster::shared().await, turn)
}

/// The shared cluster held alone, for a test that stops or freezes it.
#[derive(Debug)]
pub struct ExclusiveCluster {
    cluster: &'static TestCluster,
    _turn: RwLockWriteGuard<'static, ()>,
}

impl ExclusiveCluster {
    /// Waits until no other test uses the cluster, then holds it alone.
    pub async fn acquire() -> ExclusiveCluster {
        let turn = tokio::time::timeout(CLUSTER_TURN_TIMEOUT, CLUSTER_TURN.write())
            .await
            .expect("no turn alone with the shared cluster: other tests ran too long");
        ExclusiveCluster {
            cluster: TestCluster::shared().await,
            _turn: turn,
        }
    }

    /// A fresh, migrated database on the cluster.
    pub async fn fresh_database(&self) -> Database {
        Database {
            url: self.cluster.fresh_database_url().await,
            _dir: None,
            _turn: None,
        }
    }

    /// Stops the server (fast shutdown); it starts again when the guard is
    /// started or dropped.
    pub async fn stop(&self) -> Stopped {
        let cluster = self.cluster;
        // Made before stopping, so that even a stop that times out is undone.
        let stopped = Stopped {
            cluster,
            running: false,
        };
        // `stop` blocks its thread until the server has exited.
        let stop = tokio::task::spawn_blocking(move || cluster.stop());
        tokio::time::timeout(Duration::from_secs(30), stop)
            .await
            .expect("PostgreSQL did not stop within 30 s")
            .expect("stopping PostgreSQL panicked");
        stopped
    }

    /// Freezes the server (SIGSTOP) until the guard is dropped.
    pub fn pause(&self) -> Paused<'static> {
        self.cluster.pause()
    }
}

/// A stopped server. [`Stopped::start`] starts it again; dropping the guard
/// without that (a failed test) starts it too.
#[derive(Debug)]
#[must_use = "the server starts again when this is dropped"]
pub struct Stopped {
    cluster: &'static TestCluster,
    running: bool,
}

impl Stopped {
    /// Starts the server and waits until it accepts connections.
    pub async fn start(mut self) {
        self.cluster.start().await;
        self.running = true;
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if self.running {
            return;
        }
        let cluster = self.cluster;
        // Drop cannot await, and may run on a runtime's thread: start the
        // server from a thread with a runtime of its own.
        let started = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to restart PostgreSQL")
                .block_on(cluster.start());
        })
        .join();
        if started.is_err() {
            eprintln!("could not start PostgreSQL again after a failed test");
        }
    }
}
