//! The `todo-bench` binary: parses the command line and runs one command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use todo_bench::bench::run_bench;
use todo_bench::cluster::Cluster;
use todo_bench::local_cluster::{LocalCluster, LocalClusterSpec, missing_programs};
use todo_bench::measure::BenchOptions;
use todo_bench::plot::plot;
use todo_bench::report::render;
use todo_bench::results::Part;
use todo_bench::service::service_binary;
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
        /// Rows of the index experiment and of the listings part.
        #[arg(long, default_value_t = 1_000_000)]
        index_rows: u64,
        /// Page size (`limit`) of the listings part.
        #[arg(long, default_value_t = 100)]
        list_page_size: u32,
        /// Only the listings whose query holds this text (repeatable), as
        /// `--list-query due_` for the due-date ones.
        #[arg(long = "list-query")]
        list_queries: Vec<String>,
        /// Spread the listings part's rows over this many users and list
        /// as one of them, with JWT on (0: open mode, every row the
        /// anonymous user's).
        #[arg(long, default_value_t = 0)]
        list_users: u64,
        /// Where results go.
        #[arg(long, default_value = "benchmarks")]
        out: PathBuf,
    },
    /// The deployment topology on loopback, for development: a throwaway
    /// PostgreSQL cluster, PgBouncer in transaction mode, INSTANCES release
    /// `todo-api` processes (the binary beside this one) and HAProxy in
    /// front on PORT. Runs until Ctrl-C or SIGTERM, then stops everything
    /// it started; the database goes with it.
    Cluster {
        #[arg(long, default_value_t = 3)]
        instances: usize,
        /// HAProxy's port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8000)]
        port: u16,
        /// Where the configurations and logs go.
        #[arg(long, default_value = "target/local-cluster")]
        dir: PathBuf,
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
            list_page_size,
            list_queries,
            list_users,
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
                list_page_size,
                list_queries,
                list_users,
                out: out.clone(),
            };
            run_bench(&parts, &options).await?;
            write_report(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Cluster {
            instances,
            port,
            dir,
        } => {
            run_local_cluster(instances, port, dir).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { out } => {
            write_report(&out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `todo-bench cluster`: starts the topology, says where everything is,
/// and stops it all on Ctrl-C or SIGTERM.
async fn run_local_cluster(instances: usize, port: u16, dir: PathBuf) -> anyhow::Result<()> {
    anyhow::ensure!(instances >= 1, "--instances must be at least 1");
    let missing = missing_programs();
    anyhow::ensure!(
        missing.is_empty(),
        "{missing:?} not found: install Debian's packages of those names"
    );
    eprintln!("starting a throwaway PostgreSQL cluster…");
    let cluster = Cluster::start().await?;
    let (_, database_url) = cluster.fresh_database().await?;
    let topology = LocalCluster::start(LocalClusterSpec {
        binary: service_binary()?,
        database_url: database_url.clone(),
        instances,
        port,
        dir: dir.clone(),
        service_env: Vec::new(),
    })
    .await?;
    println!("todo-api through HAProxy: http://{}", topology.url.addr);
    for index in 0..instances {
        println!(
            "  instance {}: http://{}",
            index + 1,
            topology.instance_url(index)?.addr
        );
    }
    println!("PostgreSQL itself: {database_url}");
    println!("configurations and logs: {}", dir.display());
    println!("Ctrl-C or SIGTERM stops everything.");
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    eprintln!("stopping…");
    topology.stop().await?;
    Ok(())
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
