//! Sign-in with an identity provider's key set (`JWT_JWKS_URL`), the
//! provider a local HTTP server of the test: tokens signed by its keys let
//! their users in; a token naming a key it does not have, or any token while
//! it is down from the start, is 401 and changes nothing.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;

use crate::jwt::{claims, signed};
use crate::support::{Backend, TestApp, on_both_backends};

on_both_backends!(
    tokens_signed_by_the_providers_keys_sign_in_and_others_do_not,
    a_provider_down_at_start_lets_nobody_in_and_the_service_serves_on,
);

/// An Ed25519 signing key of the provider: its private half, and its JWK.
fn provider_key(kid: &str) -> (EncodingKey, serde_json::Value) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let jwk = json!({
        "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(key.public_key_raw()),
    });
    (
        EncodingKey::from_ed_pem(key.serialize_pem().as_bytes()).unwrap(),
        jwk,
    )
}

/// Serves `keys` as a JWKS on loopback until the test ends; returns its URL.
async fn provider(keys: Vec<serde_json::Value>) -> String {
    let set = json!({ "keys": keys });
    let app = Router::new().route(
        "/.well-known/jwks.json",
        get(move || async move { axum::Json(set) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn tokens_signed_by_the_providers_keys_sign_in_and_others_do_not(backend: Backend) {
    let (current, current_jwk) = provider_key("2026-12");
    let (previous, previous_jwk) = provider_key("2026-11");
    let (stranger, _) = provider_key("2026-12");
    let url = provider(vec![current_jwk, previous_jwk]).await;
    let app = TestApp::with_args(backend, &["--jwt-jwks-url", &url]).await;
    for (key, kid) in [(&current, "2026-12"), (&previous, "2026-11")] {
        let token = signed(Algorithm::EdDSA, key, &claims("user-1", 3600), Some(kid));
        let me = app.as_caller(&token).get("/api/me").await;
        assert_eq!(me.status, StatusCode::OK, "{kid}: {}", me.text());
        assert_eq!(me.json(), json!({"user": "user-1", "auth": "jwt"}));
    }
    for (what, token) in [
        (
            "an unknown kid",
            signed(
                Algorithm::EdDSA,
                &current,
                &claims("user-1", 3600),
                Some("2027-01"),
            ),
        ),
        (
            "another key under a known kid",
            signed(
                Algorithm::EdDSA,
                &stranger,
                &claims("user-1", 3600),
                Some("2026-12"),
            ),
        ),
        (
            "no kid in a set of two",
            signed(Algorithm::EdDSA, &current, &claims("user-1", 3600), None),
        ),
    ] {
        let caller = app.as_caller(&token);
        let created = caller.post("/api/todo", json!({"title": "forged"})).await;
        assert_eq!(created.status, StatusCode::UNAUTHORIZED, "{what}");
    }
    assert!(
        app.todos_of("user-1").await.is_empty(),
        "nothing was created"
    );
}

async fn a_provider_down_at_start_lets_nobody_in_and_the_service_serves_on(backend: Backend) {
    // A port nobody listens on.
    let url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/jwks.json", listener.local_addr().unwrap())
    };
    let app = TestApp::with_args(backend, &["--jwt-jwks-url", &url]).await;
    let (key, _) = provider_key("k1");
    let token = signed(Algorithm::EdDSA, &key, &claims("user-1", 3600), Some("k1"));
    let started = std::time::Instant::now();
    let refused = app
        .as_caller(&token)
        .post("/api/todo", json!({"title": "t"}))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
    assert!(app.todos_of("user-1").await.is_empty());
}
