//! Background upkeep: removing expired idempotency keys and the change
//! log's old deletes, in small batches
//! (see the stores), so requests are never stalled by it; folding recorded
//! latencies into the metrics' histograms.

use std::sync::Arc;
use std::time::Duration;

use todo_core::TodoStore;

use crate::http::state::AppState;
use crate::metrics::Metrics;

/// How often expired keys are looked for.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// How often recorded latencies are folded into their histograms: at
/// tens of thousands of requests a second, a few megabytes of samples.
pub const METRICS_FOLD_INTERVAL: Duration = Duration::from_secs(5);

/// Purges keys older than `ttl` now and then every [`PURGE_INTERVAL`],
/// until the returned task is aborted.
pub fn spawn_key_purge(store: Arc<dyn TodoStore>, ttl: Duration) -> tokio::task::JoinHandle<()> {
    spawn_purge(store, ttl, Purged::IdempotencyKeys)
}

/// Purges the change log's tombstones of deletes older than `retention`
/// now and then every [`PURGE_INTERVAL`], until the returned task is
/// aborted.
pub fn spawn_tombstone_purge(
    store: Arc<dyn TodoStore>,
    retention: Duration,
) -> tokio::task::JoinHandle<()> {
    spawn_purge(store, retention, Purged::Tombstones)
}

/// What a purge removes.
#[derive(Debug, Clone, Copy)]
enum Purged {
    IdempotencyKeys,
    Tombstones,
}

/// Purges what is older than `age` now and then every [`PURGE_INTERVAL`].
fn spawn_purge(
    store: Arc<dyn TodoStore>,
    age: Duration,
    purged: Purged,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PURGE_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Ok(age) = chrono::Duration::from_std(age) else {
                return;
            };
            let cutoff = todo_core::now() - age;
            let outcome = match purged {
                Purged::IdempotencyKeys => store.purge_idempotency_keys(cutoff).await,
                Purged::Tombstones => store.purge_tombstones(cutoff).await,
            };
            match (outcome, purged) {
                (Ok(0), _) => {}
                (Ok(count), Purged::IdempotencyKeys) => {
                    tracing::info!(purged = count, "expired idempotency keys removed")
                }
                (Ok(count), Purged::Tombstones) => {
                    tracing::info!(purged = count, "old deletes removed from the change log")
                }
                (Err(error), _) => {
                    tracing::warn!(%error, what = ?purged, "cannot purge; will retry")
                }
            }
        }
    })
}

/// Folds the latencies recorded into `metrics` every
/// [`METRICS_FOLD_INTERVAL`], until the returned task is aborted, so that a
/// service nobody scrapes does not keep every sample.
pub fn spawn_metrics_fold(metrics: Metrics) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(METRICS_FOLD_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            metrics.fold_samples();
        }
    })
}

/// How often the rate limiter forgets clients whose quota is whole again.
pub const RATE_LIMIT_UPKEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Keeps the rate limiter's memory to the clients seen lately, every
/// [`RATE_LIMIT_UPKEEP_INTERVAL`], until the returned task is aborted.
pub fn spawn_rate_limit_upkeep(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(RATE_LIMIT_UPKEEP_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Some(limits) = &state.rate_limits {
                limits.forget_idle();
            }
        }
    })
}
