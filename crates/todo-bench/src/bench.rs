//! `todo-load bench`: the project's benchmark in one command. It starts a
//! throwaway PostgreSQL cluster and the release service on it (and on
//! SQLite), seeds data, runs every part, and writes each part's figures to
//! `OUT/PART.json` as soon as they are measured, so one part can be rerun
//! alone (`--only PART`). `report.rs` turns those files into tables and a
//! plot.

mod distant;
mod experiments;
#[cfg(test)]
pub(crate) mod fixtures;
mod goals;
mod lists;
mod parts;
mod pgbench;
mod postgres;
mod proxy;
mod service;
mod sqlite_loop;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use todo_load::limits::Limits;
use todo_load::scenarios::ScenarioResult;
use todo_load::sustained::RunReport;
use todo_load::workload::Workload;

pub use distant::{
    ConcurrencyPart, DISTANT_CLIENTS, DISTANT_DELAY, DistantPart, IDLE_CONNECTIONS, IdleMemory,
};
pub use goals::{BULK_CLIENTS, BULK_ITEMS, BulkRowsPoint, CREATES_SQLITE_FILE, TARGET_CONNECTIONS};
pub use lists::{LIST_CONNECTIONS, LIST_QUERIES, ListPoint};
pub use pgbench::Ceiling;
pub use postgres::Issued;
pub use proxy::DelayProxy;

/// Why a bench part could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}")]
    Setup(String),
    #[error("I/O: {0}")]
    Io(#[source] std::io::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Scenario(#[from] todo_load::scenarios::ScenarioError),
    #[error(transparent)]
    Prepare(#[from] todo_load::workload::PrepareError),
}

/// The parts of the bench, each written to its own file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    ScenariosPostgres,
    ScenariosSqlite,
    WorkloadsPostgres,
    WorkloadsSqlite,
    Pool,
    Indexes,
    Bulk,
    Sustained,
    /// Target 1: reads at 64 and 256 connections vs pgbench.
    Reads,
    /// Target 2: every filter and sort, first and deep page, on 1M rows.
    #[value(name = "lists-1m")]
    Lists1m,
    /// Target 3: updates at 64 and 256 connections vs pgbench.
    Updates,
    /// Target 4: creates vs pgbench's single-row INSERT and vs rusqlite.
    Creates,
    /// Target 5: the database behind a 50 ms delay proxy.
    Distant,
    /// Target 6: 10,000 clients, and memory with 10,000 idle connections.
    Concurrency,
    /// Target 7: 1,000-item bulk creates, rows/s.
    BulkRows,
}

impl Part {
    pub const ALL: [Part; 15] = [
        Part::ScenariosPostgres,
        Part::ScenariosSqlite,
        Part::WorkloadsPostgres,
        Part::WorkloadsSqlite,
        Part::Pool,
        Part::Indexes,
        Part::Bulk,
        Part::Sustained,
        Part::Reads,
        Part::Lists1m,
        Part::Updates,
        Part::Creates,
        Part::Distant,
        Part::Concurrency,
        Part::BulkRows,
    ];

    pub fn file_name(self) -> &'static str {
        match self {
            Part::ScenariosPostgres => "scenarios-postgres.json",
            Part::ScenariosSqlite => "scenarios-sqlite.json",
            Part::WorkloadsPostgres => "workloads-postgres.json",
            Part::WorkloadsSqlite => "workloads-sqlite.json",
            Part::Pool => "pool.json",
            Part::Indexes => "indexes.json",
            Part::Bulk => "bulk.json",
            Part::Sustained => "sustained.json",
            Part::Reads => "reads.json",
            Part::Lists1m => "lists-1m.json",
            Part::Updates => "updates.json",
            Part::Creates => "creates.json",
            Part::Distant => "distant.json",
            Part::Concurrency => "concurrency.json",
            Part::BulkRows => "bulk-rows.json",
        }
    }

    fn needs_postgres(self) -> bool {
        !matches!(self, Part::ScenariosSqlite | Part::WorkloadsSqlite)
    }
}

/// How to run the bench.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub parts: Vec<Part>,
    /// Length of each measured point.
    pub duration: Duration,
    pub connections: Vec<u64>,
    pub workloads: Vec<Workload>,
    /// Clients of the sustained run.
    pub sustained_clients: u64,
    /// Rows of the index experiment.
    pub index_rows: u64,
    pub out: PathBuf,
}

/// Scenario figures of one backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioPart {
    pub backend: String,
    pub results: Vec<ScenarioResult>,
}

/// One workload at one connection count, beside its ceiling.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadPoint {
    pub backend: String,
    pub workload: Workload,
    pub connections: u64,
    pub api: RunReport,
    pub ceiling: Ceiling,
    /// API throughput over the ceiling's, measured side by side.
    pub ratio: f64,
    /// The statements the service issued during the API run (PostgreSQL).
    pub issued: Vec<Issued>,
    /// Creates on PostgreSQL: whether every 2xx was a durable commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durability: Option<Durability>,
    /// Every round's figures when the point was measured in rounds (each
    /// the API run, then its ceiling's, right after); `api`, `ceiling` and
    /// `ratio` are then those of the round of median ratio.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<Round>,
}

/// One round of a point measured in rounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Round {
    pub api: f64,
    pub ceiling: f64,
    pub ratio: f64,
}

impl Round {
    /// The round of these two rates; its ratio is 0 without a ceiling.
    pub fn of(api: f64, ceiling: f64) -> Round {
        let ratio = if ceiling > 0.0 { api / ceiling } else { 0.0 };
        Round {
            api,
            ceiling,
            ratio,
        }
    }
}

/// What backs "every 2xx is committed and durable" for a create run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Durability {
    /// Creates answered 201.
    pub acked: u64,
    /// Rows the table gained meanwhile, read by another session after the
    /// run: acknowledged creates that were committed.
    pub rows_added: i64,
    /// The server's settings: anything but `off`, and `on`, make a commit
    /// durable.
    pub synchronous_commit: String,
    pub fsync: String,
    /// Whether any statement the service ran mentioned `synchronous_commit`
    /// or `fsync` (pg_stat_statements, sampled texts).
    pub commit_settings_changed: bool,
}

impl Durability {
    /// The checks of several runs as one: every run's creates counted.
    fn combined(self, other: Durability) -> Durability {
        Durability {
            acked: self.acked + other.acked,
            rows_added: self.rows_added + other.rows_added,
            synchronous_commit: if other.synchronous_commit == "off" {
                other.synchronous_commit
            } else {
                self.synchronous_commit
            },
            fsync: if other.fsync == "on" {
                self.fsync
            } else {
                other.fsync
            },
            commit_settings_changed: self.commit_settings_changed || other.commit_settings_changed,
        }
    }

    pub fn holds(&self) -> bool {
        self.rows_added >= self.acked as i64
            && self.synchronous_commit != "off"
            && self.fsync == "on"
            && !self.commit_settings_changed
    }
}

/// One pool size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolPoint {
    pub pool_size: u32,
    pub label: String,
    pub report: RunReport,
}

/// One filtered listing, with or without the indexes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexPoint {
    pub rows: u64,
    pub query: String,
    pub indexes: bool,
    pub report: RunReport,
}

/// One way of creating the same number of todos.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkPoint {
    pub backend: String,
    pub method: String,
    pub todos: u64,
    pub requests: u64,
    pub connections: u64,
    pub seconds: f64,
    pub todos_per_second: f64,
    pub failed_requests: u64,
}

/// The machine the figures were taken on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory: String,
    pub kernel: String,
    pub postgres: String,
}

impl Machine {
    pub fn describe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .map(|rest| rest.trim().to_owned())
            .unwrap_or_default();
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned();
        let postgres = std::process::Command::new("pgbench")
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        Machine {
            cpus: Limits::prepare(0).cpus,
            cpu_model,
            memory,
            kernel,
            postgres,
        }
    }
}

/// Writes `value` to `OUT/name`, replacing it whole.
pub fn save<T: Serialize>(out: &Path, name: &str, value: &T) -> Result<(), BenchError> {
    std::fs::create_dir_all(out).map_err(BenchError::Io)?;
    let path = out.join(name);
    let partial = out.join(format!("{name}.partial"));
    std::fs::write(&partial, serde_json::to_string_pretty(value)?).map_err(BenchError::Io)?;
    std::fs::rename(&partial, &path).map_err(BenchError::Io)
}

/// Reads `OUT/name`, if a run wrote it.
pub fn load<T: for<'de> Deserialize<'de>>(out: &Path, name: &str) -> Option<T> {
    let text = std::fs::read_to_string(out.join(name)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Runs the chosen parts in order.
pub async fn run_bench(options: &BenchOptions) -> Result<(), BenchError> {
    // Children (the service, PostgreSQL) inherit this limit.
    let limits = Limits::prepare(options.sustained_clients.max(10_000) * 2);
    eprintln!("open-file limit: {}", limits.open_files);
    std::fs::create_dir_all(&options.out).map_err(BenchError::Io)?;
    save(&options.out, "machine.json", &Machine::describe())?;
    let cluster = if options.parts.iter().any(|part| part.needs_postgres()) {
        eprintln!("starting a throwaway PostgreSQL cluster…");
        Some(postgres::Cluster::start().await?)
    } else {
        None
    };
    for part in &options.parts {
        eprintln!("== {part:?}");
        parts::run_part(*part, cluster.as_ref(), options).await?;
    }
    Ok(())
}
