//! Rate limits (API.md, "Rate limits"): a burst past the limit gets 429
//! with the headers and creates nothing; other users are not slowed.

use axum::http::StatusCode;
use serde_json::json;

use crate::jwt::{JWT_ARGS, token_for};
use crate::support::{Backend, TestApp, on_both_backends};

on_both_backends!(
    a_burst_past_the_limit_is_429_and_creates_nothing_while_others_go_on,
    without_a_limit_no_rate_limit_headers_are_sent,
);

async fn a_burst_past_the_limit_is_429_and_creates_nothing_while_others_go_on(backend: Backend) {
    let mut args = JWT_ARGS.to_vec();
    // One a minute, so the bucket does not refill during the test.
    args.extend(["--rate-limit-per-second", "1", "--rate-limit-burst", "3"]);
    let app = TestApp::with_args(backend, &args).await;
    let alice = app.as_caller(&token_for("alice"));
    let bob = app.as_caller(&token_for("bob"));
    for left in (0..3).rev() {
        let created = alice.post("/api/todo", json!({"title": "t"})).await;
        assert_eq!(created.status, StatusCode::CREATED);
        assert_eq!(
            created.header("ratelimit-policy"),
            Some("\"default\";q=3;w=3")
        );
        let remaining = created.header("ratelimit").unwrap();
        assert!(
            remaining.starts_with(&format!("\"default\";r={left};t=")),
            "{remaining}"
        );
    }
    let refused = alice
        .post("/api/todo", json!({"title": "one too many"}))
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.json(), json!({"detail": "Too Many Requests"}));
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    assert_eq!(
        refused.header("ratelimit-policy"),
        Some("\"default\";q=3;w=3")
    );
    assert!(
        refused
            .header("ratelimit")
            .unwrap()
            .starts_with("\"default\";r=0;t=")
    );
    // Bob has a bucket of his own.
    assert_eq!(
        bob.post("/api/todo", json!({"title": "b"})).await.status,
        StatusCode::CREATED
    );
    // Health is never limited.
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
    // Alice has three todos, not four; read past the limit, in the store.
    assert_eq!(app.todos_of("alice").await.len(), 3);
    assert_eq!(
        alice.get("/api/todo").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "still limited"
    );
}

async fn without_a_limit_no_rate_limit_headers_are_sent(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.post("/api/todo", json!({"title": "t"})).await;
    assert!(created.header("ratelimit").is_none());
    assert!(created.header("ratelimit-policy").is_none());
}
