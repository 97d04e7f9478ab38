//! Admission control: at most `MAX_IN_FLIGHT` requests are handled at once,
//! at most `MAX_QUEUED_REQUESTS` wait for a slot, and none takes longer
//! than `REQUEST_TIMEOUT_MS` from arrival to answer. Past those bounds the
//! answer is an immediate 503 with `Retry-After`, so overload sheds load
//! instead of piling up memory, while a burst the service can absorb waits
//! its turn and succeeds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::error::ApiError;

/// The shared bounds and counters of admission control.
#[derive(Debug, Clone)]
pub struct Admission(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    slots: Semaphore,
    max_in_flight: usize,
    queued: AtomicUsize,
    max_queued: usize,
    timeout: Duration,
    max_uri_bytes: usize,
}

/// Limits of admission control.
#[derive(Debug, Clone, Copy)]
pub struct AdmissionLimits {
    pub max_in_flight: usize,
    pub max_queued: usize,
    pub request_timeout: Duration,
    pub max_uri_bytes: usize,
}

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Self {
        Admission(Arc::new(Inner {
            slots: Semaphore::new(limits.max_in_flight),
            max_in_flight: limits.max_in_flight,
            queued: AtomicUsize::new(0),
            max_queued: limits.max_queued,
            timeout: limits.request_timeout,
            max_uri_bytes: limits.max_uri_bytes,
        }))
    }

    /// Requests holding a slot now.
    pub fn in_flight(&self) -> usize {
        self.0.max_in_flight - self.0.slots.available_permits()
    }

    /// Requests waiting for a slot now.
    pub fn queued(&self) -> usize {
        self.0.queued.load(Ordering::Relaxed)
    }
}

/// Counts a request as queued for as long as it waits, however the wait
/// ends (a client that hangs up drops the future).
struct QueuedGuard<'a>(&'a AtomicUsize);

impl Drop for QueuedGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Admission {
    /// Runs `request` once it has a slot. Answers 503 instead when too many
    /// requests wait already, when no slot frees up in time or when the
    /// answer takes longer than the request timeout (414 for a URI too long).
    pub async fn admit(&self, request: Request, next: Next) -> Response {
        let inner = &self.0;
        let deadline = Instant::now() + inner.timeout;
        let target_len = request
            .uri()
            .path_and_query()
            .map_or(0, |target| target.as_str().len());
        if target_len > inner.max_uri_bytes {
            return ApiError::UriTooLong.into_response();
        }
        let _slot = match inner.slots.try_acquire() {
            Ok(slot) => slot,
            Err(_) => {
                if inner.queued.fetch_add(1, Ordering::Relaxed) >= inner.max_queued {
                    inner.queued.fetch_sub(1, Ordering::Relaxed);
                    tracing::warn!("request queue full; shedding");
                    return ApiError::Overloaded.into_response();
                }
                let _queued = QueuedGuard(&inner.queued);
                match tokio::time::timeout_at(deadline, inner.slots.acquire()).await {
                    Ok(Ok(slot)) => slot,
                    _ => {
                        tracing::warn!("no request slot freed up in time; shedding");
                        return ApiError::Overloaded.into_response();
                    }
                }
            }
        };
        match tokio::time::timeout_at(deadline, next.run(request)).await {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(
                    timeout_ms = inner.timeout.as_millis() as u64,
                    "request timed out"
                );
                ApiError::TimedOut.into_response()
            }
        }
    }
}
