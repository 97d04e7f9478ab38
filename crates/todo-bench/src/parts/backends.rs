//! The scenario and workload parts: the same measurements on each backend,
//! each workload's API figure beside its reference.

use serde::{Deserialize, Serialize};
use todo_load::scenarios::{self, ScenarioResult};

use crate::cluster::Cluster;
use crate::error::BenchError;
use crate::measure::{BenchOptions, Grid, compare_postgres, compare_sqlite};
use crate::results::{Part, save};
use crate::service::Service;

/// Scenario figures of one backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioPart {
    pub backend: String,
    pub results: Vec<ScenarioResult>,
}

/// `scenarios-postgres`: the scenario table on a fresh PostgreSQL database.
pub async fn run_scenarios_postgres(
    cluster: &Cluster,
    options: &BenchOptions,
) -> Result<(), BenchError> {
    let (_, url) = cluster.fresh_database().await?;
    scenarios_on(&url, "postgres", Part::ScenariosPostgres, options).await
}

/// `scenarios-sqlite`: the scenario table on a fresh SQLite file.
pub async fn run_scenarios_sqlite(options: &BenchOptions) -> Result<(), BenchError> {
    let dir = tempfile::tempdir().map_err(BenchError::Io)?;
    let url = format!("sqlite://{}", dir.path().join("todo.db").display());
    scenarios_on(&url, "sqlite", Part::ScenariosSqlite, options).await
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

/// `workloads-postgres`: each workload at each connection count, beside
/// pgbench.
pub async fn run_workloads_postgres(
    cluster: &Cluster,
    options: &BenchOptions,
) -> Result<(), BenchError> {
    let grid = Grid {
        workloads: &options.workloads,
        connections: &options.connections,
        file: Part::WorkloadsPostgres.file_name(),
        rounds: 1,
    };
    compare_postgres(cluster, options, &grid).await.map(drop)
}

/// `workloads-sqlite`: each workload at each connection count, beside the
/// bare rusqlite loop.
pub async fn run_workloads_sqlite(options: &BenchOptions) -> Result<(), BenchError> {
    let grid = Grid {
        workloads: &options.workloads,
        connections: &options.connections,
        file: Part::WorkloadsSqlite.file_name(),
        rounds: 1,
    };
    compare_sqlite(options, &grid).await.map(drop)
}
