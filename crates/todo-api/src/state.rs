//! The state every handler shares.

use std::sync::Arc;

use todo_core::TodoStore;
use utoipa::openapi::OpenApi;

use crate::config::Config;
use crate::metrics::Metrics;

/// What handlers read: the store, the settings of the HTTP layer, the
/// metrics registry and the API's description.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn TodoStore>,
    pub settings: Arc<HttpSettings>,
    pub metrics: Metrics,
    /// The description of exactly the routes these settings serve.
    pub openapi: Arc<OpenApi>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The settings the HTTP layer consults.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_bulk_items: usize,
    pub bulk_endpoints: bool,
    pub max_body_bytes: usize,
    /// Origins allowed to call the API from a browser; empty for none.
    pub cors_origins: Vec<String>,
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
        }
    }
}

impl AppState {
    pub fn new(store: Arc<dyn TodoStore>, config: &Config) -> Self {
        let settings = HttpSettings::from_config(config);
        AppState {
            store,
            openapi: Arc::new(crate::http::openapi_document(&settings)),
            settings: Arc::new(settings),
            metrics: Metrics::new(),
        }
    }
}
