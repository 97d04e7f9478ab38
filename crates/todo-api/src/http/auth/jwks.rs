//! An identity provider's keys (`JWT_JWKS_URL`: Keycloak, Auth0, Supabase
//! and others publish their signing keys as a JWKS). Fetched at start and
//! kept; fetched again when a token names a key id not among them (a key
//! rotation), at most once a minute, so a flood of forged key ids cannot
//! turn the service against the provider. While the provider is down or
//! slow, the keys already fetched keep serving.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Shortest time between two fetches of the key set.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// Longest a fetch may take; a request waiting for it is answered 401
/// after at most this.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// A verification key and the one algorithm it is taken for.
type Key = (DecodingKey, Algorithm);

/// The key set of one provider.
pub struct Jwks {
    url: String,
    client: reqwest::Client,
    keys: RwLock<Arc<HashMap<String, Key>>>,
    /// Shortest time between two fetches ([`REFETCH_INTERVAL`]).
    refetch_interval: Duration,
    /// When the set was last fetched (or tried); held during a fetch, so
    /// requests for an unknown key wait for the one fetch under way.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("url", &self.url)
            .field("keys", &self.current().len())
            .finish_non_exhaustive()
    }
}

/// Why a fetch of the key set failed.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("cannot fetch the key set: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the key set is not a JWKS: {0}")]
    Json(#[from] serde_json::Error),
}

impl Jwks {
    /// The key set at `url`, fetched now. A provider that cannot be reached
    /// is logged, not fatal: its keys are fetched again when a token needs
    /// them.
    pub async fn fetch_at_start(url: String) -> Jwks {
        Jwks::fetch_with_interval(url, REFETCH_INTERVAL).await
    }

    async fn fetch_with_interval(url: String, refetch_interval: Duration) -> Jwks {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .unwrap_or_default();
        let jwks = Jwks {
            url,
            client,
            keys: RwLock::new(Arc::new(HashMap::new())),
            refetch_interval,
            last_fetch: tokio::sync::Mutex::new(None),
        };
        jwks.refetch_if_due().await;
        jwks
    }

    fn current(&self) -> Arc<HashMap<String, Key>> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The key named `kid` (a token without one may use the only key of a
    /// set of one), fetching the set again if it is not known and the last
    /// fetch was long enough ago; none when no key of the provider has it.
    pub async fn key(&self, kid: Option<&str>) -> Option<Key> {
        if let Some(key) = lookup(&self.current(), kid) {
            return Some(key);
        }
        self.refetch_if_due().await;
        lookup(&self.current(), kid)
    }

    async fn refetch_if_due(&self) {
        let mut last_fetch = self.last_fetch.lock().await;
        if last_fetch.is_some_and(|at| at.elapsed() < self.refetch_interval) {
            return;
        }
        *last_fetch = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), url = %self.url, "identity provider keys fetched");
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
            }
            Err(error) => {
                tracing::warn!(%error, url = %self.url, "identity provider keys not fetched; the keys already known keep serving");
            }
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, Key>, FetchError> {
        let body = self
            .client
            .get(&self.url)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let set: JwkSet = serde_json::from_slice(&body)?;
        Ok(usable_keys(&set))
    }
}

/// The keys of `set` that sign tokens with an algorithm the service takes
/// (RS256, ES256, EdDSA), by key id.
fn usable_keys(set: &JwkSet) -> HashMap<String, Key> {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            if matches!(jwk.common.public_key_use, Some(ref usage) if *usage != PublicKeyUse::Signature)
            {
                return None;
            }
            let algorithm = algorithm_of(jwk)?;
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, (key, algorithm)))
        })
        .collect()
}

/// The algorithm a key is for: the one it names, else the one its kind
/// implies. Symmetric keys are never taken from a key set.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(params) if params.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        AlgorithmParameters::OctetKeyPair(params) if params.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => return None,
    };
    match jwk.common.key_algorithm {
        None => Some(implied),
        Some(KeyAlgorithm::RS256) if implied == Algorithm::RS256 => Some(implied),
        Some(KeyAlgorithm::ES256) if implied == Algorithm::ES256 => Some(implied),
        Some(KeyAlgorithm::EdDSA) if implied == Algorithm::EdDSA => Some(implied),
        Some(_) => None,
    }
}

fn lookup(keys: &HashMap<String, Key>, kid: Option<&str>) -> Option<Key> {
    match kid {
        Some(kid) => keys.get(kid).cloned(),
        None if keys.len() == 1 => keys.values().next().cloned(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::routing::get;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    /// An Ed25519 key of the provider, as a JWK named `kid`.
    fn jwk(kid: &str) -> serde_json::Value {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(key.public_key_raw()),
        })
    }

    /// A provider on loopback serving the keys `kids` (the set can be
    /// changed), after `delay`; counts its fetches. Ends with the test.
    struct Provider {
        url: String,
        fetches: Arc<AtomicUsize>,
        keys: Arc<RwLock<Vec<serde_json::Value>>>,
        server: tokio::task::JoinHandle<()>,
    }

    impl Provider {
        async fn start(kids: &[&str], delay: Duration) -> Provider {
            let fetches = Arc::new(AtomicUsize::new(0));
            let keys = Arc::new(RwLock::new(
                kids.iter().map(|kid| jwk(kid)).collect::<Vec<_>>(),
            ));
            let (count, set) = (Arc::clone(&fetches), Arc::clone(&keys));
            let app = Router::new().route(
                "/jwks",
                get(move || {
                    let (count, set) = (Arc::clone(&count), Arc::clone(&set));
                    async move {
                        count.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(delay).await;
                        let keys = set.read().unwrap().clone();
                        axum::Json(serde_json::json!({ "keys": keys }))
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/jwks", listener.local_addr().unwrap());
            let server = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Provider {
                url,
                fetches,
                keys,
                server,
            }
        }

        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
    }

    impl Drop for Provider {
        fn drop(&mut self) {
            self.server.abort();
        }
    }

    #[test]
    fn only_signing_keys_of_the_accepted_kinds_are_kept() {
        let ed = jwk("ed");
        let x = ed["x"].clone();
        let set: JwkSet = serde_json::from_value(serde_json::json!({"keys": [
            ed,
            {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc", "x": x},
            {"kty": "OKP", "crv": "Ed25519", "x": x},
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"}
        ]}))
        .unwrap();
        let keys = usable_keys(&set);
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["ed"]);
        assert_eq!(keys["ed"].1, Algorithm::EdDSA);
        assert!(lookup(&keys, None).is_some(), "the only key of the set");
        assert!(lookup(&keys, Some("other")).is_none());
    }

    #[tokio::test]
    async fn an_unknown_kid_fetches_again_at_most_once_per_interval() {
        let provider = Provider::start(&["k1"], Duration::ZERO).await;
        let interval = Duration::from_millis(300);
        let jwks = Jwks::fetch_with_interval(provider.url.clone(), interval).await;
        assert_eq!(provider.fetches(), 1, "fetched at start");
        assert!(jwks.key(Some("k1")).await.is_some());
        provider.keys.write().unwrap().push(jwk("k2"));
        for _ in 0..20 {
            assert!(jwks.key(Some("k2")).await.is_none());
        }
        assert_eq!(provider.fetches(), 1, "not again within the interval");
        tokio::time::sleep(interval).await;
        assert!(
            jwks.key(Some("k2")).await.is_some(),
            "the rotated key, fetched"
        );
        assert_eq!(provider.fetches(), 2);
    }

    #[tokio::test]
    async fn the_keys_fetched_keep_serving_while_the_provider_is_down() {
        let provider = Provider::start(&["k1"], Duration::ZERO).await;
        let jwks = Jwks::fetch_with_interval(provider.url.clone(), Duration::ZERO).await;
        drop(provider);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(jwks.key(Some("k2")).await.is_none());
        assert!(
            jwks.key(Some("k1")).await.is_some(),
            "kept after a failed fetch"
        );
    }

    #[tokio::test]
    async fn a_slow_provider_delays_an_unknown_kid_by_the_fetch_timeout_at_most() {
        let provider = Provider::start(&["k1"], Duration::from_secs(30)).await;
        let started = Instant::now();
        let jwks = Jwks::fetch_with_interval(provider.url.clone(), Duration::ZERO).await;
        assert!(jwks.key(Some("k1")).await.is_none());
        assert!(
            started.elapsed() < 3 * FETCH_TIMEOUT,
            "{:?}",
            started.elapsed()
        );
    }
}
