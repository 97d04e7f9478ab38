//! The analysis's predictions as experiments on our service: pool sizes,
//! indexes on a million rows, bulk creates, and thousands of concurrent
//! clients.

use std::time::{Duration, Instant};

use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use todo_load::client::Connection;
use todo_load::sustained::{RunReport, run_load};
use todo_load::workload::{IdRange, Workload};

use crate::cluster::{Cluster, connect};
use crate::error::BenchError;
use crate::generated_rows::{Owners, drop_indexes, fill_table};
use crate::measure::{BenchOptions, closed_loop, seed};
use crate::results::{Part, save};
use crate::service::Service;

/// One pool size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolPoint {
    pub pool_size: u32,
    pub label: String,
    pub report: RunReport,
}

/// One filtered listing, with or without the indexes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexPoint {
    pub rows: u64,
    pub query: String,
    pub indexes: bool,
    pub report: RunReport,
}

/// One way of creating the same number of todos.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkPoint {
    pub backend: String,
    pub method: String,
    pub todos: u64,
    pub requests: u64,
    pub connections: u64,
    pub seconds: f64,
    pub todos_per_second: f64,
    pub failed_requests: u64,
}

/// Pool sizes tried: the old service's two settings (SQLAlchemy
/// `pool_size + max_overflow`: 5+10 and 20+30 connections at most) and a
/// sweep around the HikariCP rule, `cores × 2 + spindles`.
const POOL_SIZES: [(u32, &str); 7] = [
    (2, "2"),
    (5, "5 (HikariCP: 2 cores × 2 + 1)"),
    (10, "10 (our default)"),
    (15, "15 (old 5+10)"),
    (30, "30"),
    (50, "50 (old 20+30)"),
    (100, "100"),
];

/// Connections of the pool experiment: many more clients than connections.
const POOL_CLIENTS: u64 = 64;

/// `pool`: the mixed workload at 64 connections for each pool size.
pub async fn run_pool(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
    let (_, url) = cluster.fresh_database().await?;
    let mut points = Vec::new();
    let mut ids: Option<IdRange> = None;
    for (pool_size, label) in POOL_SIZES {
        let log = options.out.join("service-pool.log");
        let env = [
            ("DATABASE_URL", url.clone()),
            ("DB_POOL_SIZE", pool_size.to_string()),
        ];
        let service = Service::start(&env, &log).await?;
        let range = match ids {
            Some(range) => range,
            None => seed(&service).await?,
        };
        ids = Some(range);
        let config = closed_loop(&service, Workload::Mixed, POOL_CLIENTS, range, options);
        let report = run_load(&service.url, &config).await;
        eprintln!("  pool {pool_size}: {:.0}/s", report.throughput);
        service.stop().await?;
        points.push(PoolPoint {
            pool_size,
            label: label.to_owned(),
            report,
        });
        save(&options.out, Part::Pool.file_name(), &points)?;
    }
    Ok(())
}

/// The filtered listings of the index experiment.
pub const INDEX_QUERIES: [&str; 4] = [
    "/api/todo?completed=false&limit=20",
    "/api/todo?priority=5&limit=20",
    "/api/todo?q=urgent&limit=20",
    "/api/todo?due_before=2026-01-15&sort=due_date&limit=20",
];

/// Clients of the index experiment.
const INDEX_CLIENTS: u64 = 16;

/// `indexes`: the filtered listings on `index_rows` generated rows, with
/// the migration's indexes and then without them.
pub async fn run_indexes(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
    let (_, url) = cluster.fresh_database().await?;
    let admin = connect(&url).await?;
    eprintln!("  seeding {} rows…", options.index_rows);
    let (definitions, _) = fill_table(&admin, options.index_rows, Owners::Anonymous).await?;
    let rows = i64::try_from(options.index_rows).unwrap_or(i64::MAX);
    let log = options.out.join("service-indexes.log");
    let service = Service::start(&[("DATABASE_URL", url.clone())], &log).await?;
    let ids = IdRange { min: 1, max: rows };
    let mut points = Vec::new();
    for indexes in [true, false] {
        if !indexes {
            drop_indexes(&admin, &definitions).await?;
            admin.batch_execute("analyze todos").await?;
        }
        for query in INDEX_QUERIES {
            let mut config = closed_loop(&service, Workload::List, INDEX_CLIENTS, ids, options);
            config.list_path = query.to_owned();
            let report = run_load(&service.url, &config).await;
            eprintln!(
                "  {query} indexes={indexes}: {:.0}/s, p99 {:.1} ms",
                report.throughput, report.latency.p99_ms
            );
            points.push(IndexPoint {
                rows: options.index_rows,
                query: query.to_owned(),
                indexes,
                report,
            });
            save(&options.out, Part::Indexes.file_name(), &points)?;
        }
    }
    service.stop().await
}

/// Todos each way of the bulk experiment creates.
const BULK_TODOS: u64 = 10_000;

/// `bulk`: 10,000 creates one by one and in batches, on each backend.
pub async fn run_bulk(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
    let mut points = Vec::new();
    let dir = tempfile::tempdir().map_err(BenchError::Io)?;
    let (_, pg_url) = cluster.fresh_database().await?;
    let backends = [
        ("postgres", pg_url),
        (
            "sqlite",
            format!("sqlite://{}", dir.path().join("bulk.db").display()),
        ),
    ];
    for (backend, url) in backends {
        let log = options.out.join(format!("service-bulk-{backend}.log"));
        let service = Service::start(&[("DATABASE_URL", url)], &log).await?;
        for (method, batch, connections) in [
            ("one by one", 1, 1),
            ("one by one, 16 connections", 1, 16),
            ("bulk, batches of 100", 100, 1),
            ("bulk, batches of 1000", 1000, 1),
        ] {
            let point = create_many(&service, backend, method, batch, connections).await?;
            eprintln!(
                "  {backend} {method}: {:.0} todos/s",
                point.todos_per_second
            );
            points.push(point);
            save(&options.out, Part::Bulk.file_name(), &points)?;
        }
        service.stop().await?;
    }
    Ok(())
}

async fn create_many(
    service: &Service,
    backend: &str,
    method: &str,
    batch: u64,
    connections: u64,
) -> Result<BulkPoint, BenchError> {
    let requests = BULK_TODOS / batch;
    let per_connection = requests / connections;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let url = service.url.clone();
        tasks.push(tokio::spawn(async move {
            let mut failed = 0u64;
            let Ok(mut connection) = Connection::open(&url).await else {
                return per_connection;
            };
            for request in 0..per_connection {
                let title = |n: u64| format!("bulk {worker} {request} {n}");
                let response = if batch == 1 {
                    connection
                        .post("/api/todo", &json!({ "title": title(0) }))
                        .await
                } else {
                    let todos: Vec<Value> =
                        (0..batch).map(|n| json!({ "title": title(n) })).collect();
                    connection
                        .post("/api/todo/bulk", &Value::Array(todos))
                        .await
                };
                if !matches!(response, Ok(ref r) if r.status == StatusCode::CREATED) {
                    failed += 1;
                }
            }
            failed
        }));
    }
    let mut failed_requests = 0;
    for task in tasks {
        failed_requests += task.await.unwrap_or(per_connection);
    }
    let seconds = started.elapsed().as_secs_f64();
    let todos = (requests - failed_requests) * batch;
    Ok(BulkPoint {
        backend: backend.to_owned(),
        method: method.to_owned(),
        todos,
        requests,
        connections,
        seconds,
        todos_per_second: todos as f64 / seconds,
        failed_requests,
    })
}

/// `sustained`: the mixed workload from `sustained_clients` clients for
/// twice the duration of a point.
pub async fn run_sustained(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
    let (_, url) = cluster.fresh_database().await?;
    let log = options.out.join("service-sustained.log");
    let service = Service::start(&[("DATABASE_URL", url)], &log).await?;
    let ids = seed(&service).await?;
    let mut config = closed_loop(
        &service,
        Workload::Mixed,
        options.sustained_clients,
        ids,
        options,
    );
    config.duration = options.duration * 2;
    let report = run_load(&service.url, &config).await;
    eprintln!(
        "  {} clients: {:.0}/s, {:.3}% ok",
        options.sustained_clients, report.throughput, report.success_percent
    );
    save(&options.out, Part::Sustained.file_name(), &report)?;
    // Let lingering connections close before the next part.
    tokio::time::sleep(Duration::from_millis(200)).await;
    service.stop().await
}
