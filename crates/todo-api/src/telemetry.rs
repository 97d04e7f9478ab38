//! Logging: `tracing` to standard error, filtered by `RUST_LOG`, as text
//! lines or JSON lines (`LOG_FORMAT`). The per-request line is written by
//! the HTTP layer (`http/observe.rs`).

mod log_output;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub use log_output::LogFlusher;

use crate::config::LogFormat;

/// The filter when `RUST_LOG` is unset or unreadable.
const DEFAULT_FILTER: &str = "info";

/// Installs the global subscriber; `RUST_LOG` overrides the default filter.
/// Lines are written in batches by a thread of their own (`log_output`),
/// so a request never waits on standard error; the returned flusher writes
/// what is left when it is dropped, at exit.
pub fn init(format: LogFormat) -> LogFlusher {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let (writer, flusher) = log_output::batched(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a person at a terminal, never in a log file.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.init(),
        // The event's fields at the top level and the request span's
        // fields (method, route, request id) beside them, so a log
        // collector can index every line without unnesting.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    flusher
}
