//! A progress bar on standard error while a run lasts, only when standard
//! error is a terminal; silent otherwise, so scripts and logs stay clean.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// The bar and the task that updates it.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// A bar over `duration`, counting `done` requests, if `wanted` and
    /// standard error is a terminal.
    pub fn new(wanted: bool, duration: Duration, done: Arc<AtomicU64>) -> Progress {
        if !wanted || !std::io::stderr().is_terminal() {
            return Progress {
                bar: None,
                ticker: None,
            };
        }
        let bar = ProgressBar::new(duration.as_secs().max(1));
        if let Ok(style) =
            ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} s  {msg}")
        {
            bar.set_style(style);
        }
        let shown = bar.clone();
        let started = std::time::Instant::now();
        let ticker = tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(250));
            loop {
                interval.tick().await;
                let elapsed = started.elapsed();
                let count = done.load(Ordering::Relaxed);
                shown.set_position(elapsed.as_secs());
                shown.set_message(format!(
                    "{count} ok, {:.0} req/s",
                    count as f64 / elapsed.as_secs_f64().max(0.001)
                ));
            }
        });
        Progress {
            bar: Some(bar),
            ticker: Some(ticker),
        }
    }

    pub fn finish(self) {
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
