//! Access tokens (`API_TOKENS`).

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{Backend, TestApp, on_both_backends};

on_both_backends!(
    with_tokens_configured_api_routes_need_a_valid_bearer_token,
    health_and_readiness_stay_open_with_tokens_configured,
    idempotency_keys_are_scoped_per_token,
);

const TOKENS: [&str; 2] = ["--api-tokens", "alpha-token,beta-token"];

async fn with_tokens_configured_api_routes_need_a_valid_bearer_token(backend: Backend) {
    let app = TestApp::with_args(backend, &TOKENS).await;
    for authorization in [
        None,
        Some("Bearer wrong"),
        Some("Basic alpha-token"),
        Some("Bearer "),
    ] {
        let headers: Vec<(&str, &str)> = authorization
            .map(|value| ("authorization", value))
            .into_iter()
            .collect();
        for (method, uri) in [
            (Method::GET, "/api/todo"),
            (Method::GET, "/api/todo/1"),
            (Method::POST, "/api/todo"),
        ] {
            let body = (method == Method::POST).then(|| json!({"title": "t"}));
            let response = app
                .request(method.clone(), uri, body.as_ref(), &headers)
                .await;
            assert_eq!(
                response.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} {authorization:?}"
            );
            // Only a bearer token that was sent can be an invalid one.
            let challenge = match authorization {
                Some("Bearer wrong") => "Bearer error=\"invalid_token\"",
                _ => "Bearer",
            };
            assert_eq!(response.header("www-authenticate"), Some(challenge));
            assert!(response.json()["detail"].is_string());
        }
    }
    let bearer = [("authorization", "Bearer beta-token")];
    let created = app
        .request(
            Method::POST,
            "/api/todo",
            Some(&json!({"title": "t"})),
            &bearer,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let listed = app
        .request(
            Method::GET,
            "/api/todo",
            None,
            &[("authorization", "bearer alpha-token")],
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
}

async fn health_and_readiness_stay_open_with_tokens_configured(backend: Backend) {
    let app = TestApp::with_args(backend, &TOKENS).await;
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
    assert_eq!(app.get("/ready").await.status, StatusCode::OK);
}

async fn idempotency_keys_are_scoped_per_token(backend: Backend) {
    let app = TestApp::with_args(backend, &TOKENS).await;
    let body = json!({"title": "t"});
    for token in ["Bearer alpha-token", "Bearer beta-token"] {
        let response = app
            .request(
                Method::POST,
                "/api/todo",
                Some(&body),
                &[("authorization", token), ("idempotency-key", "same")],
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED);
        assert!(response.header("idempotent-replayed").is_none(), "{token}");
    }
    let listed = app
        .request(
            Method::GET,
            "/api/todo",
            None,
            &[("authorization", "Bearer alpha-token")],
        )
        .await;
    assert_eq!(listed.json().as_array().unwrap().len(), 2);
}
