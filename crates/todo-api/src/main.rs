//! The `todo-api` binary: reads the configuration, opens the store, serves
//! until SIGTERM or Ctrl-C, then drains and exits 0.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use todo_api::config::{Cli, Command};
use todo_api::server::{self, ServerLimits};
use todo_api::{App, build_app, commands, maintenance, storage, telemetry};

/// Writes a command's answer to stdout; a closed pipe (`| head`) is an
/// error to report, not a panic (as `println!` would make it).
fn print_answer(answer: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(answer)
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// Each request allocates and frees many small buffers, often on two
/// worker threads; jemalloc's per-thread caches make that markedly cheaper
/// than the system allocator (about an eighth of the service's CPU went to
/// glibc's malloc and free), and its freed pages go back to the system.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let config = cli.config;
    // These print their answer and nothing else.
    match cli.command {
        Some(Command::Token { sub, ttl }) => {
            let token = commands::token(&config, &sub, ttl)?;
            print_answer(format!("{token}\n").as_bytes())?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Completions { shell }) => {
            // Made whole first: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "todo-api", &mut script);
            print_answer(&script)?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Healthcheck) => {
            return Ok(match commands::healthcheck(&config).await {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(error) => {
                    eprintln!("todo-api healthcheck: {error:#}");
                    ExitCode::FAILURE
                }
            });
        }
        _ => {}
    }
    // Held to the end of `main`, so every log line is written before exit.
    let _log_writer = telemetry::init(config.log_format);
    raise_open_file_limit();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "todo-api starting");
    config.log_effective();
    if cli.command == Some(Command::Migrate) {
        let store = storage::migrate_store(&config).await?;
        store.close().await;
        tracing::info!("migrations applied");
        return Ok(ExitCode::SUCCESS);
    }
    let store = storage::open_store(&config).await?;
    let App { router, state } = build_app(store.clone(), &config).await?;
    let addr = config.listen_addr().await.context("cannot resolve HOST")?;
    let listener = server::bind(addr, config.listen_backlog)
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    // Process tests and scripts read the bound port from this line.
    tracing::info!("listening on http://{local}");
    tracing::info!("interactive API documentation on http://{local}/docs");

    let ttl = Duration::from_secs(config.idempotency_ttl_hours * 3600);
    let purge = maintenance::spawn_key_purge(store.clone(), ttl);
    let tombstone_purge =
        maintenance::spawn_tombstone_purge(store.clone(), config.changes.retention());
    let metrics_fold = maintenance::spawn_metrics_fold(state.metrics.clone());
    let rate_limit_upkeep = maintenance::spawn_rate_limit_upkeep(state.clone());
    let lifecycle = state.lifecycle.clone();
    let drain = Duration::from_millis(config.shutdown_drain_ms);
    let shutdown = async move {
        shutdown_signal().await;
        lifecycle.start_draining();
        if !drain.is_zero() {
            tracing::info!(
                drain_ms = drain.as_millis() as u64,
                "draining: /ready answers 503"
            );
            tokio::time::sleep(drain).await;
        }
        // The server stops accepting now: the event streams end cleanly,
        // and their clients reconnect to another instance.
        lifecycle.end_streams();
    };
    let limits = ServerLimits {
        listen_backlog: config.listen_backlog,
        header_read_timeout: Duration::from_millis(config.header_read_timeout_ms),
        max_header_bytes: config.max_header_bytes as usize,
        shutdown_grace: Duration::from_millis(config.shutdown_grace_ms),
    };
    server::serve(listener, router, limits, shutdown).await;
    purge.abort();
    tombstone_purge.abort();
    metrics_fold.abort();
    rate_limit_upkeep.abort();
    store.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Thousands of concurrent clients need as many file descriptors; the
/// default soft limit (often 1024) would refuse them.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open file limit"),
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: /ready answers 503, requests in flight finish");
}
