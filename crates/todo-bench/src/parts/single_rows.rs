//! The parts of the single-todo targets: reads, updates and creates, each
//! at 64 and 256 connections in rounds, beside the database's single-row
//! statement for the same work measured right after it.

use todo_load::workload::Workload;

use crate::cluster::Cluster;
use crate::error::BenchError;
use crate::measure::{BenchOptions, Grid, compare_postgres, compare_sqlite};
use crate::results::{CREATES_SQLITE_FILE, Part};

/// Connection counts of the read, update and create targets.
pub const TARGET_CONNECTIONS: [u64; 2] = [64, 256];

/// Rounds of each point of the read, update and create targets.
pub const TARGET_ROUNDS: usize = 3;

/// `reads`: `GET /api/todo/{id}` at 64 and 256 connections, beside pgbench
/// running the service's primary-key select.
pub async fn run_reads(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
    let grid = Grid {
        workloads: &[Workload::Read],
        connections: &TARGET_CONNECTIONS,
        file: Part::Reads.file_name(),
        rounds: TARGET_ROUNDS,
    };
    compare_postgres(cluster, options, &grid).await.map(drop)
}

/// `updates`: `PATCH /api/todo/{id}` at 64 and 256 connections, beside
/// pgbench running the service's single-row update.
pub async fn run_updates(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
    let grid = Grid {
        workloads: &[Workload::Update],
        connections: &TARGET_CONNECTIONS,
        file: Part::Updates.file_name(),
        rounds: TARGET_ROUNDS,
    };
    compare_postgres(cluster, options, &grid).await.map(drop)
}

/// `creates`: single-todo `POST /api/todo` at 64 and 256 connections,
/// beside pgbench's single-row INSERT transactions (with each 2xx checked
/// to be a durable commit), then the same on SQLite beside the bare
/// one-transaction-per-row rusqlite loop.
pub async fn run_creates(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
    let grid = Grid {
        workloads: &[Workload::Create],
        connections: &TARGET_CONNECTIONS,
        file: Part::Creates.file_name(),
        rounds: TARGET_ROUNDS,
    };
    compare_postgres(cluster, options, &grid).await?;
    let grid = Grid {
        file: CREATES_SQLITE_FILE,
        ..grid
    };
    compare_sqlite(options, &grid).await.map(drop)
}
