//! The change feed's figures (targets 10 and 11, `changes.json`): the
//! catch-up beside the listing, the memory of the open streams, the delay
//! from a write to its events.

use super::Figure;
use super::reading::Reading;
use crate::parts::changes::{ChangesPart, FanOutPoint};
use crate::results::Round;

/// A row per backend: the median round's rates, changes over listing.
pub(super) fn catch_up(label: String, part: Option<&ChangesPart>) -> Vec<Reading> {
    let Some(part) = part.filter(|part| !part.catch_up.is_empty()) else {
        return vec![Reading::not_measured(label)];
    };
    let mut backends: Vec<&str> = part.catch_up.iter().map(|p| p.backend.as_str()).collect();
    backends.dedup();
    backends
        .into_iter()
        .map(|backend| {
            let mut rounds: Vec<_> = part
                .catch_up
                .iter()
                .filter(|point| point.backend == backend)
                .collect();
            rounds.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
            let median = rounds[rounds.len() / 2];
            Reading {
                target: format!("{label}, {backend}"),
                measured: format!(
                    "{:.0} rows/s (median of {} rounds)",
                    median.changes_rows_per_second,
                    rounds.len()
                ),
                reference: format!("{:.0} rows/s", median.listing_rows_per_second),
                ratio: Some(
                    Round::of(
                        median.changes_rows_per_second,
                        median.listing_rows_per_second,
                    )
                    .ratio,
                ),
                figures: vec![Figure {
                    value: median.changes_rows_per_second,
                    reference: median.listing_rows_per_second,
                    whole: true,
                }],
            }
        })
        .collect()
}

fn fan_out<'a>(part: Option<&'a ChangesPart>, topology: &str) -> Option<&'a FanOutPoint> {
    part?
        .fan_out
        .iter()
        .find(|point| point.topology == topology)
}

/// The RSS of the instance holding the streams, one instance.
pub(super) fn streams_memory(label: String, part: Option<&ChangesPart>) -> Reading {
    let Some(point) = fan_out(part, "one instance") else {
        return Reading::not_measured(label);
    };
    Reading {
        target: label,
        measured: format!(
            "{:.1} MB ({} streams)",
            point.rss_kib as f64 * 1024.0 / 1e6,
            point.streams
        ),
        figures: vec![Figure {
            value: point.rss_kib as f64 * 1024.0,
            reference: 0.0,
            whole: point.streams > 0,
        }],
        ..Reading::not_measured(String::new())
    }
}

/// p99 of the delay from a write's `created_at` to its event.
pub(super) fn stream_delay(label: String, part: Option<&ChangesPart>, topology: &str) -> Reading {
    let Some(point) = fan_out(part, topology) else {
        return Reading::not_measured(label);
    };
    Reading {
        target: label,
        measured: format!(
            "p99 {:.1} ms, p50 {:.1} ms, max {:.1} ms ({} of {} events)",
            point.delay.p99_ms,
            point.delay.p50_ms,
            point.delay.max_ms,
            point.events_received,
            point.events_expected
        ),
        reference: format!("{} streams, {} writes", point.streams, point.writes),
        ratio: None,
        figures: vec![Figure {
            value: point.delay.p99_ms,
            reference: 0.0,
            whole: point.events_expected > 0 && point.events_received == point.events_expected,
        }],
    }
}
