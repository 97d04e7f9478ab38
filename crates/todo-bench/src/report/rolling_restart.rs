//! The rolling-restart table: for 1, 2 and 3 instances, what the keyed
//! clients sent and were answered while every instance was restarted and
//! one killed, whether the database held exactly what they were told, and
//! how the scenario table fared meanwhile.

use std::fmt::Write;

use crate::rolling_restart::RollingRestartResult;

pub(super) fn rolling_restart_table(results: &[RollingRestartResult]) -> String {
    if results.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "### Rolling restart behind HAProxy and PgBouncer\n\n\
         | instances | keyed clients | requests | operations | answers by kind | unsafe | given up | ops/s | p99 ms steady | p99 ms restarting | restarts took | acknowledged | in the database | duplicated | missing | stale | scenario runs (success %) | SIGTERM exits |\n\
         |---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n",
    );
    for result in results {
        let outcomes: Vec<String> = result
            .writes
            .outcomes
            .iter()
            .map(|(outcome, count)| format!("{outcome}: {count}"))
            .collect();
        let scenario_success = if result.scenarios.is_empty() {
            "–".to_owned()
        } else {
            let expected: u64 = result.scenarios.iter().map(|s| s.expected).sum();
            let actual: u64 = result.scenarios.iter().map(|s| s.actual).sum();
            format!(
                "{} ({:.2}%)",
                result.scenarios.len(),
                actual as f64 * 100.0 / expected.max(1) as f64
            )
        };
        let exits: Vec<String> = result
            .exit_codes
            .iter()
            .map(|code| code.map_or("signal".to_owned(), |code| code.to_string()))
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} s | {} | {} | {} | {} | {} | {} | {} |",
            result.instances,
            result.clients,
            result.writes.attempts,
            result.writes.operations,
            outcomes.join(", "),
            result.writes.unsafe_failures,
            result.writes.given_up,
            result.writes.operations_per_second,
            result.writes.steady.p99_ms,
            result.writes.disrupted.p99_ms,
            result.disruption_seconds,
            result.check.acknowledged,
            result.check.listed,
            result.check.duplicated,
            result.check.missing,
            result.check.stale_updates,
            scenario_success,
            exits.join(", "),
        );
    }
    md.push('\n');
    for result in results {
        let problems = result.problems();
        if !problems.is_empty() {
            let _ = writeln!(
                md,
                "- **{} instance(s)**: {}",
                result.instances,
                problems.join("; ")
            );
        }
    }
    md.push('\n');
    md
}
