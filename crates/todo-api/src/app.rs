//! The app, assembled in one place: the state (store, settings, who may
//! call the API and how often, admission control, metrics, the API's
//! description), the observers wired to the store, and the router with its
//! layers. `main` serves what [`build_app`] returns; the tests drive the
//! same.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::Router;
use secrecy::ExposeSecret;
use todo_core::TodoStore;
use tokio::sync::Semaphore;

use crate::change_hub::ChangeHub;
use crate::config::{Config, JwtKeySource, UserSettingsError};
use crate::http::auth::{
    AccessTokens, Authenticator, Jwks, JwtKeyError, JwtKeys, JwtSettings, JwtVerifier,
};
use crate::http::rate_limit::RateLimits;
use crate::http::state::{AppState, HttpSettings, Lifecycle, SharedState};
use crate::http::{Admission, AdmissionLimits, openapi_document, router};
use crate::metrics::Metrics;

/// The service over one store: its router, and the state behind it for
/// what runs beside the router (shutdown, maintenance).
#[derive(Debug)]
pub struct App {
    pub router: Router,
    pub state: AppState,
}

/// Why the app cannot be built; the service does not start.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Users(#[from] UserSettingsError),
    #[error(transparent)]
    JwtKey(#[from] JwtKeyError),
}

/// Builds the service over `store` as `config` sets it. With a JWKS URL,
/// the identity provider's keys are fetched first.
pub async fn build_app(store: Arc<dyn TodoStore>, config: &Config) -> Result<App, AppError> {
    let settings = HttpSettings::from_config(config);
    let metrics = Metrics::new();
    // The store reports the groups it serves to the metrics.
    store.observe_groups(Arc::new(metrics.clone()));
    // And the changes it commits, here and on other instances, to the
    // event streams.
    let hub = ChangeHub::new(metrics.feed());
    store.follow_changes(hub.clone());
    let auth = Authenticator::new(
        AccessTokens::new(&config.users.tokens()),
        jwt_verifier(config).await?,
    );
    let rate_limits = config.users.rate_limit().and_then(|(rate, burst)| {
        Some(RateLimits::new(
            NonZeroU32::new(rate)?,
            NonZeroU32::new(burst)?,
            config.users.trusted_proxies.clone(),
        ))
    });
    let state = AppState::new(SharedState {
        store,
        openapi: Arc::new(openapi_document(&settings, auth.required())),
        settings: Arc::new(settings),
        auth,
        rate_limits,
        admission: Admission::new(AdmissionLimits {
            max_in_flight: config.max_in_flight as usize,
            max_queued: config.max_queued_requests as usize,
            request_timeout: config.request_timeout(),
            max_uri_bytes: config.max_uri_bytes,
        }),
        lifecycle: Arc::new(Lifecycle::default()),
        metrics,
        hub,
        streams: Arc::new(Semaphore::new(config.changes.max_event_streams as usize)),
    });
    Ok(App {
        router: router(state.clone()),
        state,
    })
}

/// The JWT verifier `config` asks for, if any.
async fn jwt_verifier(config: &Config) -> Result<Option<JwtVerifier>, AppError> {
    let keys = match config.users.jwt_key_source()? {
        None => return Ok(None),
        Some(JwtKeySource::Secret(secret)) => JwtKeys::secret(secret.expose_secret().as_bytes())?,
        Some(JwtKeySource::PublicKeyFile(path)) => JwtKeys::public_key_file(path)?,
        Some(JwtKeySource::JwksUrl(url)) => {
            JwtKeys::Jwks(Jwks::fetch_at_start(url.to_owned()).await)
        }
    };
    let (issuer, audience) = config.users.jwt_claims();
    Ok(Some(JwtVerifier::new(
        keys,
        JwtSettings { issuer, audience },
    )))
}
