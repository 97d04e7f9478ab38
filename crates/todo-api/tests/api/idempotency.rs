//! Idempotency keys on creates (API.md, "Idempotency").

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{Backend, TestApp, on_both_backends};

on_both_backends!(
    a_retry_with_the_same_key_replays_the_first_answer_and_creates_nothing,
    a_bulk_retry_with_the_same_key_replays_the_first_answer,
    a_key_reused_with_another_body_or_path_is_422_and_creates_nothing,
    a_malformed_key_is_422_and_creates_nothing,
    twenty_racing_copies_of_one_keyed_request_create_one_todo,
);

async fn a_retry_with_the_same_key_replays_the_first_answer_and_creates_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let body = json!({"title": "once", "priority": 4});
    let headers = [("idempotency-key", "create-1")];
    let first = app
        .request(Method::POST, "/api/todo", Some(&body), &headers)
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert!(first.header("idempotent-replayed").is_none());
    // The same JSON, its fields in another order.
    let again = json!({"priority": 4, "title": "once"});
    let replay = app
        .request(Method::POST, "/api/todo", Some(&again), &headers)
        .await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.header("location"), first.header("location"));
    assert_eq!(replay.header("etag"), first.header("etag"));
    assert_eq!(app.all_todos().await.len(), 1);
    // The same body without a key is a new todo.
    app.create(body).await;
    assert_eq!(app.all_todos().await.len(), 2);
}

async fn a_bulk_retry_with_the_same_key_replays_the_first_answer(backend: Backend) {
    let app = TestApp::new(backend).await;
    let body = json!([{"title": "a"}, {"title": "b"}]);
    let headers = [("idempotency-key", "bulk-1")];
    let first = app
        .request(Method::POST, "/api/todo/bulk", Some(&body), &headers)
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let replay = app
        .request(Method::POST, "/api/todo/bulk", Some(&body), &headers)
        .await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, first.body);
    assert_eq!(app.all_todos().await.len(), 2);
}

async fn a_key_reused_with_another_body_or_path_is_422_and_creates_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let headers = [("idempotency-key", "k")];
    let first = app
        .request(
            Method::POST,
            "/api/todo",
            Some(&json!({"title": "a"})),
            &headers,
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let other_body = app
        .request(
            Method::POST,
            "/api/todo",
            Some(&json!({"title": "b"})),
            &headers,
        )
        .await;
    let other_path = app
        .request(
            Method::POST,
            "/api/todo/bulk",
            Some(&json!([{"title": "a"}])),
            &headers,
        )
        .await;
    for response in [other_body, other_path] {
        assert_eq!(
            response.faults(),
            vec![(
                r#"["header","Idempotency-Key"]"#.to_owned(),
                "value_error".to_owned()
            )]
        );
    }
    assert_eq!(app.all_todos().await.len(), 1);
}

async fn a_malformed_key_is_422_and_creates_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let long = "k".repeat(256);
    for key in ["", "has space", long.as_str()] {
        let response = app
            .request(
                Method::POST,
                "/api/todo",
                Some(&json!({"title": "a"})),
                &[("idempotency-key", key)],
            )
            .await;
        assert_eq!(
            response.faults(),
            vec![(
                r#"["header","Idempotency-Key"]"#.to_owned(),
                "value_error".to_owned()
            )],
            "{key:?}"
        );
    }
    let both = app
        .request(
            Method::POST,
            "/api/todo",
            Some(&json!({"title": ""})),
            &[("idempotency-key", "")],
        )
        .await;
    assert_eq!(both.faults().len(), 2);
    let longest = "k".repeat(255);
    let accepted = app
        .request(
            Method::POST,
            "/api/todo",
            Some(&json!({"title": "a"})),
            &[("idempotency-key", &longest)],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED);
    assert_eq!(app.all_todos().await.len(), 1);
}

async fn twenty_racing_copies_of_one_keyed_request_create_one_todo(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let copies: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                app.request(
                    Method::POST,
                    "/api/todo",
                    Some(&json!({"title": "raced"})),
                    &[("idempotency-key", "race")],
                )
                .await
            })
        })
        .collect();
    for copy in copies {
        let response = copy.await.unwrap();
        assert!(
            matches!(response.status, StatusCode::CREATED | StatusCode::CONFLICT),
            "{}",
            response.status
        );
        if response.status == StatusCode::CONFLICT {
            assert!(response.json()["detail"].is_string());
        }
    }
    assert_eq!(app.all_todos().await.len(), 1);
}
