//! The scenario and workload parts: the same measurements on each backend,
//! each API figure beside its ceiling.

use std::path::Path;

use super::distant::{run_concurrency, run_distant};
use super::experiments::{run_bulk, run_indexes, run_pool, run_sustained};
use super::goals::{run_bulk_rows, run_creates, run_reads, run_updates};
use super::lists::run_lists;
use super::pgbench::run_pgbench;
use super::postgres::{ActivitySampler, Cluster, connect, issued_statements, reset_statements};
use super::service::Service;
use super::sqlite_loop::run_sqlite_loop;
use super::{BenchError, BenchOptions, Durability, Part, Round, ScenarioPart, WorkloadPoint, save};
use todo_load::client::Connection;
use todo_load::scenarios;
use todo_load::sustained::{RunConfig, run_load};
use todo_load::workload::{IdRange, LIST_PATH, Workload, ensure_todos};

/// Todos seeded before the sustained workloads.
pub(super) const SEED: u64 = 10_000;

pub(super) async fn run_part(
    part: Part,
    cluster: Option<&Cluster>,
    options: &BenchOptions,
) -> Result<(), BenchError> {
    let need = || cluster.ok_or_else(|| BenchError::Setup("no PostgreSQL cluster".to_owned()));
    match part {
        Part::ScenariosPostgres => {
            let (_, url) = need()?.fresh_database().await?;
            scenarios_on(&url, "postgres", part, options).await
        }
        Part::ScenariosSqlite => {
            let dir = tempfile::tempdir().map_err(BenchError::Io)?;
            let url = format!("sqlite://{}", dir.path().join("todo.db").display());
            scenarios_on(&url, "sqlite", part, options).await
        }
        Part::WorkloadsPostgres => workloads_postgres(need()?, options).await,
        Part::WorkloadsSqlite => workloads_sqlite(options).await,
        Part::Pool => run_pool(need()?, options).await,
        Part::Indexes => run_indexes(need()?, options).await,
        Part::Bulk => run_bulk(need()?, options).await,
        Part::Sustained => run_sustained(need()?, options).await,
        Part::Reads => run_reads(need()?, options).await,
        Part::Lists1m => run_lists(need()?, options).await,
        Part::Updates => run_updates(need()?, options).await,
        Part::Creates => run_creates(need()?, options).await,
        Part::Distant => run_distant(need()?, options).await,
        Part::Concurrency => run_concurrency(need()?, options).await,
        Part::BulkRows => run_bulk_rows(need()?, options).await,
    }
}

async fn scenarios_on(
    url: &str,
    backend: &str,
    part: Part,
    options: &BenchOptions,
) -> Result<(), BenchError> {
    let log = options.out.join(format!("service-{backend}.log"));
    let service = Service::start(&[("DATABASE_URL", url.to_owned())], &log).await?;
    let tag = scenarios::run_tag();
    let mut result = ScenarioPart {
        backend: backend.to_owned(),
        results: Vec::new(),
    };
    for (index, scenario) in scenarios::standard().iter().enumerate() {
        eprintln!("  {} ({} clients)", scenario.name, scenario.clients);
        let outcome =
            scenarios::run_scenario(&service.url, scenario, &format!("{tag}s{index}")).await?;
        result.results.push(outcome);
        save(&options.out, part.file_name(), &result)?;
    }
    service.stop().await
}

/// Seeds `SEED` todos through the API; returns their id range.
pub(super) async fn seed(service: &Service) -> Result<IdRange, BenchError> {
    let mut connection = Connection::open(&service.url)
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    Ok(ensure_todos(&mut connection, SEED).await?)
}

/// A closed-loop run of `workload` at `connections` against `service`.
pub(super) fn closed_loop(
    service: &Service,
    workload: Workload,
    connections: u64,
    ids: IdRange,
    options: &BenchOptions,
) -> RunConfig {
    RunConfig {
        workload,
        connections,
        duration: options.duration,
        rate: None,
        ids,
        list_path: LIST_PATH.to_owned(),
        progress: false,
        server_pid: Some(service.pid),
    }
}

async fn workloads_postgres(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
    let grid = Grid {
        workloads: &options.workloads,
        connections: &options.connections,
        file: Part::WorkloadsPostgres.file_name(),
        rounds: 1,
    };
    compare_postgres(cluster, options, &grid).await.map(drop)
}

async fn workloads_sqlite(options: &BenchOptions) -> Result<(), BenchError> {
    let grid = Grid {
        workloads: &options.workloads,
        connections: &options.connections,
        file: Part::WorkloadsSqlite.file_name(),
        rounds: 1,
    };
    compare_sqlite(options, &grid).await.map(drop)
}

/// Which workloads at which connection counts, saved to which part's file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Grid<'a> {
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
fn round_label(round: usize, rounds: usize) -> String {
    if rounds > 1 {
        format!(" (round {round} of {rounds})")
    } else {
        String::new()
    }
}

/// The round of median ratio among `rounds` (each a point measured
/// alone), carrying every round's figures; creates' durability counts
/// every round.
fn median_of_rounds(mut rounds: Vec<WorkloadPoint>) -> Option<WorkloadPoint> {
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
pub(super) async fn compare_postgres(
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
                let rows_before = count_rows(&admin).await?;
                let sampler = ActivitySampler::start(&url, &name).await?;
                let api = run_load(&service.url, &config).await;
                let texts = sampler.finish().await;
                let rows_added = count_rows(&admin).await? - rows_before;
                let issued = issued_statements(&admin, &name).await?;
                commit_changed |=
                    changes_commit_settings(&issued) || changes_commit_settings(&texts);
                let durability = if *workload == Workload::Create {
                    Some(Durability {
                        acked: api.successes,
                        rows_added,
                        synchronous_commit: show(&admin, "synchronous_commit").await?,
                        fsync: show(&admin, "fsync").await?,
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
pub(super) async fn compare_sqlite(
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
                let ceiling = run_sqlite_loop(
                    *workload,
                    Path::new(&path),
                    ids,
                    *connections,
                    options.duration,
                )
                .await?;
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

async fn count_rows(admin: &tokio_postgres::Client) -> Result<i64, BenchError> {
    Ok(admin
        .query_one("select count(*) from todos", &[])
        .await?
        .get(0))
}

async fn show(admin: &tokio_postgres::Client, setting: &str) -> Result<String, BenchError> {
    Ok(admin
        .query_one("select current_setting($1)", &[&setting])
        .await?
        .get(0))
}

/// Whether any statement touched the settings that make a commit durable.
fn changes_commit_settings(issued: &[super::Issued]) -> bool {
    issued.iter().any(|statement| {
        let text = statement.query.to_lowercase();
        text.contains("synchronous_commit") || text.contains("fsync")
    })
}

fn point(
    backend: &str,
    workload: Workload,
    connections: u64,
    api: todo_load::sustained::RunReport,
    ceiling: super::Ceiling,
    issued: Vec<super::Issued>,
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
    use crate::bench::fixtures;

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
