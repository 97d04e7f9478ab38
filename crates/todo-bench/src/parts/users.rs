//! `users`: what users cost. The same work through a service in open mode
//! (every request anonymous, over 30,000 todos) and through one with JWT
//! on and 1,000 users (30 todos each; each request sent as a user picked
//! at random, with that user's token, to that user's todos), side by side
//! in rounds: reads, listings, updates and creates at 64 connections, on
//! PostgreSQL and on SQLite. The open-mode run is the point's reference.

use std::path::Path;
use std::sync::Arc;

use http::HeaderValue;
use todo_load::callers::{Caller, seed_users};
use todo_load::client::Connection;
use todo_load::sustained::run_load;
use todo_load::workload::{Workload, ensure_todos};
use tokio::process::Command;

use crate::cluster::Cluster;
use crate::error::BenchError;
use crate::measure::{BenchOptions, closed_loop_as, median_of_rounds, point, round_label};
use crate::results::{Ceiling, Part, USERS_SQLITE_FILE, save};
use crate::service::{Service, service_binary};

/// Users of the JWT side.
pub const USERS: u64 = 1_000;

/// Todos each user owns; the open side has as many in all.
pub const TODOS_PER_USER: u64 = 30;

/// Connections of every point.
pub const USERS_CONNECTIONS: u64 = 64;

/// Rounds of every point.
const USERS_ROUNDS: usize = 3;

/// The workloads measured.
const USERS_WORKLOADS: [Workload; 4] = [
    Workload::Read,
    Workload::List,
    Workload::Update,
    Workload::Create,
];

/// The JWT side's signing secret: the service lives for this part only,
/// on loopback, and its tokens with it.
pub(crate) const BENCH_SECRET: &str = "todo-bench users part: a secret for one run";

/// `users` on PostgreSQL (two fresh databases), then on SQLite (two fresh
/// files).
pub async fn run_users(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
    let (_, open_url) = cluster.fresh_database().await?;
    let (_, jwt_url) = cluster.fresh_database().await?;
    compare(
        "postgres",
        &open_url,
        &jwt_url,
        Part::Users.file_name(),
        options,
    )
    .await?;
    let dir = tempfile::tempdir().map_err(BenchError::Io)?;
    let file_url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    compare(
        "sqlite",
        &file_url("open.db"),
        &file_url("jwt.db"),
        USERS_SQLITE_FILE,
        options,
    )
    .await
}

/// Every workload through the open service, then the JWT one, in rounds.
async fn compare(
    backend: &str,
    open_url: &str,
    jwt_url: &str,
    file: &str,
    options: &BenchOptions,
) -> Result<(), BenchError> {
    let log = |side: &str| {
        options
            .out
            .join(format!("service-users-{backend}-{side}.log"))
    };
    let open = Service::start(&[("DATABASE_URL", open_url.to_owned())], &log("open")).await?;
    let jwt = Service::start(
        &[
            ("DATABASE_URL", jwt_url.to_owned()),
            ("JWT_SECRET", BENCH_SECRET.to_owned()),
        ],
        &log("jwt"),
    )
    .await?;
    let mut connection = Connection::open(&open.url)
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let anonymous: Arc<[Caller]> = Arc::from([Caller::anonymous(
        ensure_todos(&mut connection, USERS * TODOS_PER_USER).await?,
    )]);
    drop(connection);
    eprintln!("  seeding {TODOS_PER_USER} todos for each of {USERS} users…");
    let tokens = mint_tokens(USERS).await?;
    let users: Arc<[Caller]> = Arc::from(
        seed_users(&jwt.url, &tokens, TODOS_PER_USER)
            .await
            .map_err(|e| BenchError::Setup(e.to_string()))?,
    );
    let mut points = Vec::new();
    for workload in USERS_WORKLOADS {
        let mut rounds = Vec::with_capacity(USERS_ROUNDS);
        for round in 1..=USERS_ROUNDS {
            let config = |service: &Service, callers: &Arc<[Caller]>| {
                closed_loop_as(
                    service,
                    workload,
                    USERS_CONNECTIONS,
                    Arc::clone(callers),
                    options,
                )
            };
            let open_run = run_load(&open.url, &config(&open, &anonymous)).await;
            let jwt_run = run_load(&jwt.url, &config(&jwt, &users)).await;
            eprintln!(
                "  {backend} {workload} × {USERS_CONNECTIONS}{}: JWT {:.0}/s, open {:.0}/s",
                round_label(round, USERS_ROUNDS),
                jwt_run.throughput,
                open_run.throughput
            );
            let reference = Ceiling {
                tool: "open mode".to_owned(),
                clients: USERS_CONNECTIONS,
                throughput: open_run.throughput,
                latency: open_run.latency.clone(),
                command: format!(
                    "todo-load, no token, {} todos of the anonymous user",
                    USERS * TODOS_PER_USER
                ),
                scripts: Vec::new(),
            };
            rounds.push(point(
                backend,
                workload,
                USERS_CONNECTIONS,
                jwt_run,
                reference,
                Vec::new(),
            ));
        }
        points.extend(median_of_rounds(rounds));
        save(&options.out, file, &points)?;
    }
    open.stop().await?;
    jwt.stop().await
}

/// `count` users' tokens, each minted by the service's own `token` command
/// as a self-hosting operator would, as `Bearer` headers.
pub(crate) async fn mint_tokens(count: u64) -> Result<Vec<HeaderValue>, BenchError> {
    let binary = service_binary()?;
    let mut tokens = Vec::with_capacity(count as usize);
    for user in 0..count {
        tokens.push(mint_token(&binary, &format!("bench-user-{user}")).await?);
    }
    Ok(tokens)
}

/// `subject`'s token, minted by the service's own `token` command.
pub(crate) async fn mint_token(binary: &Path, subject: &str) -> Result<HeaderValue, BenchError> {
    let output = Command::new(binary)
        .env("JWT_SECRET", BENCH_SECRET)
        .args(["token", "--sub", subject, "--ttl", "1d"])
        .output()
        .await
        .map_err(BenchError::Io)?;
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || token.is_empty() {
        return Err(BenchError::Setup(format!(
            "`todo-api token` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| BenchError::Setup("`todo-api token` printed no token".to_owned()))?;
    header.set_sensitive(true);
    Ok(header)
}
