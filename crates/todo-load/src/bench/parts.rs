//! The scenario and workload parts: the same measurements on each backend,
//! each API figure beside its ceiling.

use std::path::Path;

use super::experiments::{run_bulk, run_indexes, run_pool, run_sustained};
use super::pgbench::run_pgbench;
use super::postgres::{ActivitySampler, Cluster, connect, issued_statements, reset_statements};
use super::service::Service;
use super::sqlite_loop::run_sqlite_loop;
use super::{BenchError, BenchOptions, Part, ScenarioPart, WorkloadPoint, save};
use crate::client::Connection;
use crate::scenarios;
use crate::sustained::{RunConfig, run_load};
use crate::workload::{IdRange, LIST_PATH, Workload, ensure_todos};

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
            scenarios::run_scenario(&service.target, scenario, &format!("{tag}s{index}")).await?;
        result.results.push(outcome);
        save(&options.out, part.file_name(), &result)?;
    }
    service.stop().await
}

/// Seeds `SEED` todos through the API; returns their id range.
pub(super) async fn seed(service: &Service) -> Result<IdRange, BenchError> {
    let mut connection = Connection::open(&service.target)
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
    let (name, url) = cluster.fresh_database().await?;
    let log = options.out.join("service-workloads-postgres.log");
    let service = Service::start(&[("DATABASE_URL", url.clone())], &log).await?;
    let ids = seed(&service).await?;
    let admin = connect(&url).await?;
    let mut points = Vec::new();
    for workload in &options.workloads {
        for connections in &options.connections {
            reset_statements(&admin).await?;
            let config = closed_loop(&service, *workload, *connections, ids, options);
            let sampler = ActivitySampler::start(&url, &name).await?;
            let api = run_load(&service.target, &config).await;
            let texts = sampler.finish().await;
            let issued = issued_statements(&admin, &name).await?;
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
                "  {workload} × {connections}: API {:.0}/s, pgbench {:.0}/s",
                api.throughput, ceiling.throughput
            );
            points.push(point(
                "postgres",
                *workload,
                *connections,
                api,
                ceiling,
                issued,
            ));
            save(&options.out, Part::WorkloadsPostgres.file_name(), &points)?;
        }
    }
    service.stop().await
}

async fn workloads_sqlite(options: &BenchOptions) -> Result<(), BenchError> {
    let dir = tempfile::tempdir().map_err(BenchError::Io)?;
    let path = dir.path().join("todo.db");
    let log = options.out.join("service-workloads-sqlite.log");
    let url = format!("sqlite://{}", path.display());
    let service = Service::start(&[("DATABASE_URL", url)], &log).await?;
    let ids = seed(&service).await?;
    let mut points = Vec::new();
    for workload in &options.workloads {
        for connections in &options.connections {
            let config = closed_loop(&service, *workload, *connections, ids, options);
            let api = run_load(&service.target, &config).await;
            let ceiling = run_sqlite_loop(
                *workload,
                Path::new(&path),
                ids,
                *connections,
                options.duration,
            )
            .await?;
            eprintln!(
                "  {workload} × {connections}: API {:.0}/s, rusqlite {:.0}/s",
                api.throughput, ceiling.throughput
            );
            points.push(point(
                "sqlite",
                *workload,
                *connections,
                api,
                ceiling,
                Vec::new(),
            ));
            save(&options.out, Part::WorkloadsSqlite.file_name(), &points)?;
        }
    }
    service.stop().await
}

fn point(
    backend: &str,
    workload: Workload,
    connections: u64,
    api: crate::sustained::RunReport,
    ceiling: super::Ceiling,
    issued: Vec<super::Issued>,
) -> WorkloadPoint {
    let ratio = if ceiling.throughput > 0.0 {
        api.throughput / ceiling.throughput
    } else {
        0.0
    };
    WorkloadPoint {
        backend: backend.to_owned(),
        workload,
        connections,
        api,
        ceiling,
        ratio,
        issued,
    }
}
