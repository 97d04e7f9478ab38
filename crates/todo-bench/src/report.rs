//! Turns the bench's result files into Markdown tables (`OUT/report.md`),
//! the text BENCHMARKS.md quotes: first the "Targets" table (the targets
//! as `targets.rs` judges them), then each part's own table
//! (`target_details.rs` for the target parts).

mod rolling_restart;
mod target_details;

use std::fmt::Write;
use std::path::Path;

use todo_load::scenarios::{limit_notes, render_table};
use todo_load::sustained::RunReport;

use crate::parts::backends::ScenarioPart;
use crate::parts::experiments::{BulkPoint, IndexPoint, PoolPoint};
use crate::results::{MACHINE_FILE, Machine, Part, WorkloadPoint, load};
use crate::rolling_restart::RollingRestartResult;
use crate::targets::{TargetInputs, TargetRow, judge};
use rolling_restart::rolling_restart_table;
use target_details::render_target_details;

/// Every table the result files allow, in BENCHMARKS.md's order.
pub fn render(out: &Path) -> String {
    let mut md = String::new();
    if let Some(machine) = load::<Machine>(out, MACHINE_FILE) {
        let _ = writeln!(
            md,
            "Machine: {} × {}, {} RAM, Linux {}, {}. Shared with other work.\n",
            machine.cpus, machine.cpu_model, machine.memory, machine.kernel, machine.postgres
        );
    }
    let cpus = load::<Machine>(out, MACHINE_FILE).map_or(2, |m| m.cpus);
    md.push_str(&targets_table(&judge(&TargetInputs::load(out))));
    for part in [Part::ScenariosPostgres, Part::ScenariosSqlite] {
        if let Some(scenarios) = load::<ScenarioPart>(out, part.file_name()) {
            let _ = writeln!(md, "### Scenarios on {}\n", scenarios.backend);
            md.push_str(&render_table(&scenarios.results));
            md.push('\n');
            for note in limit_notes(&scenarios.results, cpus) {
                let _ = writeln!(md, "- {note}");
            }
            md.push('\n');
        }
    }
    for part in [Part::WorkloadsPostgres, Part::WorkloadsSqlite] {
        if let Some(points) = load::<Vec<WorkloadPoint>>(out, part.file_name()) {
            let title = points.first().map_or(String::new(), |first| {
                format!(
                    "Workloads on {} (ceiling: {})",
                    first.backend, first.ceiling.tool
                )
            });
            md.push_str(&workload_table(&title, &points));
        }
    }
    if let Some(points) = load::<Vec<PoolPoint>>(out, Part::Pool.file_name()) {
        md.push_str(&pool_table(&points));
    }
    if let Some(points) = load::<Vec<IndexPoint>>(out, Part::Indexes.file_name()) {
        md.push_str(&index_table(&points));
    }
    if let Some(points) = load::<Vec<BulkPoint>>(out, Part::Bulk.file_name()) {
        md.push_str(&bulk_table(&points));
    }
    if let Some(report) = load::<RunReport>(out, Part::Sustained.file_name()) {
        md.push_str(&sustained_table(&report));
    }
    md.push_str(&render_target_details(out, cpus));
    if let Some(results) = load::<Vec<RollingRestartResult>>(out, Part::RollingRestart.file_name())
    {
        md.push_str(&rolling_restart_table(&results));
    }
    md
}

/// The "Targets" table of `rows`; empty when none of the target parts has
/// run.
fn targets_table(rows: &[TargetRow]) -> String {
    if rows.iter().all(|row| row.met.is_none()) {
        return String::new();
    }
    let mut md = String::from(
        "### Targets\n\n\
         | # | target | measured | reference (same run) | ratio | goal | met |\n\
         |---:|---|---|---|---:|---|---|\n",
    );
    for row in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.number,
            row.target,
            row.measured,
            row.reference,
            row.ratio.map_or("–".to_owned(), |r| format!("{r:.2}×")),
            row.goal,
            match row.met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "not run",
            }
        );
    }
    let met = rows.iter().filter(|r| r.met == Some(true)).count();
    let run = rows.iter().filter(|r| r.met.is_some()).count();
    let _ = writeln!(md, "\n{met} of {run} measured targets met.\n");
    md
}

fn workload_table(title: &str, points: &[WorkloadPoint]) -> String {
    if points.is_empty() {
        return String::new();
    }
    let mut md = format!(
        "### {title}\n\n\
         | workload | connections | API req/s | API p50 ms | API p99 ms | API errors | ceiling/s | ceiling p50 ms | ceiling p99 ms | API / ceiling | service CPU | todo-load CPU |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for point in points {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {:.2} | {:.2} | {:.0}% | {} | {} |",
            point.workload,
            point.connections,
            point.api.throughput,
            point.api.latency.p50_ms,
            point.api.latency.p99_ms,
            point.api.failures.total(),
            point.ceiling.throughput,
            point.ceiling.latency.p50_ms,
            point.ceiling.latency.p99_ms,
            point.ratio * 100.0,
            cores(point.api.server_cpu_cores),
            cores(point.api.client_cpu_cores),
        );
    }
    md.push('\n');
    let statements: Vec<String> = points
        .iter()
        .filter(|point| point.connections == points[0].connections)
        .filter_map(|point| {
            let calls: i64 = point.issued.iter().map(|s| s.calls).sum();
            (calls > 0 && point.api.successes > 0).then(|| {
                format!(
                    "{}: {:.2}",
                    point.workload,
                    calls as f64 / point.api.successes as f64
                )
            })
        })
        .collect();
    if !statements.is_empty() {
        let _ = writeln!(
            md,
            "Statements the service issued per successful request (pg_stat_statements): {}.\n",
            statements.join(", ")
        );
    }
    md
}

fn cores(value: Option<f64>) -> String {
    value.map_or("–".to_owned(), |cores| format!("{cores:.2}"))
}

fn pool_table(points: &[PoolPoint]) -> String {
    let mut md = String::from(
        "### Pool size (mixed workload, 64 connections, PostgreSQL)\n\n\
         | pool size | req/s | p50 ms | p99 ms | errors | service CPU |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for point in points {
        let _ = writeln!(
            md,
            "| {} | {:.0} | {:.2} | {:.2} | {} | {} |",
            point.label,
            point.report.throughput,
            point.report.latency.p50_ms,
            point.report.latency.p99_ms,
            point.report.failures.total(),
            cores(point.report.server_cpu_cores),
        );
    }
    if let Some(best) = points
        .iter()
        .max_by(|a, b| a.report.throughput.total_cmp(&b.report.throughput))
    {
        let _ = writeln!(
            md,
            "\nBest measured: pool size {} at {:.0} req/s.",
            best.pool_size, best.report.throughput
        );
    }
    md.push('\n');
    md
}

fn index_table(points: &[IndexPoint]) -> String {
    let rows = points.first().map_or(0, |p| p.rows);
    let mut md = format!(
        "### Filtered listing on {rows} rows, with and without the indexes (16 connections)\n\n\
         | query | with indexes req/s | p50 ms | p99 ms | without req/s | p50 ms | p99 ms | speed-up |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for with in points.iter().filter(|p| p.indexes) {
        let Some(without) = points.iter().find(|p| !p.indexes && p.query == with.query) else {
            continue;
        };
        let speedup = if without.report.throughput > 0.0 {
            with.report.throughput / without.report.throughput
        } else {
            0.0
        };
        let _ = writeln!(
            md,
            "| `{}` | {:.0} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} | {:.0}× |",
            with.query,
            with.report.throughput,
            with.report.latency.p50_ms,
            with.report.latency.p99_ms,
            without.report.throughput,
            without.report.latency.p50_ms,
            without.report.latency.p99_ms,
            speedup
        );
    }
    md.push('\n');
    md
}

fn bulk_table(points: &[BulkPoint]) -> String {
    let mut md = String::from(
        "### 10,000 creates: one by one vs bulk\n\n\
         | backend | method | requests | seconds | todos/s | failed requests | vs one by one |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
    );
    for point in points {
        let base = points
            .iter()
            .find(|p| p.backend == point.backend && p.method == "one by one")
            .map_or(1.0, |p| p.todos_per_second);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.2} | {:.0} | {} | {:.1}× |",
            point.backend,
            point.method,
            point.requests,
            point.seconds,
            point.todos_per_second,
            point.failed_requests,
            point.todos_per_second / base
        );
    }
    md.push('\n');
    md
}

fn sustained_table(report: &RunReport) -> String {
    let mut md = format!(
        "### Sustained mixed load at {} concurrent clients (PostgreSQL)\n\n\
         | clients | seconds | requests | ok | success % | req/s | p50 ms | p99 ms | p99.9 ms | service CPU | todo-load CPU |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | {} | {:.0} | {} | {} | {:.3} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} |\n\n",
        report.connections,
        report.connections,
        report.duration_seconds,
        report.requests,
        report.successes,
        report.success_percent,
        report.throughput,
        report.latency.p50_ms,
        report.latency.p99_ms,
        report.latency.p999_ms,
        cores(report.server_cpu_cores),
        cores(report.client_cpu_cores),
    );
    for line in report.failures.describe() {
        let _ = writeln!(md, "- {line}");
    }
    for warning in &report.warnings {
        let _ = writeln!(md, "- {warning}");
    }
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use todo_load::workload::Workload;

    use super::*;
    use crate::fixtures::point;

    #[test]
    fn the_targets_table_says_how_many_measured_targets_were_met() {
        let rows = judge(&TargetInputs {
            reads: vec![point(Workload::Read, 64, 900.0, 1000.0)],
            ..TargetInputs::default()
        });
        let md = targets_table(&rows);
        assert!(md.contains("| 1 | Reads, 64 connections | 900 req/s | pgbench 1000/s | 0.90× | ≥ 0.6× pgbench | met |"), "{md}");
        assert!(md.contains("1 of 1 measured targets met."), "{md}");
        assert!(md.contains("not run"), "{md}");
        assert_eq!(targets_table(&judge(&TargetInputs::default())), "");
    }
}
