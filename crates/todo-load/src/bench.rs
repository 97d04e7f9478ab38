//! `todo-load bench`: the project's benchmark in one command. It starts a
//! throwaway PostgreSQL cluster and the release service on it (and on
//! SQLite), seeds data, runs every part, and writes each part's figures to
//! `OUT/PART.json` as soon as they are measured, so one part can be rerun
//! alone (`--only PART`). `report.rs` turns those files into tables and a
//! plot.

mod experiments;
mod parts;
mod pgbench;
mod postgres;
mod proxy;
mod service;
mod sqlite_loop;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::limits::Limits;
use crate::scenarios::ScenarioResult;
use crate::sustained::RunReport;
use crate::workload::Workload;

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
    Scenario(#[from] crate::scenarios::ScenarioError),
    #[error(transparent)]
    Prepare(#[from] crate::workload::PrepareError),
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
}

impl Part {
    pub const ALL: [Part; 8] = [
        Part::ScenariosPostgres,
        Part::ScenariosSqlite,
        Part::WorkloadsPostgres,
        Part::WorkloadsSqlite,
        Part::Pool,
        Part::Indexes,
        Part::Bulk,
        Part::Sustained,
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
