//! `todo-bench bench`: the project's benchmark in one command. It starts a
//! throwaway PostgreSQL cluster when a chosen part needs one, describes the
//! machine, and runs the chosen parts in order; each part writes its figures
//! to `OUT/PART.json` as soon as they are measured, so one part can be
//! rerun alone (`--only PART`).

use todo_load::limits::Limits;

use crate::cluster::Cluster;
use crate::error::BenchError;
use crate::measure::BenchOptions;
use crate::parts::backends::{
    run_scenarios_postgres, run_scenarios_sqlite, run_workloads_postgres, run_workloads_sqlite,
};
use crate::parts::bulk_rows::run_bulk_rows;
use crate::parts::changes::run_changes;
use crate::parts::concurrency::run_concurrency;
use crate::parts::distant::run_distant;
use crate::parts::experiments::{run_bulk, run_indexes, run_pool, run_sustained};
use crate::parts::lists_1m::run_lists;
use crate::parts::lists_after_bulk::run_lists_after_bulk;
use crate::parts::rolling_restart::run_rolling_restarts;
use crate::parts::single_rows::{run_creates, run_reads, run_updates};
use crate::parts::users::run_users;
use crate::results::{MACHINE_FILE, Machine, Part, save};

/// Runs `parts` in order.
pub async fn run_bench(parts: &[Part], options: &BenchOptions) -> Result<(), BenchError> {
    // Children (the service, PostgreSQL) inherit this limit.
    let limits = Limits::prepare(options.sustained_clients.max(10_000) * 2);
    eprintln!("open-file limit: {}", limits.open_files);
    std::fs::create_dir_all(&options.out).map_err(BenchError::Io)?;
    save(&options.out, MACHINE_FILE, &Machine::describe())?;
    let cluster = if parts.iter().any(|part| needs_postgres(*part)) {
        eprintln!("starting a throwaway PostgreSQL cluster…");
        Some(Cluster::start().await?)
    } else {
        None
    };
    for part in parts {
        eprintln!("== {part:?}");
        run_part(*part, cluster.as_ref(), options).await?;
    }
    Ok(())
}

/// Whether `part` measures anything on PostgreSQL.
fn needs_postgres(part: Part) -> bool {
    !matches!(part, Part::ScenariosSqlite | Part::WorkloadsSqlite)
}

async fn run_part(
    part: Part,
    cluster: Option<&Cluster>,
    options: &BenchOptions,
) -> Result<(), BenchError> {
    let need = || cluster.ok_or_else(|| BenchError::Setup("no PostgreSQL cluster".to_owned()));
    match part {
        Part::ScenariosPostgres => run_scenarios_postgres(need()?, options).await,
        Part::ScenariosSqlite => run_scenarios_sqlite(options).await,
        Part::WorkloadsPostgres => run_workloads_postgres(need()?, options).await,
        Part::WorkloadsSqlite => run_workloads_sqlite(options).await,
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
        Part::Users => run_users(need()?, options).await,
        Part::ListsAfterBulk => run_lists_after_bulk(need()?, options).await,
        Part::Changes => run_changes(need()?, options).await,
        Part::RollingRestart => run_rolling_restarts(need()?, options).await,
    }
}
