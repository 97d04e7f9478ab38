//! The state every handler shares.

use std::sync::Arc;

use todo_core::TodoStore;

use crate::config::Config;

/// What handlers read: the store and the settings of the HTTP layer.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn TodoStore>,
    pub settings: Arc<HttpSettings>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The settings handlers consult.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_bulk_items: usize,
    pub bulk_endpoints: bool,
    pub max_body_bytes: usize,
}

impl HttpSettings {
    pub fn from_config(config: &Config) -> Self {
        HttpSettings {
            max_bulk_items: config.max_bulk_items as usize,
            bulk_endpoints: config.bulk_endpoints,
            max_body_bytes: config.max_body_bytes,
        }
    }
}

impl AppState {
    pub fn new(store: Arc<dyn TodoStore>, config: &Config) -> Self {
        AppState {
            store,
            settings: Arc::new(HttpSettings::from_config(config)),
        }
    }
}
