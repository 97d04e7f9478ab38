//! The app, assembled in one place: the state (store, settings, access
//! tokens, admission control, metrics, the API's description), the
//! observers wired to the store, and the router with its layers. `main`
//! serves what [`build_app`] returns; the tests drive the same.

use std::sync::Arc;

use axum::Router;
use todo_core::TodoStore;

use crate::config::Config;
use crate::http::state::{AppState, HttpSettings, Lifecycle, SharedState};
use crate::http::{AccessTokens, Admission, AdmissionLimits, openapi_document, router};
use crate::metrics::Metrics;

/// The service over one store: its router, and the state behind it for
/// what runs beside the router (shutdown, maintenance).
#[derive(Debug)]
pub struct App {
    pub router: Router,
    pub state: AppState,
}

/// Builds the service over `store` as `config` sets it.
pub fn build_app(store: Arc<dyn TodoStore>, config: &Config) -> App {
    let settings = HttpSettings::from_config(config);
    let metrics = Metrics::new();
    // The store reports the groups it serves to the metrics.
    store.observe_groups(Arc::new(metrics.clone()));
    let state = AppState::new(SharedState {
        store,
        openapi: Arc::new(openapi_document(&settings)),
        settings: Arc::new(settings),
        tokens: AccessTokens::new(&config.tokens()),
        admission: Admission::new(AdmissionLimits {
            max_in_flight: config.max_in_flight as usize,
            max_queued: config.max_queued_requests as usize,
            request_timeout: config.request_timeout(),
            max_uri_bytes: config.max_uri_bytes,
        }),
        lifecycle: Arc::new(Lifecycle::default()),
        metrics,
    });
    App {
        router: router(state.clone()),
        state,
    }
}
