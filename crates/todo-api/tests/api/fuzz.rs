//! Arbitrary requests (methods, paths, query strings, headers, bodies) never
//! get a 5xx, never panic the service, and every answer is the contract's
//! JSON (errors with their `detail`), but the pages for people: the web
//! app and `/docs`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

use crate::support::{Backend, TestApp, on_both_backends};

on_both_backends!(arbitrary_requests_never_get_a_server_error);

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
    ])
}

fn path() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "/api/todo",
        "/api/todo/",
        "/api/todo/bulk",
        "/api/todo/1",
        "/health",
        "/ready",
        "/",
    ]);
    (prefix, "[a-zA-Z0-9/%._~-]{0,12}").prop_map(|(prefix, tail)| format!("{prefix}{tail}"))
}

fn query() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec![
        "completed",
        "priority",
        "min_priority",
        "due_before",
        "due_after",
        "q",
        "sort",
        "limit",
        "offset",
        "cursor",
        "x",
    ]);
    prop::collection::vec((name, any::<String>()), 0..4).prop_map(|pairs| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    })
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        prop::sample::select(vec!["2026-12-01", "2026-12-01T09:30:00Z", "title", ""])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        let field = prop::sample::select(vec![
            "id",
            "title",
            "description",
            "priority",
            "due_date",
            "completed",
            "other",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(field.prop_map(str::to_owned), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json().prop_map(|value| value.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        Just("\"1-1\"".to_owned()),
        Just("*".to_owned()),
        Just("application/json".to_owned()),
    ]
}

fn request() -> impl Strategy<Value = Request<Body>> {
    let headers = prop::collection::vec(
        (
            prop::sample::select(vec![
                "content-type",
                "if-match",
                "if-none-match",
                "idempotency-key",
                "authorization",
                "accept",
            ]),
            header_value(),
        ),
        0..4,
    );
    (method(), path(), query(), headers, body()).prop_map(|(method, path, query, headers, body)| {
        let uri = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        builder
            .body(Body::from(body))
            .unwrap_or_else(|_| Request::get("/health").body(Body::empty()).unwrap())
    })
}

async fn arbitrary_requests_never_get_a_server_error(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.create(serde_json::json!({"title": "existing"})).await;
    let runtime = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    // The runner's error quotes the failing request; boxing it is not worth it here.
    #[allow(clippy::result_large_err)]
    let outcome = tokio::task::block_in_place(|| {
        runner.run(&request(), |request| {
            let description = format!("{} {}", request.method(), request.uri());
            let is_head = request.method() == Method::HEAD;
            let is_page = is_page_for_people(request.uri().path());
            let response = runtime.block_on(app.send(request));
            prop_assert!(
                response.status.as_u16() < 500,
                "{description}: {}",
                response.status
            );
            let bodiless = is_head
                || matches!(
                    response.status,
                    StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED
                );
            if !bodiless && (!is_page || !response.status.is_success()) {
                let json: Value = serde_json::from_slice(&response.body).map_err(|error| {
                    TestCaseError::fail(format!("{description}: not JSON: {error}"))
                })?;
                if !response.status.is_success() {
                    prop_assert!(json.get("detail").is_some(), "{description}: {json}");
                }
            }
            Ok(())
        })
    });
    if let Err(error) = outcome {
        panic!("{error}");
    }
}

/// The web app (`/`, `/app/*`) and the documentation (`/docs`, `/docs/*`),
/// whose successful answers are HTML, scripts and styles.
fn is_page_for_people(path: &str) -> bool {
    path == "/" || path.starts_with("/app/") || path == "/docs" || path.starts_with("/docs/")
}
