//! The `todo-load` binary: parses the command line and runs one command.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::time::Duration;

use todo_load::callers::{Caller, read_tokens, seed_users};
use todo_load::client::Connection;
use todo_load::limits::Limits;
use todo_load::scenarios::{self, ScenarioResult};
use todo_load::service_url::ServiceUrl;
use todo_load::sustained::{RunConfig, run_load};
use todo_load::workload::{LIST_PATH, Workload, ensure_todos};

/// Load tests for any server of the todo-api contract.
#[derive(Debug, Parser)]
#[command(name = "todo-load", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Send load to a service on another machine too (without it, only a
    /// loopback address is accepted, so a mistyped URL loads nobody else).
    #[arg(long, global = true)]
    allow_remote: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The original service's concurrency test table, plus 5,000 and 10,000
    /// clients, each client on its own connection; checks the outcome
    /// through the API afterwards.
    Scenarios {
        /// The service, e.g. http://127.0.0.1:8000 (loopback unless --allow-remote).
        #[arg(long)]
        url: String,
        /// Run only the tests whose name contains this (repeatable).
        #[arg(long)]
        only: Vec<String>,
        /// Skip tests with more clients than this.
        #[arg(long)]
        max_clients: Option<u64>,
        /// Also write every figure to this JSON file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Sustained load of one workload, with latency histograms.
    Run {
        /// The service, e.g. http://127.0.0.1:8000 (loopback unless --allow-remote).
        #[arg(long)]
        url: String,
        #[arg(long, value_enum)]
        workload: Workload,
        /// Connections, each a client of its own.
        #[arg(long, default_value_t = 16)]
        connections: u64,
        /// Seconds to run.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Requests per second in all (open loop, latency counted from when
        /// each request was due); without it, closed loop.
        #[arg(long)]
        rate: Option<f64>,
        /// Todos that must exist for reads and updates (created if fewer);
        /// with --tokens-file, for each user.
        #[arg(long, default_value_t = 1000)]
        seed: u64,
        /// Send the requests as many users: a file of their tokens, one per
        /// line; each request goes as a user picked at random, to that
        /// user's own todos (reads and updates pick between the user's first
        /// and last id, so on a database where users' todos interleave some
        /// picks are another user's todo and answer 404: seed a fresh one).
        #[arg(long)]
        tokens_file: Option<PathBuf>,
        /// The listing the `list` workload asks for (path and query).
        #[arg(long, default_value = LIST_PATH)]
        list_path: String,
        /// Also write every figure to this JSON file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("todo-load: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Scenarios {
            url,
            only,
            max_clients,
            json,
        } => {
            let service = ServiceUrl::parse_reaching(&url, cli.allow_remote)?;
            let chosen: Vec<_> = scenarios::standard()
                .into_iter()
                .filter(|s| only.is_empty() || only.iter().any(|name| s.name.contains(name)))
                .filter(|s| max_clients.is_none_or(|max| s.clients <= max))
                .collect();
            let results = run_scenarios(&service, &chosen).await?;
            if let Some(path) = json {
                let text = serde_json::to_string_pretty(&results)?;
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            let all_ok = results
                .iter()
                .all(|r| r.verification.ok && r.actual == r.expected);
            Ok(if all_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Run {
            url,
            workload,
            connections,
            duration,
            rate,
            seed,
            tokens_file,
            list_path,
            json,
        } => {
            anyhow::ensure!(
                list_path.starts_with("/api/todo"),
                "--list-path must be a path of the listing, /api/todo?…"
            );
            let service = ServiceUrl::parse_reaching(&url, cli.allow_remote)?;
            anyhow::ensure!(duration > 0.0, "--duration must be positive");
            anyhow::ensure!(rate.is_none_or(|r| r > 0.0), "--rate must be positive");
            let callers = match tokens_file {
                Some(path) => {
                    let tokens = read_tokens(&path)?;
                    eprintln!("seeding {seed} todos for each of {} users…", tokens.len());
                    seed_users(&service, &tokens, seed).await?
                }
                None => {
                    let mut connection = Connection::open(&service).await?;
                    vec![Caller::anonymous(
                        ensure_todos(&mut connection, seed.max(1)).await?,
                    )]
                }
            };
            let config = RunConfig {
                workload,
                connections,
                duration: Duration::from_secs_f64(duration),
                rate,
                callers: Arc::from(callers),
                list_path,
                progress: true,
                server_pid: None,
            };
            let report = run_load(&service, &config).await;
            println!("{}", report.describe());
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs scenarios one after another, printing each row's outcome.
async fn run_scenarios(
    service: &ServiceUrl,
    chosen: &[scenarios::Scenario],
) -> anyhow::Result<Vec<ScenarioResult>> {
    let run_tag = scenarios::run_tag();
    let mut results = Vec::new();
    for (index, scenario) in chosen.iter().enumerate() {
        eprintln!("running {} ({} clients)…", scenario.name, scenario.clients);
        let tag = format!("{run_tag}s{index}");
        results.push(scenarios::run_scenario(service, scenario, &tag).await?);
    }
    let cpus = Limits::prepare(0).cpus;
    println!("{}", scenarios::render_table(&results));
    for note in scenarios::limit_notes(&results, cpus) {
        println!("- {note}");
    }
    for result in &results {
        if let Some(cores) = result.client_cpu_cores {
            println!(
                "- {}: todo-load used {cores:.2} of {cpus} cores",
                result.scenario.name
            );
        }
    }
    Ok(results)
}
