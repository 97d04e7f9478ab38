//! The `todo-api` binary: reads the configuration, opens the store, serves
//! until SIGTERM or Ctrl-C.

use anyhow::Context;
use clap::Parser;
use todo_api::config::{Cli, Command};
use todo_api::{AppState, router, storage, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.config;
    telemetry::init(config.log_format);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "todo-api starting");
    config.log_effective();
    if cli.command == Some(Command::Migrate) {
        storage::migrate_store(&config).await?;
        tracing::info!("migrations applied");
        return Ok(());
    }
    let store = storage::open_store(&config).await?;
    let addr = config.listen_addr().await.context("cannot resolve HOST")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    // Process tests and scripts read the bound port from this line.
    tracing::info!("listening on http://{local}");
    tracing::info!("interactive API documentation on http://{local}/docs");
    let app = router(AppState::new(store, &config));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("stopped");
    Ok(())
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
    tracing::info!("shutting down: finishing requests in flight");
}
