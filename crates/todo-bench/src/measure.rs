//! The measuring every part shares: how a run is set (`BenchOptions`), the
//! seeded todos, a closed-loop run against a started service, and a grid
//! of workloads each measured through the API and then by its reference
//! right after (`compare_postgres` against pgbench, `compare_sqlite`
//! against the bare rusqlite loop), in rounds when asked.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use todo_load::callers::Caller;
use todo_load::client::Connection;
use todo_load::sustained::{RunConfig, RunReport, run_load};
use todo_load::workload::{IdRange, LIST_PATH, Workload, ensure_todos};

use crate::cluster::{
    ActivitySampler, Cluster, connect, count_todos, issued_statements, reset_statements, setting,
};
use crate::error::BenchError;
use crate::pgbench::run_pgbench;
use crate::results::{Ceiling, Durability, Issued, Round, WorkloadPoint, save};
use crate::service::Service;
use crate::sqlite_loop::run_sqlite_loop;

/// How to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Length of each measured point.
    pub duration: Duration,
    /// Connection counts of the workload tables.
    pub connections: Vec<u64>,
    /// Workloads of the workload tables.
    pub workloads: Vec<Workload>,
    /// Clients of the sustained run.
    pub sustained_clients: u64,
    /// Rows of the index experiment and of the listings.
    pub index_rows: u64,
    /// Todos a page of the listings part holds (`limit`).
    pub list_page_size: u32,
    /// Only the listings whose query holds one of these (all when empty).
    pub list_queries: Vec<String>,
    /// Users the listings' rows are spread over, with JWT on (0: every
    /// row the anonymous user's, in open mode).
    pub list_users: u64,
    /// Where the result files go.
    pub out: PathBuf,
}

/// Todos seeded before the sustained workloads.
pub const SEED: u64 = 10_000;

/// Seeds `SEED` todos through the API; returns their id range.
pub async fn seed(service: &Service) -> Result<IdRange, BenchError> {
    let mut connection = Connection::open(&service.url)
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    Ok(ensure_todos(&mut connection, SEED).await?)
}

/// A closed-loop run of `workload` at `connections` against `service`,
/// sent anonymously to the todos `ids`.
pub fn closed_loop(
    service: &Service,
    workload: Workload,
    connections: u64,
    ids: IdRange,
    options: &BenchOptions,
) -> RunConfig {
    closed_loop_as(
        service,
        workload,
        connections,
        Arc::from([Caller::anonymous(ids)]),
        options,
    )
}

/// A closed-loop run of `workload` at `connections` against `service`,
/// each request sent as one of `callers`, to that caller's todos.
pub fn closed_loop_as(
    service: &Service,
    workload: Workload,
    connections: u64,
    callers: Arc<[Caller]>,
    options: &BenchOptions,
) -> RunConfig {
    RunConfig {
        workload,
        connections,
        duration: options.duration,
        rate: None,
        callers,
        list_path: LIST_PATH.to_owned(),
        progress: false,
        server_pid: Some(service.pid),
    }
}

/// Which workloads at which connection counts, saved to which part's file.
#[derive(Debug, Clone, Copy)]
pub struct Grid<'a> {
    pub workloads: &'a [Workload],
    pub connections: &'a [u64],
    /// The result file.
    pub file: &'a str,
    /// Times each point is measured, the API and its ceiling in turns; the
    /// point kept is the round of median ratio. Rounds spread the drift of
    /// a shared machine (a ceiling bound by the disk's flushes moved by half
    /// between two runs a minute apart) over both sides.
    pub rounds: usize,
}

/// The label of round `round` of `rounds` in progress lines.
pub(crate) fn round_label(round: usize, rounds: usize) -> String {
    if rounds > 1 {
        format!(" (round {round} of {rounds})")
    } else {
        String::new()
    }
}

/// The round of median ratio among `rounds` (each a point measured
/// alone), carrying every round's figures; creates' durability counts
/// every round.
pub(crate) fn median_of_rounds(mut rounds: Vec<WorkloadPoint>) -> Option<WorkloadPoint> {
    if rounds.len() < 2 {
        return rounds.pop();
    }
    let figures: Vec<Round> = rounds
        .iter()
        .map(|point| Round::of(point.api.throughput, point.ceiling.throughput))
        .collect();
    let durability = rounds
        .iter()
        .filter_map(|point| point.durability.clone())
        .reduce(Durability::combined);
    rounds.sort_by(|a, b| a.ratio.total_cmp(&b.ratio));
    let mut median = rounds.swap_remove(rounds.len() / 2);
    median.rounds = figures;
    median.durability = durability;
    Some(median)
}

/// Each workload of `grid` through the API on a fresh seeded PostgreSQL
/// database, then pgbench with the statements the service issued, side by
/// side; creates also get their durability checked.
pub async fn compare_postgres(
    cluster: &Cluster,
    options: &BenchOptions,
    grid: &Grid<'_>,
) -> Result<Vec<WorkloadPoint>, BenchError> {
    let (name, url) = cluster.fresh_database().await?;
    let log = options.out.join(format!(
        "service-{}.log",
        grid.file.trim_end_matches(".json")
    ));
    let service = Service::start(&[("DATABASE_URL", url.clone())], &log).await?;
    let ids = seed(&service).await?;
    let admin = connect(&url).await?;
    // Settings changed when the service's sessions started, before any reset.
    let mut commit_changed = changes_commit_settings(&issued_statements(&admin, &name).await?);
    let mut points = Vec::new();
    for workload in grid.workloads {
        for connections in grid.connections {
            let mut rounds = Vec::with_capacity(grid.rounds);
            for round in 1..=grid.rounds.max(1) {
                reset_statements(&admin).await?;
                let config = closed_loop(&service, *workload, *connections, ids, options);
                let rows_before = count_todos(&admin).await?;
                let sampler = ActivitySampler::start(&url, &name).await?;
                let api = run_load(&service.url, &config).await;
                let texts = sampler.finish().await;
                let rows_added = count_todos(&admin).await? - rows_before;
                let issued = issued_statements(&admin, &name).await?;
                commit_changed |=
                    changes_commit_settings(&issued) || changes_commit_settings(&texts);
                let durability = if *workload == Workload::Create {
                    Some(Durability {
                        acked: api.successes,
                        rows_added,
                        synchronous_commit: setting(&admin, "synchronous_commit").await?,
                        fsync: setting(&admin, "fsync").await?,
                        commit_settings_changed: commit_changed,
                    })
                } else {
                    None
                };
                let ceiling = run_pgbench(
                    *workload,
                    &texts,
                    ids,
                    cluster.port(),
                    &name,
                    *connections,
                    options.duration,
                    &options.out,
                )
                .await?;
                eprintln!(
                    "  {workload} × {connections}{}: API {:.0}/s, pgbench {:.0}/s",
                    round_label(round, grid.rounds),
                    api.throughput,
                    ceiling.throughput
                );
                let mut point = point("postgres", *workload, *connections, api, ceiling, issued);
                point.durability = durability;
                rounds.push(point);
            }
            points.extend(median_of_rounds(rounds));
            save(&options.out, grid.file, &points)?;
        }
    }
    service.stop().await?;
    Ok(points)
}

/// Each workload of `grid` through the API on a fresh SQLite file, then the
/// bare rusqlite loop on the same file.
pub async fn compare_sqlite(
    options: &BenchOptions,
    grid: &Grid<'_>,
) -> Result<Vec<WorkloadPoint>, BenchError> {
    let dir = tempfile::tempdir().map_err(BenchError::Io)?;
    let path = dir.path().join("todo.db");
    let log = options.out.join(format!(
        "service-{}-sqlite.log",
        grid.file.trim_end_matches(".json")
    ));
    let url = format!("sqlite://{}", path.display());
    let service = Service::start(&[("DATABASE_URL", url)], &log).await?;
    let ids = seed(&service).await?;
    let mut points = Vec::new();
    for workload in grid.workloads {
        for connections in grid.connections {
            let mut rounds = Vec::with_capacity(grid.rounds);
            for round in 1..=grid.rounds.max(1) {
                let config = closed_loop(&service, *workload, *connections, ids, options);
                let api = run_load(&service.url, &config).await;
                let ceiling =
                    run_sqlite_loop(*workload, &path, ids, *connections, options.duration).await?;
                eprintln!(
                    "  sqlite {workload} × {connections}{}: API {:.0}/s, rusqlite {:.0}/s",
                    round_label(round, grid.rounds),
                    api.throughput,
                    ceiling.throughput
                );
                rounds.push(point(
                    "sqlite",
                    *workload,
                    *connections,
                    api,
                    ceiling,
                    Vec::new(),
                ));
            }
            points.extend(median_of_rounds(rounds));
            save(&options.out, grid.file, &points)?;
        }
    }
    service.stop().await?;
    Ok(points)
}

/// Whether any statement touched the settings that make a commit durable.
fn changes_commit_settings(issued: &[Issued]) -> bool {
    issued.iter().any(|statement| {
        let text = statement.query.to_lowercase();
        text.contains("synchronous_commit") || text.contains("fsync")
    })
}

pub(crate) fn point(
    backend: &str,
    workload: Workload,
    connections: u64,
    api: RunReport,
    ceiling: Ceiling,
    issued: Vec<Issued>,
) -> WorkloadPoint {
    let ratio = Round::of(api.throughput, ceiling.throughput).ratio;
    WorkloadPoint {
        backend: backend.to_owned(),
        workload,
        connections,
        api,
        ceiling,
        ratio,
        issued,
        durability: None,
        rounds: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn round(api: f64, ceiling: f64, acked: u64) -> WorkloadPoint {
        let mut point = fixtures::point(Workload::Create, 64, api, ceiling);
        point.durability = Some(Durability {
            acked,
            rows_added: acked as i64,
            synchronous_commit: "on".to_owned(),
            fsync: "on".to_owned(),
            commit_settings_changed: false,
        });
        point
    }

    #[test]
    fn the_round_of_median_ratio_is_kept_with_every_round_counted() {
        let kept = median_of_rounds(vec![
            round(300.0, 100.0, 10),
            round(100.0, 100.0, 20),
            round(200.0, 100.0, 30),
        ])
        .unwrap();
        assert_eq!(kept.api.throughput, 200.0);
        assert_eq!(kept.ratio, 2.0);
        let ratios: Vec<f64> = kept.rounds.iter().map(|r| r.ratio).collect();
        assert_eq!(ratios, [3.0, 1.0, 2.0], "in the order measured");
        let durability = kept.durability.unwrap();
        assert_eq!((durability.acked, durability.rows_added), (60, 60));
        assert!(durability.holds());
    }

    #[test]
    fn a_single_round_is_kept_as_measured() {
        let kept = median_of_rounds(vec![round(300.0, 100.0, 10)]).unwrap();
        assert!(kept.rounds.is_empty());
        assert_eq!(kept.durability.unwrap().acked, 10);
        assert!(median_of_rounds(Vec::new()).is_none());
    }
}
