//! JWT sign-in attacked as an attacker would (API.md, "Users"): every
//! malformed, forged, expired or misdirected token gets 401 and changes
//! nothing; only a token signed with the configured key, for the key's own
//! algorithm, lets a user in.

use std::io::Write;

use axum::http::{Method, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use crate::jwt::{JWT_ARGS, SECRET, claims, hs256, now, signed, token_for, unsigned, with_payload};
use crate::support::{Backend, TestApp, TestResponse, on_both_backends};

on_both_backends!(
    a_valid_token_signs_its_subject_in,
    every_bad_token_is_401_and_changes_nothing,
    an_issuer_and_an_audience_once_set_must_match,
    public_keys_of_each_kind_verify_only_their_own_algorithm,
    access_tokens_beside_jwt_keep_the_anonymous_list,
);

/// The RSA key pair of the RS256 tests, made for them alone.
const RSA_PRIVATE: &str = include_str!("../fixtures/jwt-rsa-private.pem");
const RSA_PUBLIC: &str = include_str!("../fixtures/jwt-rsa-public.pem");

#[track_caller]
fn assert_refused(response: &TestResponse, what: &str) {
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        response.text()
    );
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\""),
        "{what}"
    );
    assert!(response.json()["detail"].is_string(), "{what}");
}

/// Sends `token` to create a todo and to list, expecting both refused.
async fn assert_token_refused(app: &TestApp, token: &str, what: &str) {
    let caller = app.as_caller(token);
    assert_refused(
        &caller.post("/api/todo", json!({"title": "forged"})).await,
        what,
    );
    assert_refused(&caller.get("/api/todo").await, what);
    assert_refused(&caller.get("/api/me").await, what);
}

async fn a_valid_token_signs_its_subject_in(backend: Backend) {
    let app = TestApp::with_args(backend, &JWT_ARGS).await;
    let alice = app.as_caller(&token_for("alice"));
    let me = alice.get("/api/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json(), json!({"user": "alice", "auth": "jwt"}));
    let todo = alice.create(json!({"title": "mine"})).await;
    assert_eq!(
        todo.as_object().unwrap().len(),
        8,
        "the eight fields, no owner"
    );
    // No token at all: asked for one, without an error code.
    let anonymous = app.get("/api/todo").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    // Health stays open.
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
}

async fn every_bad_token_is_401_and_changes_nothing(backend: Backend) {
    let app = TestApp::with_args(backend, &JWT_ARGS).await;
    let alice = app.as_caller(&token_for("alice"));
    let kept = alice.create(json!({"title": "kept"})).await;
    let secret = SECRET.as_bytes();
    let good = token_for("alice");
    let leeway = 60;
    let cases: Vec<(&str, String)> = vec![
        ("not a JWT", "not-a-jwt".to_owned()),
        ("three parts of garbage", "a.b.c".to_owned()),
        ("an empty signature", {
            let mut parts: Vec<&str> = good.split('.').collect();
            parts[2] = "";
            parts.join(".")
        }),
        (
            "another secret",
            hs256(
                b"another secret of thirty-two bytes!!",
                &claims("alice", 3600),
            ),
        ),
        ("alg none", unsigned(&claims("alice", 3600))),
        (
            "a payload changed after signing",
            with_payload(&good, &claims("mallory", 3600)),
        ),
        (
            "expired past the leeway",
            hs256(secret, &claims("alice", -leeway - 30)),
        ),
        (
            "not valid yet past the leeway",
            hs256(
                secret,
                &json!({"sub": "alice", "exp": now() + 7200, "nbf": now() + leeway + 600}),
            ),
        ),
        ("no exp", hs256(secret, &json!({"sub": "alice"}))),
        ("no sub", hs256(secret, &json!({"exp": now() + 3600}))),
        ("an empty sub", hs256(secret, &claims("", 3600))),
        (
            "a sub with a control character",
            hs256(secret, &claims("ali\nce", 3600)),
        ),
        (
            "a sub that is not a string",
            hs256(secret, &json!({"sub": 7, "exp": now() + 3600})),
        ),
        (
            "an RS256 token against an HS256 secret",
            signed(
                Algorithm::RS256,
                &EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap(),
                &claims("alice", 3600),
                None,
            ),
        ),
    ];
    for (what, token) in &cases {
        assert_token_refused(&app, token, what).await;
    }
    // Within the leeway, an expired token is still taken.
    let late = app.as_caller(&hs256(secret, &claims("alice", -leeway / 2)));
    assert_eq!(late.get("/api/me").await.status, StatusCode::OK);
    assert_eq!(alice.all_todos().await, vec![kept], "nothing was created");
}

async fn an_issuer_and_an_audience_once_set_must_match(backend: Backend) {
    let mut args = JWT_ARGS.to_vec();
    args.extend([
        "--jwt-issuer",
        "https://id.example/",
        "--jwt-audience",
        "todo-api",
    ]);
    let app = TestApp::with_args(backend, &args).await;
    let secret = SECRET.as_bytes();
    let with = |extra: Value| {
        let mut claims = claims("alice", 3600);
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        hs256(secret, &claims)
    };
    let right = with(json!({"iss": "https://id.example/", "aud": "todo-api"}));
    assert_eq!(
        app.as_caller(&right).get("/api/me").await.status,
        StatusCode::OK
    );
    let among = with(json!({"iss": "https://id.example/", "aud": ["other", "todo-api"]}));
    assert_eq!(
        app.as_caller(&among).get("/api/me").await.status,
        StatusCode::OK
    );
    for (what, token) in [
        ("no issuer", with(json!({"aud": "todo-api"}))),
        (
            "another issuer",
            with(json!({"iss": "https://evil.example/", "aud": "todo-api"})),
        ),
        ("no audience", with(json!({"iss": "https://id.example/"}))),
        (
            "another audience",
            with(json!({"iss": "https://id.example/", "aud": "other"})),
        ),
    ] {
        assert_token_refused(&app, &token, what).await;
    }
}

/// A file holding `pem`, kept while the test runs.
fn key_file(pem: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(pem.as_bytes()).unwrap();
    file
}

async fn public_keys_of_each_kind_verify_only_their_own_algorithm(backend: Backend) {
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let kinds = [
        (
            Algorithm::RS256,
            RSA_PUBLIC.to_owned(),
            EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap(),
        ),
        (
            Algorithm::ES256,
            ec.public_key_pem(),
            EncodingKey::from_ec_pem(ec.serialize_pem().as_bytes()).unwrap(),
        ),
        (
            Algorithm::EdDSA,
            ed.public_key_pem(),
            EncodingKey::from_ed_pem(ed.serialize_pem().as_bytes()).unwrap(),
        ),
    ];
    let other_ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let impostor = EncodingKey::from_ec_pem(other_ec.serialize_pem().as_bytes()).unwrap();
    for (algorithm, public_pem, private) in kinds {
        let file = key_file(&public_pem);
        let path = file.path().to_str().unwrap().to_owned();
        let app = TestApp::with_args(backend, &["--jwt-public-key-file", &path]).await;
        let good = signed(algorithm, &private, &claims("alice", 3600), None);
        let me = app.as_caller(&good).get("/api/me").await;
        assert_eq!(me.status, StatusCode::OK, "{algorithm:?}: {}", me.text());
        let what = format!("{algorithm:?}");
        // Algorithm confusion: HS256 keyed with the public key's own bytes.
        let confused = hs256(public_pem.as_bytes(), &claims("alice", 3600));
        assert_token_refused(
            &app,
            &confused,
            &format!("{what}: HS256 with the public key"),
        )
        .await;
        assert_token_refused(
            &app,
            &unsigned(&claims("alice", 3600)),
            &format!("{what}: none"),
        )
        .await;
        if algorithm != Algorithm::ES256 {
            let foreign = signed(Algorithm::ES256, &impostor, &claims("alice", 3600), None);
            assert_token_refused(&app, &foreign, &format!("{what}: another kind of key")).await;
        }
        let expired = signed(algorithm, &private, &claims("alice", -3600), None);
        assert_token_refused(&app, &expired, &format!("{what}: expired")).await;
    }
    // A key that belongs to nobody, and an ES256 token signed with it.
    let file = key_file(&ec.public_key_pem());
    let app = TestApp::with_args(
        backend,
        &["--jwt-public-key-file", file.path().to_str().unwrap()],
    )
    .await;
    let forged = signed(Algorithm::ES256, &impostor, &claims("alice", 3600), None);
    assert_token_refused(&app, &forged, "ES256 signed by another key").await;
}

async fn access_tokens_beside_jwt_keep_the_anonymous_list(backend: Backend) {
    let mut args = JWT_ARGS.to_vec();
    args.extend(["--api-tokens", "ops-token"]);
    let app = TestApp::with_args(backend, &args).await;
    let ops = app.as_caller("ops-token");
    let me = ops.get("/api/me").await;
    assert_eq!(me.json(), json!({"user": null, "auth": "token"}));
    let shared = ops.create(json!({"title": "the anonymous list's"})).await;
    let alice = app.as_caller(&token_for("alice"));
    assert!(alice.all_todos().await.is_empty());
    assert_eq!(ops.all_todos().await, vec![shared]);
    let response = alice.request(Method::GET, "/api/todo", None, &[]).await;
    assert_eq!(response.status, StatusCode::OK);
}
