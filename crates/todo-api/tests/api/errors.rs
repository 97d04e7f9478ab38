//! Errors outside the fields: routes, methods, media types, body size and
//! malformed JSON (API.md, "Errors").

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::support::{Backend, TestApp, on_both_backends};

on_both_backends!(
    an_unknown_route_is_404_not_found,
    a_wrong_method_is_405_method_not_allowed,
    malformed_json_is_422_json_invalid_and_creates_nothing,
    a_body_that_is_not_json_is_415,
    json_is_read_with_or_without_a_content_type,
    a_body_over_the_size_limit_is_413_and_creates_nothing,
);

async fn an_unknown_route_is_404_not_found(backend: Backend) {
    let app = TestApp::new(backend).await;
    for path in ["/nope", "/api/todos", "/api/todo/1/extra", "/api"] {
        let response = app.get(path).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.json(), json!({"detail": "Not Found"}), "{path}");
    }
}

async fn a_wrong_method_is_405_method_not_allowed(backend: Backend) {
    let app = TestApp::new(backend).await;
    for (method, path) in [
        (Method::PUT, "/api/todo"),
        (Method::PATCH, "/api/todo"),
        (Method::POST, "/api/todo/1"),
        (Method::POST, "/health"),
    ] {
        let response = app
            .request(method.clone(), path, Some(&json!({})), &[])
            .await;
        assert_eq!(
            response.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(response.json(), json!({"detail": "Method Not Allowed"}));
    }
}

async fn malformed_json_is_422_json_invalid_and_creates_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    for body in [
        &b"{\"title\": "[..],
        b"",
        b"not json",
        b"{\"title\": \"a\"} trailing",
        b"\xff\xfe",
    ] {
        let request = Request::post("/api/todo")
            .header("content-type", "application/json")
            .body(Body::from(body.to_vec()))
            .unwrap();
        let response = app.send(request).await;
        assert_eq!(
            response.faults(),
            vec![(r#"["body"]"#.to_owned(), "json_invalid".to_owned())]
        );
    }
    assert!(app.all_todos().await.is_empty());
}

async fn a_body_that_is_not_json_is_415(backend: Backend) {
    let app = TestApp::new(backend).await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let request = Request::post("/api/todo")
            .header("content-type", content_type)
            .body(Body::from(r#"{"title": "t"}"#))
            .unwrap();
        let response = app.send(request).await;
        assert_eq!(
            response.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        assert!(response.json()["detail"].is_string());
    }
    assert!(app.all_todos().await.is_empty());
}

async fn json_is_read_with_or_without_a_content_type(backend: Backend) {
    let app = TestApp::new(backend).await;
    for content_type in [
        None,
        Some("application/json; charset=utf-8"),
        Some("APPLICATION/JSON"),
        Some("application/merge-patch+json"),
    ] {
        let mut request = Request::builder().method(Method::POST).uri("/api/todo");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = app
            .send(request.body(Body::from(r#"{"title": "t"}"#)).unwrap())
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{content_type:?}");
    }
}

async fn a_body_over_the_size_limit_is_413_and_creates_nothing(backend: Backend) {
    let app = TestApp::with_args(backend, &["--max-body-bytes", "1024"]).await;
    let big = json!({"title": "t", "description": "x".repeat(1100)});
    let response = app.post("/api/todo", big).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.json()["detail"].is_string());
    let bulk: Vec<_> = (0..100)
        .map(|n| json!({"title": format!("todo {n}")}))
        .collect();
    assert_eq!(
        app.post("/api/todo/bulk", json!(bulk)).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert!(app.all_todos().await.is_empty());
    assert_eq!(
        app.post("/api/todo", json!({"title": "small"}))
            .await
            .status,
        StatusCode::CREATED
    );
}
