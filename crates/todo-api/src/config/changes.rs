//! The settings of the change log and its live streams (API.md, "Changes").

use std::time::Duration;

use clap::Args;

/// How long the log keeps deletes, and how the event streams behave.
#[derive(Debug, Clone, Args)]
pub struct ChangeFeedSettings {
    /// How long deletes stay in the change log, in days; a cursor from
    /// before a purged delete is answered 410 (start again from scratch).
    #[arg(long, env = "CHANGES_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub changes_retention_days: u32,

    /// Most event streams (`GET /api/todo/events`) open at once on this
    /// instance; more are answered 503.
    #[arg(long, env = "MAX_EVENT_STREAMS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_event_streams: u32,

    /// How often an idle event stream sends a comment line, so proxies
    /// keep it open, in milliseconds.
    #[arg(long, env = "EVENTS_HEARTBEAT_MS", default_value_t = 15_000, value_parser = clap::value_parser!(u64).range(10..))]
    pub events_heartbeat_ms: u64,

    /// How often an event stream reads the log even when no notification
    /// told it of a change (a notification lost with an instance that died
    /// between its commit and its announcement), in milliseconds.
    #[arg(long, env = "EVENTS_POLL_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(10..))]
    pub events_poll_ms: u64,

    /// How long an event stream waits for a client that stopped reading
    /// before it drops the stream and its connection, in milliseconds.
    #[arg(long, env = "EVENTS_SEND_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(10..))]
    pub events_send_timeout_ms: u64,
}

impl ChangeFeedSettings {
    /// How long tombstones are kept.
    pub fn retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.changes_retention_days) * 24 * 3600)
    }

    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.events_heartbeat_ms)
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.events_poll_ms)
    }

    pub fn send_timeout(&self) -> Duration {
        Duration::from_millis(self.events_send_timeout_ms)
    }
}
