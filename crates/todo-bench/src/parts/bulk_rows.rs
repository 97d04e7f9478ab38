//! `bulk-rows`: `POST /api/todo/bulk` with 1,000 items a request from 2, 4
//! and 8 concurrent clients, in rows/s, each beside pgbench inserting as
//! many rows per statement.

use std::time::{Duration, Instant};

use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use todo_listing_sql::TODO_COLUMNS;
use todo_load::client::Connection;
use todo_load::stats::{Latencies, LatencySummary};

use crate::cluster::Cluster;
use crate::error::BenchError;
use crate::measure::BenchOptions;
use crate::pgbench::{PgbenchRun, run_scripts};
use crate::results::{Ceiling, Part, save};
use crate::service::Service;

/// Items in each request of the bulk target.
pub const BULK_ITEMS: usize = 1000;

/// Concurrent bulk clients tried.
pub const BULK_CLIENTS: [u64; 3] = [2, 4, 8];

/// One concurrency of the bulk target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkRowsPoint {
    pub clients: u64,
    pub items_per_request: usize,
    pub requests: u64,
    pub failed_requests: u64,
    /// Rows created by answered (201) requests.
    pub rows: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub latency: LatencySummary,
    /// pgbench inserting the same number of rows per statement (one
    /// `insert … select … from generate_series`), same clients.
    pub reference: Ceiling,
}

/// The reference statement of the bulk target: as many rows per statement
/// as a bulk request holds, every column the service writes, every column
/// returned, each row numbered in the change log as the service numbers
/// it (its owner's change log lock first, then a number each).
fn bulk_reference_script() -> String {
    format!(
        "insert into todos (title, title_search, description, priority, due_date, completed, \
         change_no) \
         select 'bulk todo ' || g, 'bulk todo ' || g, null, 1 + g % 5, null, false, \
         nextval('todo_change_numbers') \
         from generate_series(1, {BULK_ITEMS}) g where (select lock_change_log(1)) \
         returning {};\n",
        TODO_COLUMNS
    )
}

/// `bulk-rows`: `POST /api/todo/bulk` with 1,000 items a request from 2, 4
/// and 8 concurrent clients, rows/s, each beside pgbench's 1,000-row insert.
pub async fn run_bulk_rows(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
    let (name, url) = cluster.fresh_database().await?;
    let log = options.out.join("service-bulk-rows.log");
    let service = Service::start(&[("DATABASE_URL", url)], &log).await?;
    let mut points = Vec::new();
    for clients in BULK_CLIENTS {
        let (requests, failed, latencies, seconds) =
            bulk_load(&service, clients, options.duration).await;
        let rows = (requests - failed) * BULK_ITEMS as u64;
        let run = PgbenchRun {
            port: cluster.port(),
            database: &name,
            clients,
            threads: 2,
            duration: options.duration,
            dir: &options.out,
        };
        let mut reference = run_scripts(&run, &[(bulk_reference_script(), 1)], &[]).await?;
        // pgbench counts statements; the reference is in rows.
        reference.throughput *= BULK_ITEMS as f64;
        let point = BulkRowsPoint {
            clients,
            items_per_request: BULK_ITEMS,
            requests,
            failed_requests: failed,
            rows,
            seconds,
            rows_per_second: rows as f64 / seconds,
            latency: latencies.summary(),
            reference,
        };
        eprintln!(
            "  bulk × {clients}: API {:.0} rows/s, pgbench {:.0} rows/s",
            point.rows_per_second, point.reference.throughput
        );
        points.push(point);
        save(&options.out, Part::BulkRows.file_name(), &points)?;
    }
    service.stop().await
}

/// `clients` connections each sending 1,000-item bulk creates back to back
/// for `duration`: requests, failed requests, latencies, seconds.
async fn bulk_load(
    service: &Service,
    clients: u64,
    duration: Duration,
) -> (u64, u64, Latencies, f64) {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let url = service.url.clone();
        tasks.push(tokio::spawn(async move {
            let todos: Vec<Value> = (0..BULK_ITEMS)
                .map(|n| json!({ "title": format!("bulk {client} {n}"), "priority": 1 + n % 5 }))
                .collect();
            let body = Value::Array(todos);
            let mut latencies = Latencies::default();
            let (mut requests, mut failed) = (0u64, 0u64);
            let Ok(mut connection) = Connection::open(&url).await else {
                return (1, 1, latencies);
            };
            while Instant::now() < deadline {
                let begun = Instant::now();
                let response = connection.post("/api/todo/bulk", &body).await;
                requests += 1;
                match response {
                    Ok(response) if response.status == StatusCode::CREATED => {
                        latencies.record(begun.elapsed());
                    }
                    Ok(_) => failed += 1,
                    Err(_) => {
                        failed += 1;
                        match Connection::open(&url).await {
                            Ok(fresh) => connection = fresh,
                            Err(_) => break,
                        }
                    }
                }
            }
            (requests, failed, latencies)
        }));
    }
    let (mut requests, mut failed, mut latencies) = (0, 0, Latencies::default());
    for task in tasks {
        if let Ok((r, f, l)) = task.await {
            requests += r;
            failed += f;
            latencies.merge(&l);
        }
    }
    (requests, failed, latencies, started.elapsed().as_secs_f64())
}
