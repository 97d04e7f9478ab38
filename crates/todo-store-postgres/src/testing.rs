//! A throwaway PostgreSQL cluster for tests: one per test binary, started
//! from the installed server binaries on a free port, with a migrated
//! template database that each test clones into a database of its own.
//!
//! The cluster stops and its directory is deleted when the test binary
//! exits, however it exits (see `testing/supervisor.rs`). Tests that stop or pause the server should
//! live in a test binary of their own, so they disturb no other test.

mod install;
mod supervisor;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use tokio_postgres::NoTls;

use todo_core::TodoStore;

use crate::{PgOptions, PgStore};
/// Whether this process is root, and the system user the server (and
/// anything else that refuses root, such as PgBouncer) then runs as.
pub use install::{SERVER_USER, is_root};
use install::{ServerUser, bin_dir, check};
use supervisor::Supervisor;

/// The database every test database is cloned from.
const TEMPLATE: &str = "todo_template";

/// How long the server may take to accept connections after a start.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

static CLUSTER: OnceCell<TestCluster> = OnceCell::const_new();
static NEXT_DATABASE: AtomicU64 = AtomicU64::new(1);

/// The pool settings of the stores [`TestCluster::fresh_store`] opens.
pub const TEST_OPTIONS: PgOptions = PgOptions {
    pool_size: 4,
    acquire_timeout: Duration::from_secs(5),
    connect_timeout: Duration::from_secs(5),
    statement_timeout: None,
    statement_cache: true,
    shared_connections: 2,
};

/// A PostgreSQL server of this test binary.
#[derive(Debug)]
pub struct TestCluster {
    dir: PathBuf,
    port: u16,
    supervisor: Mutex<Supervisor>,
    postmaster: Mutex<Option<u32>>,
}

impl TestCluster {
    /// The cluster of this test binary, started and given its migrated
    /// template on first use.
    pub async fn shared() -> &'static TestCluster {
        CLUSTER.get_or_init(TestCluster::start_new).await
    }

    async fn start_new() -> TestCluster {
        let bin = bin_dir();
        let user = ServerUser::detect();
        // Under /tmp, whatever TMPDIR says: the server's user must be able
        // to reach it, and the socket path must stay short.
        let dir = tempfile::Builder::new()
            .prefix("todo-pg-")
            .tempdir_in("/tmp")
            .expect("could not create a directory for the test cluster")
            .keep();
        std::fs::create_dir(dir.join("sock")).expect("could not create the socket directory");
        user.take_ownership(&dir);
        let port = free_port();
        let (supervisor, pid) = Supervisor::spawn(user, &dir, &bin, port);
        let cluster = TestCluster {
            dir,
            port,
            supervisor: Mutex::new(supervisor),
            postmaster: Mutex::new(Some(pid)),
        };
        cluster.wait_until_ready(pid).await;
        cluster.create_template().await;
        cluster
    }

    /// The port the server listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` on this cluster, as the superuser.
    pub fn url_for(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a new, migrated, empty database and returns its URL.
    pub async fn fresh_database_url(&self) -> String {
        let name = format!("t{}", NEXT_DATABASE.fetch_add(1, Ordering::Relaxed));
        // Identifiers cannot be bound; the name is made here, not read.
        self.execute_as_admin(&format!("create database {name} template {TEMPLATE}"))
            .await;
        self.url_for(&name)
    }

    /// Creates a new database without any table, for migration tests, and
    /// returns its URL.
    pub async fn empty_database_url(&self) -> String {
        let name = format!("e{}", NEXT_DATABASE.fetch_add(1, Ordering::Relaxed));
        self.execute_as_admin(&format!("create database {name}"))
            .await;
        self.url_for(&name)
    }

    /// A store on a fresh database, with [`TEST_OPTIONS`].
    pub async fn fresh_store(&self) -> PgStore {
        self.fresh_store_with(TEST_OPTIONS).await
    }

    /// A store on a fresh database, with `options`.
    pub async fn fresh_store_with(&self, options: PgOptions) -> PgStore {
        let url = self.fresh_database_url().await;
        PgStore::connect(&url, options)
            .await
            .expect("could not connect to the test database")
    }

    /// Turns TLS on with this certificate chain and key (PEM), and waits
    /// until the server offers it. Plain connections keep working.
    pub async fn enable_tls(&self, certificate_pem: &str, key_pem: &str) {
        let certificate = self.dir.join("server.crt");
        let key = self.dir.join("server.key");
        std::fs::write(&certificate, certificate_pem).expect("could not write the certificate");
        std::fs::write(&key, key_pem).expect("could not write the key");
        // The server refuses a key that others may read.
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("could not restrict the key's permissions");
        let user = ServerUser::detect();
        user.take_ownership(&certificate);
        user.take_ownership(&key);
        // Paths are made here, not read; quotes in them are not expected.
        self.execute_as_admin(&format!(
            "alter system set ssl_cert_file = '{}'",
            certificate.display()
        ))
        .await;
        self.execute_as_admin(&format!(
            "alter system set ssl_key_file = '{}'",
            key.display()
        ))
        .await;
        self.execute_as_admin("alter system set ssl = on").await;
        self.execute_as_admin("select pg_reload_conf()").await;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let (client, connection) = tokio_postgres::connect(&self.url_for("postgres"), NoTls)
                .await
                .expect("could not connect to the test cluster");
            tokio::spawn(connection);
            let row = client
                .query_one("select current_setting('ssl')", &[])
                .await
                .expect("could not read the ssl setting");
            if row.get::<_, String>(0) == "on" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not turn TLS on:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The postmaster's pid while the server runs.
    pub fn postmaster_pid(&self) -> Option<u32> {
        *self.postmaster.lock().expect("postmaster pid lock")
    }

    /// Stops the server (fast shutdown: sessions are ended) and waits until
    /// it has exited. Blocks the calling thread for that time.
    pub fn stop(&self) {
        let mut supervisor = self.supervisor.lock().expect("supervisor lock");
        supervisor.stop();
        *self.postmaster.lock().expect("postmaster pid lock") = None;
    }

    /// Starts the server again after [`TestCluster::stop`], on the same
    /// port, and waits until it accepts connections.
    pub async fn start(&self) {
        let pid = self.supervisor.lock().expect("supervisor lock").start();
        *self.postmaster.lock().expect("postmaster pid lock") = Some(pid);
        self.wait_until_ready(pid).await;
    }

    /// Freezes the server (SIGSTOP to the postmaster and every backend), so
    /// it neither answers nor refuses, until the guard is dropped.
    pub fn pause(&self) -> Paused<'_> {
        signal_server(self.postmaster_pid(), "-STOP");
        Paused { cluster: self }
    }

    async fn wait_until_ready(&self, pid: u32) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut config: tokio_postgres::Config = self
            .url_for("postgres")
            .parse()
            .expect("the cluster URL parses");
        config.connect_timeout(Duration::from_secs(1));
        loop {
            match config.connect(NoTls).await {
                Ok(_) => return,
                Err(error) => {
                    assert!(
                        is_running(pid),
                        "PostgreSQL exited while starting:\n{}",
                        self.log()
                    );
                    assert!(
                        Instant::now() < deadline,
                        "PostgreSQL did not accept connections within {READY_TIMEOUT:?} \
                         ({error}):\n{}",
                        self.log()
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn create_template(&self) {
        self.execute_as_admin(&format!("create database {TEMPLATE}"))
            .await;
        let store = PgStore::connect(&self.url_for(TEMPLATE), TEST_OPTIONS)
            .await
            .expect("could not connect to the template database");
        store
            .migrate()
            .await
            .expect("could not migrate the template database");
        store.close().await;
        drop(store);
        // `create database ... template` refuses while anyone is connected
        // to the template, and closed connections take a moment to end.
        let (client, connection) = tokio_postgres::connect(&self.url_for("postgres"), NoTls)
            .await
            .expect("could not connect to the test cluster");
        tokio::spawn(connection);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let row = client
                .query_one(
                    "select count(*) from pg_stat_activity where datname = $1",
                    &[&TEMPLATE],
                )
                .await
                .expect("could not count the template's sessions");
            if row.get::<_, i64>(0) == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "sessions on the template database did not end"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Runs one statement on the `postgres` database.
    async fn execute_as_admin(&self, sql: &str) {
        let (client, connection) = tokio_postgres::connect(&self.url_for("postgres"), NoTls)
            .await
            .expect("could not connect to the test cluster");
        tokio::spawn(connection);
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
    }
}

/// A paused server; dropping it lets the server run again, even when the
/// test panics.
#[derive(Debug)]
#[must_use = "the server runs again when this is dropped"]
pub struct Paused<'a> {
    cluster: &'a TestCluster,
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        signal_server(self.cluster.postmaster_pid(), "-CONT");
    }
}

/// Sends a signal to the postmaster and its children: stopping only the
/// postmaster would leave open sessions answering.
fn signal_server(postmaster: Option<u32>, signal: &str) {
    let Some(postmaster) = postmaster else {
        return;
    };
    let mut pids = children_of(postmaster);
    pids.push(postmaster);
    let output = Command::new("kill")
        .arg(signal)
        .args(pids.iter().map(u32::to_string))
        .output();
    // A backend may exit between the listing and the signal, which makes
    // `kill` fail although every live process was signalled.
    if let Ok(output) = &output
        && !output.status.success()
        && String::from_utf8_lossy(&output.stderr)
            .lines()
            .all(|line| line.contains("No such process"))
    {
        return;
    }
    check("kill", output, "could not signal the PostgreSQL processes");
}

fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| process_stat(*pid).is_some_and(|(_, ppid)| ppid == parent))
        .collect()
}

/// The state letter and parent pid of a process, from `/proc/PID/stat`.
fn process_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses; it ends at the last `)`.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether a process exists and has not exited (a zombie has).
fn is_running(pid: u32) -> bool {
    process_stat(pid).is_some_and(|(state, _)| !matches!(state, 'Z' | 'X'))
}

/// A port nobody listens on now. The server binds it a moment later; a
/// clash in between is possible but rare on a test machine.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("could not find a free port");
    listener.local_addr().expect("a bound address").port()
}

/// What tests ask of a store's connections.
impl PgStore {
    /// Applies the migrations up to `version` only: a database as an older
    /// release left it, for the tests of upgrading in place.
    pub async fn migrate_to_version(&self, version: i32) {
        crate::migrate::migrate_to(self.db.pool(), refinery::Target::Version(version))
            .await
            .expect("migrated");
    }

    /// Runs `sql` (several statements) on one of the pool's connections.
    pub async fn execute_batch(&self, sql: &str) {
        let client = self.db.pool().get().await.expect("a pooled connection");
        client.batch_execute(sql).await.expect("executed");
    }

    /// The value of a server setting on one of the pool's connections.
    pub async fn setting(&self, name: &str) -> String {
        let client = self.db.pool().get().await.expect("a pooled connection");
        client
            .query_one("select current_setting($1)", &[&name])
            .await
            .expect("could not read the setting")
            .get(0)
    }

    /// Whether one of the pool's connections is encrypted.
    pub async fn connection_is_encrypted(&self) -> bool {
        let client = self.db.pool().get().await.expect("a pooled connection");
        client
            .query_one(
                "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
                &[],
            )
            .await
            .expect("could not read pg_stat_ssl")
            .get(0)
    }

    /// The count `sql` (a `select count(*) …`) gives on one of the pool's
    /// connections, read with the simple protocol.
    pub async fn query_count(&self, sql: &str) -> i64 {
        let client = self.db.pool().get().await.expect("a pooled connection");
        let rows = client.simple_query(sql).await.expect("could not count");
        rows.iter()
            .find_map(|message| match message {
                tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0)?.parse().ok(),
                _ => None,
            })
            .expect("a count")
    }

    /// How many statements one of the pool's connections holds prepared.
    /// The count is read with the simple protocol, which prepares nothing.
    pub async fn prepared_statements(&self) -> usize {
        let count = self
            .query_count("select count(*) from pg_prepared_statements")
            .await;
        usize::try_from(count).expect("a count")
    }
}
