//! ETags and conditional requests (API.md, "Optimistic concurrency").

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{Backend, TestApp, on_both_backends};

on_both_backends!(
    every_todo_response_carries_an_etag_that_changes_with_the_todo,
    if_none_match_with_the_current_tag_is_304,
    a_write_with_a_stale_if_match_is_412_and_changes_nothing,
    a_write_with_the_current_if_match_applies,
    ten_clients_incrementing_with_if_match_and_retry_lose_no_increment,
);

async fn every_todo_response_carries_an_etag_that_changes_with_the_todo(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.post("/api/todo", json!({"title": "t"})).await;
    let uri = created.header("location").unwrap().to_owned();
    let first = created.header("etag").unwrap().to_owned();
    assert_eq!(app.get(&uri).await.header("etag"), Some(first.as_str()));
    let patched = app.patch(&uri, json!({"title": "u"})).await;
    let second = patched.header("etag").unwrap().to_owned();
    assert_ne!(first, second);
    let replaced = app.put(&uri, json!({"title": "v"})).await;
    assert_ne!(replaced.header("etag").unwrap(), second);
}

async fn if_none_match_with_the_current_tag_is_304(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.post("/api/todo", json!({"title": "t"})).await;
    let uri = created.header("location").unwrap().to_owned();
    let etag = created.header("etag").unwrap().to_owned();
    let response = app
        .request(Method::GET, &uri, None, &[("if-none-match", &etag)])
        .await;
    assert_eq!(response.status, StatusCode::NOT_MODIFIED);
    assert!(response.body.is_empty());
    assert_eq!(response.header("etag"), Some(etag.as_str()));
    let other = app
        .request(Method::GET, &uri, None, &[("if-none-match", "\"0-0\"")])
        .await;
    assert_eq!(other.status, StatusCode::OK);
}

async fn a_write_with_a_stale_if_match_is_412_and_changes_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.post("/api/todo", json!({"title": "t"})).await;
    let uri = created.header("location").unwrap().to_owned();
    let stale = created.header("etag").unwrap().to_owned();
    let current = app.patch(&uri, json!({"priority": 4})).await.json();
    let headers = [("if-match", stale.as_str())];
    for (method, body) in [
        (Method::PATCH, Some(json!({"title": "x"}))),
        (Method::PUT, Some(json!({"title": "x"}))),
        (Method::DELETE, None),
    ] {
        let response = app
            .request(method.clone(), &uri, body.as_ref(), &headers)
            .await;
        assert_eq!(response.status, StatusCode::PRECONDITION_FAILED, "{method}");
        assert!(response.json()["detail"].is_string());
    }
    assert_eq!(app.get(&uri).await.json(), current);
    let missing = app
        .request(Method::DELETE, "/api/todo/999", None, &headers)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn a_write_with_the_current_if_match_applies(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.post("/api/todo", json!({"title": "t"})).await;
    let uri = created.header("location").unwrap().to_owned();
    let etag = created.header("etag").unwrap().to_owned();
    let patched = app
        .request(
            Method::PATCH,
            &uri,
            Some(&json!({"title": "u"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    let any = app
        .request(
            Method::PUT,
            &uri,
            Some(&json!({"title": "v"})),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(any.status, StatusCode::OK);
    let etag = any.header("etag").unwrap().to_owned();
    let deleted = app
        .request(Method::DELETE, &uri, None, &[("if-match", &etag)])
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

async fn ten_clients_incrementing_with_if_match_and_retry_lose_no_increment(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let created = app.post("/api/todo", json!({"title": "0"})).await;
    let uri = Arc::new(created.header("location").unwrap().to_owned());
    let clients: Vec<_> = (0..10)
        .map(|_| {
            let (app, uri) = (app.clone(), uri.clone());
            tokio::spawn(async move {
                for _ in 0..5 {
                    loop {
                        let read = app.get(&uri).await;
                        let etag = read.header("etag").unwrap().to_owned();
                        let count: u32 = read.json()["title"].as_str().unwrap().parse().unwrap();
                        let body = json!({"title": (count + 1).to_string()});
                        let write = app
                            .request(Method::PATCH, &uri, Some(&body), &[("if-match", &etag)])
                            .await;
                        match write.status {
                            StatusCode::OK => break,
                            StatusCode::PRECONDITION_FAILED => continue,
                            other => panic!("unexpected {other}"),
                        }
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    assert_eq!(app.get(&uri).await.json()["title"], json!("50"));
}
