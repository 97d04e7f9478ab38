//! The change feed's metrics: open streams, events sent, reads of the log
//! by the streams, and how late other instances' notifications arrive.

use metrics::{Counter, Gauge, Histogram, Unit};

use super::Metrics;

/// Event streams open now.
pub const EVENT_STREAMS_OPEN: &str = "todo_event_streams_open";
/// Events sent on the event streams.
pub const EVENTS_SENT: &str = "todo_events_sent_total";
/// Reads of the change log by the event streams, catching up or woken by
/// a change.
pub const EVENT_STREAM_LOG_READS: &str = "todo_event_stream_log_reads_total";
/// Event streams ended because their client stopped reading.
pub const EVENT_STREAMS_DROPPED_SLOW: &str = "todo_event_streams_dropped_slow_total";
/// Time from another instance's announcement of a change to its arrival.
pub const CHANGE_NOTIFICATION_LAG: &str = "todo_change_notification_lag_seconds";

/// Upper bounds of the notification lag histogram's buckets, in seconds.
pub(super) const LAG_BUCKETS: [f64; 10] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Handles of the feed's series, registered once.
#[derive(Clone)]
pub struct FeedMetrics {
    pub streams_open: Gauge,
    pub events_sent: Counter,
    pub log_reads: Counter,
    pub dropped_slow: Counter,
    pub notification_lag: Histogram,
}

impl std::fmt::Debug for FeedMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedMetrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The feed's series in this registry.
    pub fn feed(&self) -> FeedMetrics {
        self.record(|| {
            metrics::describe_gauge!(EVENT_STREAMS_OPEN, "Event streams open now");
            metrics::describe_counter!(EVENTS_SENT, "Events sent on the event streams");
            metrics::describe_counter!(
                EVENT_STREAM_LOG_READS,
                "Reads of the change log by the event streams"
            );
            metrics::describe_counter!(
                EVENT_STREAMS_DROPPED_SLOW,
                "Event streams ended because their client stopped reading"
            );
            metrics::describe_histogram!(
                CHANGE_NOTIFICATION_LAG,
                Unit::Seconds,
                "Time from another instance's announcement of a change to its arrival here"
            );
            FeedMetrics {
                streams_open: metrics::gauge!(EVENT_STREAMS_OPEN),
                events_sent: metrics::counter!(EVENTS_SENT),
                log_reads: metrics::counter!(EVENT_STREAM_LOG_READS),
                dropped_slow: metrics::counter!(EVENT_STREAMS_DROPPED_SLOW),
                notification_lag: metrics::histogram!(CHANGE_NOTIFICATION_LAG),
            }
        })
    }
}
