//! The scenario table as Markdown, and the notes that say when a limit was
//! the client's or the machine's rather than the server's.

use std::fmt::Write;

use super::ScenarioResult;

/// The table: the old columns, then success, throughput, latency and the
/// outcome of the checks.
pub fn render_table(results: &[ScenarioResult]) -> String {
    let mut out = String::from(
        "| Test | Clients | Expected | Actual | Success % | Old service | ops/s | p50 ms | p99 ms | connect p99 ms | Verified |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for result in results {
        let verified = if result.verification.ok {
            "yes".to_owned()
        } else {
            format!("NO: {}", result.verification.problems.join("; "))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.1} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} |",
            result.scenario.name,
            result.scenario.clients,
            result.expected,
            result.actual,
            result.success_percent,
            result.scenario.old_actual.as_deref().unwrap_or("–"),
            result.ops_per_second,
            result.latency.p50_ms,
            result.latency.p99_ms,
            result.connect.p99_ms,
            verified,
        );
    }
    out
}

/// Notes on each scenario whose outcome was bounded by something other
/// than the server, or that failed.
pub fn limit_notes(results: &[ScenarioResult], cpus: usize) -> Vec<String> {
    let mut notes = Vec::new();
    for result in results {
        let name = &result.scenario.name;
        for warning in &result.warnings {
            notes.push(format!("{name}: {warning}"));
        }
        if result.failures.total() > 0 {
            let not_server = result.failures_not_the_server;
            notes.push(format!(
                "{name}: {} operations failed, {not_server} of them on a client or machine \
                 limit rather than the server: {}",
                result.failures.total(),
                result.failures.describe().join("; ")
            ));
        }
        if let Some(overflows) = result.listen_overflows
            && overflows > 0
        {
            notes.push(format!(
                "{name}: the kernel dropped {overflows} connection attempts on a full listen \
                 backlog (TcpExt ListenOverflows): a machine limit, seen as connect latency"
            ));
        }
        if let Some(cores) = result.client_cpu_cores
            && cores > 0.8 * cpus as f64
        {
            notes.push(format!(
                "{name}: the load generator itself used {cores:.1} of {cpus} cores: the \
                 machine, not only the server, bounded this result"
            ));
        }
    }
    notes
}
