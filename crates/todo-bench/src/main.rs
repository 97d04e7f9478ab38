//! The `todo-bench` binary: parses the command line and runs one command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use todo_bench::bench::run_bench;
use todo_bench::measure::BenchOptions;
use todo_bench::plot::plot;
use todo_bench::report::render;
use todo_bench::results::Part;
use todo_load::workload::Workload;

/// The project's benchmark of todo-api against the databases beneath it.
#[derive(Debug, Parser)]
#[command(name = "todo-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The project's benchmark: a throwaway PostgreSQL cluster, the release
    /// service on it and on SQLite, every part measured beside its ceiling
    /// (pgbench, a bare rusqlite loop); results in OUT/PART.json as they come,
    /// then OUT/report.md and the plot.
    Bench {
        /// Run only these parts (repeatable); the others' files are kept.
        #[arg(long, value_enum)]
        only: Vec<Part>,
        /// Seconds per measured point.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Connection counts of the workload tables.
        #[arg(long, value_delimiter = ',', default_values_t = [16, 64, 256])]
        connections: Vec<u64>,
        /// Workloads of the workload tables.
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = Workload::ALL)]
        workloads: Vec<Workload>,
        /// Clients of the sustained run.
        #[arg(long, default_value_t = 5000)]
        sustained_clients: u64,
        /// Rows of the index experiment.
        #[arg(long, default_value_t = 1_000_000)]
        index_rows: u64,
        /// Where results go.
        #[arg(long, default_value = "benchmarks")]
        out: PathBuf,
    },
    /// Renders OUT/report.md and OUT/bench.svg from the result files.
    Report {
        #[arg(long, default_value = "benchmarks")]
        out: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("todo-bench: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Bench {
            only,
            duration,
            connections,
            workloads,
            sustained_clients,
            index_rows,
            out,
        } => {
            anyhow::ensure!(
                !cfg!(debug_assertions),
                "bench measures the release build: cargo build --release -p todo-api -p todo-bench"
            );
            let parts = if only.is_empty() {
                Part::ALL.to_vec()
            } else {
                only
            };
            let options = BenchOptions {
                duration: Duration::from_secs_f64(duration),
                connections,
                workloads,
                sustained_clients,
                index_rows,
                out: out.clone(),
            };
            run_bench(&parts, &options).await?;
            write_report(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { out } => {
            write_report(&out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes OUT/report.md and, when there are workload figures, OUT/bench.svg.
fn write_report(out: &Path) -> anyhow::Result<()> {
    let report = render(out);
    std::fs::write(out.join("report.md"), &report)?;
    println!("{report}");
    match plot(out, &out.join("bench.svg")) {
        Ok(()) => eprintln!("plot written to {}", out.join("bench.svg").display()),
        Err(error) => eprintln!("no plot: {error}"),
    }
    Ok(())
}
