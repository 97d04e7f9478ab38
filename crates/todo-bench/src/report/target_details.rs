//! The detail tables of the target parts (`reads`, `lists-1m`, `updates`,
//! `creates`, `distant`, `concurrency`, `bulk-rows`, `users`,
//! `lists-after-bulk`), below the "Targets"
//! table that sums them up.

use std::fmt::Write;
use std::path::Path;

use todo_load::scenarios::{limit_notes, render_table};

use super::workload_table;
use crate::parts::bulk_rows::BulkRowsPoint;
use crate::parts::concurrency::ConcurrencyPart;
use crate::parts::distant::DistantPart;
use crate::parts::lists_1m::{LIST_CONNECTIONS, ListPoint};
use crate::results::{CREATES_SQLITE_FILE, Part, USERS_SQLITE_FILE, WorkloadPoint, load};

/// Every detail table the result files in `out` allow.
pub fn render_target_details(out: &Path, cpus: usize) -> String {
    let mut md = String::new();
    for (file, title) in [
        (Part::Reads.file_name(), "Target 1: reads"),
        (Part::Updates.file_name(), "Target 3: updates"),
        (Part::Creates.file_name(), "Target 4: creates on PostgreSQL"),
        (CREATES_SQLITE_FILE, "Target 4: creates on SQLite"),
        (
            Part::Users.file_name(),
            "Target 8: JWT with 1,000 users (ceiling: open mode), PostgreSQL",
        ),
        (
            USERS_SQLITE_FILE,
            "Target 8: JWT with 1,000 users (ceiling: open mode), SQLite",
        ),
    ] {
        if let Some(points) = load::<Vec<WorkloadPoint>>(out, file) {
            md.push_str(&workload_table(title, &points));
        }
    }
    if let Some(points) = load::<Vec<ListPoint>>(out, Part::Lists1m.file_name()) {
        let (rows, users) = points.first().map_or((0, 0), |p| (p.rows, p.users));
        let whose = if users == 0 {
            "open mode".to_owned()
        } else {
            format!("spread over {users} users, listed as one of them with JWT")
        };
        md.push_str(&lists_table(
            &format!("Targets 2 and 9: filtered lists on {rows} rows, {whose}"),
            &points,
        ));
    }
    if let Some(points) = load::<Vec<ListPoint>>(out, Part::ListsAfterBulk.file_name()) {
        md.push_str(&lists_table(
            "Target 9: lists right after a bulk load (10,000 todos through the API)",
            &points,
        ));
    }
    if let Some(part) = load::<DistantPart>(out, Part::Distant.file_name()) {
        md.push_str(&distant_section(&part, cpus));
    }
    if let Some(part) = load::<ConcurrencyPart>(out, Part::Concurrency.file_name()) {
        md.push_str(&concurrency_section(&part, cpus));
    }
    if let Some(points) = load::<Vec<BulkRowsPoint>>(out, Part::BulkRows.file_name()) {
        md.push_str(&bulk_rows_table(&points));
    }
    md
}

fn lists_table(title: &str, points: &[ListPoint]) -> String {
    let mut md = format!(
        "### {title}, {LIST_CONNECTIONS} connections\n\n\
         | listing | page | API req/s | API p50 ms | API p99 ms | API errors | pgbench/s | pgbench p50 ms | API / pgbench | hand-written/s | API / hand-written | page / first page | statement |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    );
    for point in points {
        let first = points
            .iter()
            .find(|p| p.is_first() && p.query == point.query)
            .map(|p| p.api.throughput)
            .filter(|t| *t > 0.0);
        let _ = writeln!(
            md,
            "| `{}` | {} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {:.2} | {:.2}× | {} | {} | {} | {} |",
            point.query,
            point.pages_in + 1,
            point.api.throughput,
            point.api.latency.p50_ms,
            point.api.latency.p99_ms,
            point.api.failures.total(),
            point.ceiling.throughput,
            point.ceiling.latency.p50_ms,
            point.ratio,
            point
                .hand_written
                .as_ref()
                .map_or("–".to_owned(), |h| format!("{:.0}", h.throughput)),
            point
                .hand_written_ratio()
                .map_or("–".to_owned(), |r| format!("{r:.2}×")),
            first.map_or("–".to_owned(), |f| format!(
                "{:.2}×",
                point.api.throughput / f
            )),
            if point.statement_is_builders {
                "shared builder's"
            } else {
                "the service's own"
            },
        );
    }
    md.push_str(
        "\nPage 1 is the first page (of the URL's `limit`: 100 on 1M rows, 20 after a bulk load); a later page number is the page reached by \
         following `Link: rel=\"next\"`. pgbench runs the statement the service issued for that \
         URL (sampled from `pg_stat_activity`) with the values the shared SQL builder binds for \
         it, cursor position included; hand-written, the same query with every value written \
         into its text, prepared once: what a careful client would send for that URL.\n\n",
    );
    md
}

fn distant_section(part: &DistantPart, cpus: usize) -> String {
    let mut md = format!(
        "### Target 5: the database {} ms away each way (delay proxy)\n\n",
        part.delay_ms_each_way
    );
    if !part.scenarios.is_empty() {
        md.push_str(&render_table(&part.scenarios));
        md.push('\n');
        for note in limit_notes(&part.scenarios, cpus) {
            let _ = writeln!(md, "- {note}");
        }
    }
    if let Some(creates) = &part.creates {
        let _ = writeln!(
            md,
            "- Creates at {} clients: {:.0} req/s, {:.3}% ok, p50 {:.1} ms, p99 {:.1} ms",
            creates.connections,
            creates.throughput,
            creates.success_percent,
            creates.latency.p50_ms,
            creates.latency.p99_ms
        );
        for line in creates.failures.describe() {
            let _ = writeln!(md, "  - {line}");
        }
    }
    if let Some(reference) = &part.reference {
        let _ = writeln!(
            md,
            "- pgbench single-row INSERT through the same proxy at {} clients: {:.0}/s, p50 {:.1} ms",
            reference.clients, reference.throughput, reference.latency.p50_ms
        );
    }
    md.push('\n');
    md
}

fn concurrency_section(part: &ConcurrencyPart, cpus: usize) -> String {
    let mut md = String::from("### Target 6: concurrency\n\n");
    if let Some(idle) = &part.idle {
        let mb = |kib: u64| kib as f64 * 1024.0 / 1e6;
        let _ = writeln!(
            md,
            "| idle connections | answered | open when read | RSS before MB | RSS idle MB | peak RSS MB |\n\
             |---:|---:|---:|---:|---:|---:|\n\
             | {} | {} | {} | {:.1} | {:.1} | {:.1} |\n",
            idle.connections,
            idle.answered,
            idle.open_when_read,
            mb(idle.rss_before_kib),
            mb(idle.rss_idle_kib),
            mb(idle.rss_peak_kib)
        );
    }
    if let Some(scale) = &part.scale {
        let results = std::slice::from_ref(scale);
        md.push_str(&render_table(results));
        md.push('\n');
        for note in limit_notes(results, cpus) {
            let _ = writeln!(md, "- {note}");
        }
    }
    md.push('\n');
    md
}

fn bulk_rows_table(points: &[BulkRowsPoint]) -> String {
    let mut md = String::from(
        "### Target 7: bulk creates, 1,000 items per request (PostgreSQL)\n\n\
         | clients | requests | failed | rows | seconds | rows/s | p50 ms | p99 ms | pgbench 1,000-row INSERT rows/s |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for point in points {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.2} | {:.0} | {:.1} | {:.1} | {:.0} |",
            point.clients,
            point.requests,
            point.failed_requests,
            point.rows,
            point.seconds,
            point.rows_per_second,
            point.latency.p50_ms,
            point.latency.p99_ms,
            point.reference.throughput
        );
    }
    md.push('\n');
    md
}
