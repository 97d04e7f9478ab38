//! A real todo-api over a fresh SQLite file, serving real HTTP on a free
//! loopback port inside the test process, for the load tool to drive.

use std::time::Duration;

use clap::Parser;
use tempfile::TempDir;
use todo_api::config::Cli;
use todo_api::{build_app, storage};
use todo_load::client::wait_healthy;
use todo_load::service_url::ServiceUrl;

/// The running service; it stops when the test's runtime ends.
pub struct Service {
    pub url: ServiceUrl,
    // Kept for the life of the test: the SQLite file lives in it.
    _dir: TempDir,
}

impl Service {
    pub async fn start(args: &[&str]) -> Service {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("todo.db").display());
        let mut argv = vec!["todo-api", "--database-url", &url, "--port", "0"];
        argv.extend_from_slice(args);
        let config = Cli::try_parse_from(argv).expect("valid arguments").config;
        let store = storage::open_store(&config).await.expect("the store opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("a bound address");
        let app = build_app(store, &config)
            .await
            .expect("the app builds")
            .router;
        tokio::spawn(async move { axum_serve(listener, app).await });
        let url = ServiceUrl::from_addr(addr).expect("a loopback address");
        wait_healthy(&url, Duration::from_secs(10))
            .await
            .expect("the service answers /health");
        Service { url, _dir: dir }
    }
}

async fn axum_serve(listener: tokio::net::TcpListener, app: axum::Router) {
    axum::serve(listener, app)
        .await
        .expect("the service serves");
}
