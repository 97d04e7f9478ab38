//! Each target's figures, read from the result files: what its row shows
//! (the measured value, the reference measured in the same run, their
//! ratio) and the figures its goal judges. No rule is stated here: where a
//! row counts the figures that met the goal, or names the worst, it asks
//! the target's goal.

use std::fmt::Write;

use todo_load::scenarios::ScenarioResult;

use super::feed_figures::{catch_up, stream_delay, streams_memory};
pub use super::reading::Reading;
use super::{Figure, Goal, Measured, Target, TargetInputs};
use crate::parts::bulk_rows::BulkRowsPoint;
use crate::parts::concurrency::ConcurrencyPart;
use crate::parts::distant::DistantPart;
use crate::parts::lists_1m::ListPoint;
use crate::results::{Round, WorkloadPoint};

/// The rows of `target` from `inputs`.
pub fn readings(target: &Target, inputs: &TargetInputs) -> Vec<Reading> {
    let label = target.measured.label();
    match target.measured {
        Measured::Reads => against_reference(label, &inputs.reads),
        Measured::ListFirstPages => vec![list_pages(label, &inputs.lists, true, &target.goal)],
        Measured::ListDeepPages => vec![list_pages(label, &inputs.lists, false, &target.goal)],
        Measured::DeepPageCost => vec![deep_page_cost(label, &inputs.lists, &target.goal)],
        Measured::Updates => against_reference(label, &inputs.updates),
        Measured::CreatesPostgres => against_reference(label, &inputs.creates),
        Measured::CreatesDurability => vec![durability(label, &inputs.creates)],
        Measured::CreatesSqlite => against_reference(label, &inputs.creates_sqlite),
        Measured::DistantScenarios => vec![distant_scenarios(label, inputs.distant.as_ref())],
        Measured::DistantCreates => vec![distant_creates(label, inputs.distant.as_ref())],
        Measured::ScaleTest => vec![scale_test(label, inputs.concurrency.as_ref())],
        Measured::IdleMemory => vec![idle_memory(label, inputs.concurrency.as_ref())],
        Measured::BulkRows => vec![bulk_rows(label, &inputs.bulk_rows)],
        Measured::UsersJwt => per_workload(label, &inputs.users),
        Measured::ListsHandWritten => {
            vec![against_hand_written(label, &inputs.lists, &target.goal)]
        }
        Measured::ListsAfterBulk => vec![against_hand_written(
            label,
            &inputs.lists_after_bulk,
            &target.goal,
        )],
        Measured::ChangesCatchUp => catch_up(label, inputs.changes.as_ref()),
        Measured::StreamsMemory => vec![streams_memory(label, inputs.changes.as_ref())],
        Measured::StreamsDelayOne => {
            vec![stream_delay(label, inputs.changes.as_ref(), "one instance")]
        }
        Measured::StreamsDelayTwo => {
            vec![stream_delay(
                label,
                inputs.changes.as_ref(),
                "two instances",
            )]
        }
    }
}

/// One row per connection count: the API's rate beside its reference's.
fn against_reference(label: String, points: &[WorkloadPoint]) -> Vec<Reading> {
    if points.is_empty() {
        return vec![Reading::not_measured(label)];
    }
    points
        .iter()
        .map(|point| Reading {
            target: format!("{label}, {} connections", point.connections),
            measured: format!(
                "{:.0} req/s{}",
                point.api.throughput,
                rounds_note(&point.rounds)
            ),
            reference: format!("{} {:.0}/s", point.ceiling.tool, point.ceiling.throughput),
            ratio: Some(point.ratio),
            figures: vec![rates(point.api.throughput, point.ceiling.throughput)],
        })
        .collect()
}

/// One row per backend and workload: the API's rate beside its
/// reference's.
fn per_workload(label: String, points: &[WorkloadPoint]) -> Vec<Reading> {
    let mut readings = against_reference(label.clone(), points);
    for (reading, point) in readings.iter_mut().zip(points) {
        reading.target = format!(
            "{label}: {} ({}), {} connections",
            point.workload, point.backend, point.connections
        );
    }
    readings
}

fn rates(value: f64, reference: f64) -> Figure {
    Figure {
        value,
        reference,
        whole: true,
    }
}

/// How a point measured in rounds was chosen, and how far its rounds
/// spread; nothing for a point measured once.
fn rounds_note(rounds: &[Round]) -> String {
    let ratios = rounds.iter().map(|round| round.ratio);
    match (
        ratios.clone().min_by(f64::total_cmp),
        ratios.max_by(f64::total_cmp),
    ) {
        (Some(low), Some(high)) => format!(
            ", median of {} rounds (ratios {low:.2}–{high:.2}×)",
            rounds.len()
        ),
        _ => String::new(),
    }
}

/// The item whose figure has the least margin over `goal`: the worst.
fn worst<'a, T>(items: &'a [T], figure: impl Fn(&T) -> Figure, goal: &Goal) -> Option<&'a T> {
    items
        .iter()
        .min_by(|a, b| goal.margin(&figure(a)).total_cmp(&goal.margin(&figure(b))))
}

/// Every listing's first page, or every deep page, each beside pgbench
/// running the same statement; the row shows the worst.
fn list_pages(label: String, points: &[ListPoint], first: bool, goal: &Goal) -> Reading {
    let chosen: Vec<&ListPoint> = points.iter().filter(|p| p.is_first() == first).collect();
    let figure = |point: &&ListPoint| rates(point.api.throughput, point.ceiling.throughput);
    let Some(worst) = worst(&chosen, figure, goal) else {
        return Reading::not_measured(label);
    };
    let figures: Vec<Figure> = chosen.iter().map(figure).collect();
    Reading {
        target: label,
        measured: format!(
            "{} of {} met; worst `{}`: {:.0} req/s{}",
            figures.iter().filter(|f| goal.met(f)).count(),
            figures.len(),
            short(&worst.query),
            worst.api.throughput,
            rounds_note(&worst.rounds)
        ),
        reference: format!("pgbench {:.0}/s", worst.ceiling.throughput),
        ratio: Some(worst.ratio),
        figures,
    }
}

/// Every listing page beside pgbench running the hand-written statement
/// for its URL; the row shows the worst.
fn against_hand_written(label: String, points: &[ListPoint], goal: &Goal) -> Reading {
    let measured: Vec<(&ListPoint, f64)> = points
        .iter()
        .filter_map(|point| Some((point, point.hand_written.as_ref()?.throughput)))
        .collect();
    let figure = |(point, reference): &(&ListPoint, f64)| rates(point.api.throughput, *reference);
    let Some(worst) = worst(&measured, figure, goal) else {
        return Reading::not_measured(label);
    };
    let figures: Vec<Figure> = measured.iter().map(figure).collect();
    Reading {
        target: label,
        measured: format!(
            "{} of {} met; worst `{}` page {}: {:.0} req/s",
            figures.iter().filter(|f| goal.met(f)).count(),
            figures.len(),
            short(&worst.0.query),
            worst.0.pages_in + 1,
            worst.0.api.throughput,
        ),
        reference: format!("hand-written {:.0}/s", worst.1),
        ratio: worst.0.hand_written_ratio(),
        figures,
    }
}

/// Each listing's deep page's rate as a share of its first page's, beside
/// the same share of pgbench's rates for the two statements.
fn deep_page_cost(label: String, points: &[ListPoint], goal: &Goal) -> Reading {
    let pairs: Vec<(&ListPoint, &ListPoint)> = points
        .iter()
        .filter(|p| !p.is_first())
        .filter_map(|deep| {
            let first = points
                .iter()
                .find(|p| p.is_first() && p.query == deep.query)?;
            Some((first, deep))
        })
        .collect();
    let share = |first: f64, deep: f64| if first > 0.0 { deep / first } else { 0.0 };
    let figure = |(first, deep): &(&ListPoint, &ListPoint)| {
        rates(
            share(first.api.throughput, deep.api.throughput),
            share(first.ceiling.throughput, deep.ceiling.throughput),
        )
    };
    let Some(worst) = worst(&pairs, figure, goal) else {
        return Reading::not_measured(label);
    };
    let figures: Vec<Figure> = pairs.iter().map(figure).collect();
    let (first, deep) = worst;
    Reading {
        target: label,
        measured: format!(
            "{} of {} met; worst `{}` page {}: {:.0} req/s, its first page {:.0} req/s",
            figures.iter().filter(|f| goal.met(f)).count(),
            figures.len(),
            short(&deep.query),
            deep.pages_in + 1,
            deep.api.throughput,
            first.api.throughput,
        ),
        reference: format!(
            "pgbench: deep {:.0}/s, first {:.0}/s ({:.2}×)",
            deep.ceiling.throughput,
            first.ceiling.throughput,
            figure(worst).reference,
        ),
        ratio: Some(figure(worst).value),
        figures,
    }
}

fn short(query: &str) -> &str {
    query.strip_prefix("/api/todo?").unwrap_or(query)
}

/// The durability checks of every create run on PostgreSQL.
fn durability(label: String, points: &[WorkloadPoint]) -> Reading {
    let checks: Vec<_> = points
        .iter()
        .filter_map(|p| p.durability.as_ref())
        .collect();
    let Some(first) = checks.first() else {
        return Reading::not_measured(label);
    };
    let acked: u64 = checks.iter().map(|d| d.acked).sum();
    let rows: i64 = checks.iter().map(|d| d.rows_added).sum();
    Reading {
        target: label,
        measured: format!("{acked} answered 201, {rows} rows committed"),
        reference: format!(
            "synchronous_commit={}, fsync={}{}",
            first.synchronous_commit,
            first.fsync,
            if checks.iter().any(|d| d.commit_settings_changed) {
                ", changed by the service"
            } else {
                ""
            }
        ),
        ratio: None,
        figures: checks.iter().map(|d| whole(d.holds())).collect(),
    }
}

fn whole(whole: bool) -> Figure {
    Figure {
        whole,
        ..Figure::default()
    }
}

/// Whether a scenario's every request succeeded and was verified.
fn complete(result: &ScenarioResult) -> bool {
    result.actual == result.expected && result.verification.ok
}

/// Each row of the scenario table with the database far away.
fn distant_scenarios(label: String, part: Option<&DistantPart>) -> Reading {
    let Some(part) = part.filter(|p| !p.scenarios.is_empty()) else {
        return Reading::not_measured(label);
    };
    let ok = part.scenarios.iter().filter(|r| complete(r)).count();
    let mut measured = format!("{ok} of {} rows at 100%", part.scenarios.len());
    if let Some(worst) = part
        .scenarios
        .iter()
        .min_by(|a, b| a.success_percent.total_cmp(&b.success_percent))
    {
        let _ = write!(
            measured,
            "; lowest {} {:.1}%",
            worst.scenario.name, worst.success_percent
        );
    }
    Reading {
        measured,
        figures: part.scenarios.iter().map(|r| whole(complete(r))).collect(),
        ..Reading::not_measured(label)
    }
}

/// Creates from many clients with the database far away, beside pgbench's
/// single-row INSERT through the same proxy.
fn distant_creates(label: String, part: Option<&DistantPart>) -> Reading {
    let Some(report) = part.and_then(|p| p.creates.as_ref()) else {
        return Reading::not_measured(label);
    };
    let reference = part.and_then(|p| p.reference.as_ref());
    let reference_rate = reference.map_or(0.0, |r| r.throughput);
    Reading {
        target: label,
        measured: format!(
            "{:.0} req/s, {:.2}% ok, p99 {:.0} ms",
            report.throughput, report.success_percent, report.latency.p99_ms
        ),
        reference: reference.map_or("–".to_owned(), |r| {
            format!("pgbench INSERT via the proxy {:.0}/s", r.throughput)
        }),
        ratio: (reference_rate > 0.0).then(|| report.throughput / reference_rate),
        figures: vec![rates(report.throughput, reference_rate)],
    }
}

/// Every client of the Scale Test at once.
fn scale_test(label: String, part: Option<&ConcurrencyPart>) -> Reading {
    let Some(result) = part.and_then(|p| p.scale.as_ref()) else {
        return Reading::not_measured(label);
    };
    Reading {
        measured: format!(
            "{:.1}% ({} of {}), p99 {:.0} ms",
            result.success_percent, result.actual, result.expected, result.latency.p99_ms
        ),
        figures: vec![whole(complete(result))],
        ..Reading::not_measured(label)
    }
}

/// The service's memory with many idle connections, in bytes.
fn idle_memory(label: String, part: Option<&ConcurrencyPart>) -> Reading {
    let Some(idle) = part.and_then(|p| p.idle.as_ref()) else {
        return Reading::not_measured(label);
    };
    let mb = |kib: u64| kib as f64 * 1024.0 / 1e6;
    Reading {
        target: label,
        measured: format!(
            "{:.1} MB ({} of {} open)",
            mb(idle.rss_idle_kib),
            idle.open_when_read,
            idle.connections
        ),
        reference: format!("{:.1} MB before the connections", mb(idle.rss_before_kib)),
        ratio: None,
        figures: vec![Figure {
            value: idle.rss_idle_kib as f64 * 1024.0,
            reference: 0.0,
            whole: idle.open_when_read == idle.connections,
        }],
    }
}

/// Bulk creates at the best of the concurrencies tried, beside pgbench's
/// best 1,000-row INSERT.
fn bulk_rows(label: String, points: &[BulkRowsPoint]) -> Reading {
    let Some(best) = points
        .iter()
        .max_by(|a, b| a.rows_per_second.total_cmp(&b.rows_per_second))
    else {
        return Reading::not_measured(label);
    };
    let each: Vec<String> = points
        .iter()
        .map(|p| format!("{}: {:.0}", p.clients, p.rows_per_second))
        .collect();
    let reference = points
        .iter()
        .map(|p| p.reference.throughput)
        .fold(0.0, f64::max);
    Reading {
        target: label,
        measured: format!(
            "best {:.0} rows/s at {} clients (each: {})",
            best.rows_per_second,
            best.clients,
            each.join(", ")
        ),
        reference: format!("pgbench 1,000-row INSERT, best {reference:.0} rows/s"),
        ratio: (reference > 0.0).then(|| best.rows_per_second / reference),
        figures: vec![rates(best.rows_per_second, reference)],
    }
}
