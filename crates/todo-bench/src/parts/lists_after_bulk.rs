//! `lists-after-bulk`: listings right after a bulk load. 10,000 todos
//! arrive through the API's bulk create in a fresh database, and each
//! listing below is measured at once (pages of 20), through the API and
//! with pgbench running the service's statement and the hand-written one.
//! PostgreSQL's autovacuum would analyze the new rows up to a minute
//! later; without statistics the planner fetched every matching row and
//! sorted them (`priority=5`: 1.8k/s where 11k/s with statistics), so the
//! service analyzes the table itself after a large bulk change.

use todo_load::client::Connection;
use todo_load::workload::ensure_todos;

use crate::cluster::Cluster;
use crate::error::BenchError;
use crate::measure::BenchOptions;
use crate::parts::lists_1m::{ListPoint, Lister, measure_page};
use crate::results::{Part, Round, save};
use crate::service::Service;

/// Todos loaded in bulk before the listings.
pub const AFTER_BULK_ROWS: u64 = 10_000;

/// The listings, for the todos `ensure_todos` makes (priorities 1–5, a
/// third completed, titles "seeded todo N"): the issue's own example
/// first, each filter, a combination, and sorts.
const AFTER_BULK_QUERIES: [&str; 7] = [
    "/api/todo?completed=false&priority=5&limit=20",
    "/api/todo?priority=5&limit=20",
    "/api/todo?completed=false&limit=20",
    "/api/todo?min_priority=4&limit=20",
    "/api/todo?q=todo%2012&limit=20",
    "/api/todo?sort=priority&limit=20",
    "/api/todo?sort=-id&limit=20",
];

/// `lists-after-bulk`: each listing of `AFTER_BULK_QUERIES` once, right
/// after the bulk load.
pub async fn run_lists_after_bulk(
    cluster: &Cluster,
    options: &BenchOptions,
) -> Result<(), BenchError> {
    let (name, url) = cluster.fresh_database().await?;
    let log = options.out.join("service-lists-after-bulk.log");
    let service = Service::start(&[("DATABASE_URL", url.clone())], &log).await?;
    let mut connection = Connection::open(&service.url)
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let ids = ensure_todos(&mut connection, AFTER_BULK_ROWS).await?;
    drop(connection);
    let lister = Lister::anonymous(ids);
    let mut points = Vec::new();
    for page_url in AFTER_BULK_QUERIES {
        let figures =
            measure_page(cluster, &name, &url, &service, &lister, options, page_url).await?;
        eprintln!(
            "  {page_url}: API {:.0}/s, pgbench {:.0}/s, hand-written {:.0}/s",
            figures.api.throughput, figures.ceiling.throughput, figures.hand_written.throughput
        );
        let ratio = Round::of(figures.api.throughput, figures.ceiling.throughput).ratio;
        points.push(ListPoint {
            rows: AFTER_BULK_ROWS,
            users: 0,
            query: page_url.to_owned(),
            pages_in: 0,
            url: page_url.to_owned(),
            api: figures.api,
            ceiling: figures.ceiling,
            ratio,
            hand_written: Some(figures.hand_written),
            statement_is_builders: figures.statement_is_builders,
            rounds: Vec::new(),
        });
        save(&options.out, Part::ListsAfterBulk.file_name(), &points)?;
    }
    service.stop().await
}
