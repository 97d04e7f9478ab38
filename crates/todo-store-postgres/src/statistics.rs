//! Fresh planner statistics after bulk changes. PostgreSQL's autovacuum
//! analyzes a table once a tenth of it has changed, but up to a minute
//! later; until then the planner plans for the table as it was. Right
//! after 10,000 todos arrived in bulk in an empty table, it fetched every
//! matching row and sorted them for a page of 20, a sixth of the rate with
//! statistics (BENCHMARKS.md). So the store counts the rows its bulk
//! operations change and, once they are a large share of the table, asks
//! for `ANALYZE` itself, in the background, one at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::db::Db;

/// Rows changed in bulk before the table's size is even looked at.
const MIN_CHANGED_ROWS: u64 = 500;

/// The share of the table's rows (as last counted by PostgreSQL) that,
/// once changed in bulk, calls for `ANALYZE`: autovacuum's own default.
const ANALYZE_SHARE: f64 = 0.1;

/// Rows changed in bulk since the last `ANALYZE` this store asked for.
#[derive(Debug, Default)]
pub(crate) struct Statistics {
    changed: AtomicU64,
    analyzing: AtomicBool,
}

impl Statistics {
    /// Counts `rows` changed by a bulk operation that committed; analyzes
    /// the table in the background when they are a large share of it.
    pub(crate) fn changed(self: &Arc<Self>, db: &Db, rows: u64) {
        let changed = self.changed.fetch_add(rows, Ordering::Relaxed) + rows;
        if changed < MIN_CHANGED_ROWS
            || self
                .analyzing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let statistics = Arc::clone(self);
        let db = db.clone();
        tokio::spawn(async move {
            match db
                .analyze_if_changed(&statistics.changed, ANALYZE_SHARE)
                .await
            {
                Ok(true) => tracing::debug!("analyzed todos after a bulk change"),
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "cannot analyze todos after a bulk change"),
            }
            statistics.analyzing.store(false, Ordering::Release);
        });
    }
}
