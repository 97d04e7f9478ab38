//! The throwaway PostgreSQL cluster of a bench run (the store crate's
//! `TestCluster`: its own directory and port, never a shared server, run as
//! the `postgres` user when root, removed when this process exits), set up
//! for the bench: enough connections for pgbench's clients, and
//! `pg_stat_statements` to read which statements the service issued.

use todo_store_postgres::testing::TestCluster;
use tokio_postgres::{Client, NoTls};

use crate::error::BenchError;
use crate::results::Issued;

/// Connections the server accepts: pgbench's 256 clients and the service's
/// pool side by side.
const MAX_CONNECTIONS: u32 = 600;

/// The bench's cluster.
#[derive(Debug)]
pub struct Cluster {
    inner: &'static TestCluster,
}

impl Cluster {
    /// Starts the cluster and restarts it once with the bench's settings.
    pub async fn start() -> Result<Cluster, BenchError> {
        let inner = TestCluster::shared().await;
        let admin = connect(&inner.url_for("postgres")).await?;
        // One statement per call: a multi-statement string is one
        // transaction, where ALTER SYSTEM may not run.
        for setting in [
            format!("alter system set max_connections = {MAX_CONNECTIONS}"),
            "alter system set shared_preload_libraries = 'pg_stat_statements'".to_owned(),
            // Whole statement texts in pg_stat_activity, see `ActivitySampler`.
            "alter system set track_activity_query_size = 16384".to_owned(),
        ] {
            admin.batch_execute(&setting).await?;
        }
        drop(admin);
        // `stop` blocks until the server has exited.
        tokio::task::block_in_place(|| inner.stop());
        inner.start().await;
        Ok(Cluster { inner })
    }

    pub fn port(&self) -> u16 {
        self.inner.port()
    }

    /// A new migrated, empty database with `pg_stat_statements`; its name
    /// and URL.
    pub async fn fresh_database(&self) -> Result<(String, String), BenchError> {
        let url = self.inner.fresh_database_url().await;
        let name = url.rsplit('/').next().unwrap_or_default().to_owned();
        let client = connect(&url).await?;
        client
            .batch_execute("create extension if not exists pg_stat_statements")
            .await?;
        Ok((name, url))
    }
}

/// A plain connection for set-up and statistics.
pub async fn connect(url: &str) -> Result<Client, BenchError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// Collects the exact texts of the statements a database's sessions run,
/// from `pg_stat_activity`, while a load runs. (`pg_stat_statements`
/// replaces constants by placeholders, so its texts cannot be rerun as
/// they are; it serves for the counts.)
#[derive(Debug)]
pub struct ActivitySampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl ActivitySampler {
    pub async fn start(url: &str, name: &str) -> Result<ActivitySampler, BenchError> {
        let client = connect(url).await?;
        let name = name.to_owned();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let mut seen = std::collections::BTreeSet::new();
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(rows) = client
                    .query(
                        "select distinct query from pg_stat_activity
                         where datname = $1 and pid <> pg_backend_pid()
                           and backend_type = 'client backend'",
                        &[&name],
                    )
                    .await
                {
                    seen.extend(rows.iter().map(|row| row.get::<_, String>(0)));
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            seen.into_iter().collect()
        });
        Ok(ActivitySampler { stop, task })
    }

    /// Stops sampling; the distinct texts seen.
    pub async fn finish(self) -> Vec<Issued> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.task
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|query| Issued { query, calls: 0 })
            .collect()
    }
}

/// Forgets the statistics, so the next read shows one run's statements.
pub async fn reset_statements(client: &Client) -> Result<(), BenchError> {
    client
        .execute("select pg_stat_statements_reset()", &[])
        .await?;
    Ok(())
}

/// The statements run on database `name` since the last reset, most called
/// first.
pub async fn issued_statements(client: &Client, name: &str) -> Result<Vec<Issued>, BenchError> {
    let rows = client
        .query(
            "select query, calls from pg_stat_statements s
             join pg_database d on d.oid = s.dbid
             where d.datname = $1 and query not like '%pg_stat_statements%'
             order by calls desc",
            &[&name],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Issued {
            query: row.get(0),
            calls: row.get(1),
        })
        .collect())
}

/// The rows of the todos table, read by a session of its own.
pub async fn count_todos(client: &Client) -> Result<i64, BenchError> {
    Ok(client
        .query_one("select count(*) from todos", &[])
        .await?
        .get(0))
}

/// The server's current value of `name`.
pub async fn setting(client: &Client, name: &str) -> Result<String, BenchError> {
    Ok(client
        .query_one("select current_setting($1)", &[&name])
        .await?
        .get(0))
}
