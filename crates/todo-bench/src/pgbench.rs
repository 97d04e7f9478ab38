//! The references of the PostgreSQL figures: `pgbench` running the very
//! statements the service issued (sampled from `pg_stat_activity`), with
//! the values the load tool sent, prepared as the service prepares them, at
//! the same client count, on the same database. `scripts.rs` writes the
//! scripts; this runs them and reads what pgbench measured.

pub mod scripts;

use std::path::{Path, PathBuf};
use std::time::Duration;

use todo_load::stats::{Latencies, LatencySummary};
use todo_load::workload::{IdRange, Workload};
use tokio::process::Command;

use crate::error::BenchError;
use crate::results::{Ceiling, Issued};
use scripts::{Script, op_scripts};

/// Runs pgbench for `workload` at `clients` for `duration` on `database`.
#[allow(clippy::too_many_arguments)]
pub async fn run_pgbench(
    workload: Workload,
    issued: &[Issued],
    ids: IdRange,
    port: u16,
    database: &str,
    clients: u64,
    duration: Duration,
    dir: &Path,
) -> Result<Ceiling, BenchError> {
    let (scripts, defines) = op_scripts(workload, issued, ids)?;
    let run = PgbenchRun {
        port,
        database,
        clients,
        threads: 2,
        duration,
        dir,
    };
    run_scripts(&run, &scripts, &defines).await
}

/// Where and how long pgbench runs.
#[derive(Debug, Clone, Copy)]
pub struct PgbenchRun<'a> {
    pub port: u16,
    pub database: &'a str,
    pub clients: u64,
    /// pgbench's `-j`.
    pub threads: u32,
    pub duration: Duration,
    /// Scripts and logs go to a temporary directory under this.
    pub dir: &'a Path,
}

/// Runs pgbench with `scripts` (text, weight) and `-D` `defines`, prepared
/// statements.
pub async fn run_scripts(
    run: &PgbenchRun<'_>,
    scripts: &[Script],
    defines: &[String],
) -> Result<Ceiling, BenchError> {
    let work = tempfile::tempdir_in(run.dir).map_err(BenchError::Io)?;
    let mut args: Vec<String> = vec![
        "-h".into(),
        "127.0.0.1".into(),
        "-p".into(),
        run.port.to_string(),
        "-U".into(),
        "postgres".into(),
        "-n".into(),
        "-M".into(),
        "prepared".into(),
        "-c".into(),
        run.clients.to_string(),
        "-j".into(),
        run.threads.to_string(),
        "-T".into(),
        run.duration.as_secs().max(1).to_string(),
        "-l".into(),
        format!("--log-prefix={}", work.path().join("log").display()),
    ];
    for (index, (text, weight)) in scripts.iter().enumerate() {
        let path = work.path().join(format!("script{index}.sql"));
        std::fs::write(&path, text).map_err(BenchError::Io)?;
        args.push("-f".into());
        args.push(format!("{}@{weight}", path.display()));
    }
    for define in defines {
        args.push("-D".into());
        args.push(define.clone());
    }
    args.push(run.database.to_owned());
    let output = Command::new(pgbench_binary())
        .args(&args)
        .current_dir(work.path())
        .output()
        .await
        .map_err(BenchError::Io)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(BenchError::Setup(format!(
            "pgbench failed: {}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let throughput = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .unwrap_or(0.0);
    Ok(Ceiling {
        tool: "pgbench".to_owned(),
        clients: run.clients,
        throughput,
        latency: read_logs(work.path())?,
        command: format!("pgbench {}", args.join(" ")),
        scripts: scripts.iter().map(|(text, _)| text.clone()).collect(),
    })
}

/// Latencies from pgbench's per-transaction logs (third field, µs).
fn read_logs(dir: &Path) -> Result<LatencySummary, BenchError> {
    let mut latencies = Latencies::default();
    for entry in std::fs::read_dir(dir).map_err(BenchError::Io)? {
        let path = entry.map_err(BenchError::Io)?.path();
        if !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("log"))
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(BenchError::Io)?;
        for line in text.lines() {
            if let Some(micros) = line.split_whitespace().nth(2).and_then(|f| f.parse().ok()) {
                latencies.record(Duration::from_micros(micros));
            }
        }
    }
    Ok(latencies.summary())
}

/// `pgbench` beside the server binaries, else the one on `PATH`.
fn pgbench_binary() -> PathBuf {
    let mut versions: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin/pgbench"))
        .filter(|path| path.is_file())
        .collect();
    versions.sort();
    versions.pop().unwrap_or_else(|| "pgbench".into())
}
