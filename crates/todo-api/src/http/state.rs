//! The state every handler and middleware shares. `app.rs` builds it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::time::Duration;

use todo_core::TodoStore;
use tokio::sync::{Semaphore, watch};
use utoipa::openapi::OpenApi;

use super::admission::Admission;
use super::auth::Authenticator;
use super::rate_limit::RateLimits;
use crate::change_hub::ChangeHub;
use crate::config::Config;
use crate::metrics::Metrics;

/// What handlers and middleware read (the fields of [`SharedState`]).
/// Every request clones it, so it is one reference count, not one per
/// field.
#[derive(Clone, Debug)]
pub struct AppState(Arc<SharedState>);

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

/// The store, the settings of the HTTP layer, who may call the API and how
/// often, admission control, the service's lifecycle, the metrics registry
/// and the API's description.
pub struct SharedState {
    pub store: Arc<dyn TodoStore>,
    pub settings: Arc<HttpSettings>,
    pub auth: Authenticator,
    /// `None` when requests are not limited.
    pub rate_limits: Option<RateLimits>,
    pub admission: Admission,
    pub lifecycle: Arc<Lifecycle>,
    pub metrics: Metrics,
    /// The description of exactly the routes these settings serve.
    pub openapi: Arc<OpenApi>,
    /// Wakes the event streams when their user's log grows.
    pub hub: Arc<ChangeHub>,
    /// One permit per event stream that may be open (`MAX_EVENT_STREAMS`).
    pub streams: Arc<Semaphore>,
}

impl std::fmt::Debug for SharedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedState")
            .field("settings", &self.settings)
            .field("auth", &self.auth)
            .field("rate_limits", &self.rate_limits)
            .finish_non_exhaustive()
    }
}

/// The settings handlers consult.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_bulk_items: usize,
    pub bulk_endpoints: bool,
    pub max_body_bytes: usize,
    /// Origins allowed to call the API from a browser; empty for none.
    pub cors_origins: Vec<String>,
    /// How often an idle event stream sends a comment line.
    pub events_heartbeat: Duration,
    /// How often an event stream reads the log unprompted.
    pub events_poll: Duration,
    /// How long an event stream waits for a client that stopped reading.
    pub events_send_timeout: Duration,
}

impl HttpSettings {
    pub fn from_config(config: &Config) -> Self {
        HttpSettings {
            max_bulk_items: config.max_bulk_items as usize,
            bulk_endpoints: config.bulk_endpoints,
            max_body_bytes: config.max_body_bytes,
            cors_origins: config
                .cors_origins()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            events_heartbeat: config.changes.heartbeat(),
            events_poll: config.changes.poll_interval(),
            events_send_timeout: config.changes.send_timeout(),
        }
    }
}

/// Where the service is in its life: serving, draining before it stops,
/// or stopping (the event streams end).
#[derive(Debug)]
pub struct Lifecycle {
    draining: AtomicBool,
    streams_ending: watch::Sender<bool>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            draining: AtomicBool::new(false),
            streams_ending: watch::channel(false).0,
        }
    }
}

impl Lifecycle {
    /// From now on `/ready` answers 503, so load balancers stop sending.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Ends every event stream, cleanly, so their clients reconnect to
    /// another instance: the server stops now.
    pub fn end_streams(&self) {
        self.streams_ending.send_replace(true);
    }

    /// Turns true when the event streams must end.
    pub fn streams_ending(&self) -> watch::Receiver<bool> {
        self.streams_ending.subscribe()
    }
}

impl AppState {
    pub fn new(shared: SharedState) -> Self {
        AppState(Arc::new(shared))
    }
}
