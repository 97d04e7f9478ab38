//! The result files of a bench run, `OUT/PART.json`: which part writes which
//! file, how a file is written and read back, and the records several parts
//! write (a workload beside its reference, the reference's figures, the
//! statements the service issued). The records of one part alone are
//! defined with that part, in `parts/`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use todo_load::limits::Limits;
use todo_load::stats::LatencySummary;
use todo_load::sustained::RunReport;
use todo_load::workload::Workload;

use crate::error::BenchError;

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
    /// Target 8: JWT with 1,000 users against open mode, both backends.
    Users,
    /// Target 9: listings right after 10,000 todos arrived in bulk.
    #[value(name = "lists-after-bulk")]
    ListsAfterBulk,
    /// Targets 10 and 11: catching up through the change log, and event
    /// streams fanned out.
    Changes,
    /// Instances restarted one by one, and one killed, behind HAProxy and
    /// PgBouncer under load: 1, 2 and 3 instances.
    RollingRestart,
}

impl Part {
    pub const ALL: [Part; 19] = [
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
        Part::Users,
        Part::ListsAfterBulk,
        Part::Changes,
        Part::RollingRestart,
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
            Part::Users => "users.json",
            Part::ListsAfterBulk => "lists-after-bulk.json",
            Part::Changes => "changes.json",
            Part::RollingRestart => "rolling-restart.json",
        }
    }
}

/// Where the SQLite half of the `creates` part goes.
pub const CREATES_SQLITE_FILE: &str = "creates-sqlite.json";

/// Where the SQLite half of the `users` part goes.
pub const USERS_SQLITE_FILE: &str = "users-sqlite.json";

/// Where the machine's description goes.
pub const MACHINE_FILE: &str = "machine.json";

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

/// What a reference (pgbench, the bare rusqlite loop) measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ceiling {
    pub tool: String,
    pub clients: u64,
    pub throughput: f64,
    pub latency: LatencySummary,
    pub command: String,
    /// The SQL each script ran.
    pub scripts: Vec<String>,
}

/// A statement the service issued, as `pg_stat_statements` (with its
/// calls) or `pg_stat_activity` (calls 0) saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issued {
    pub query: String,
    pub calls: i64,
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
    pub fn combined(self, other: Durability) -> Durability {
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
