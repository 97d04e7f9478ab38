//! What operators read: pool figures, Prometheus metrics, request ids,
//! CORS and response compression.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, on_both_backends};

on_both_backends!(
    the_pool_figures_describe_the_live_pool,
    metrics_count_requests_by_method_route_template_and_status,
    metrics_show_the_pool_and_the_rows_bulk_requests_created,
    every_503_for_an_unavailable_database_is_counted_as_shed,
    metrics_show_how_many_requests_each_group_of_the_store_served,
);

async fn the_pool_figures_describe_the_live_pool(backend: Backend) {
    // PostgreSQL: 3 exclusive connections and 1 shared.
    let app = TestApp::with_args(backend, &["--pool-size", "3", "--shared-connections", "1"]).await;
    app.create(json!({"title": "warm the pool"})).await;
    let figures = settled_pool(&app).await;
    let mut keys: Vec<&str> = figures
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["idle", "in_use", "max_size", "size", "waiting"]);
    let figure = |name: &str| figures[name].as_u64().unwrap();
    // SQLite counts its one writer thread beside the readers.
    assert!((3..=4).contains(&figure("max_size")), "{figures}");
    assert!(figure("size") >= 1 && figure("size") <= figure("max_size"));
    assert_eq!(figure("idle") + figure("in_use"), figure("size"));
    assert_eq!(figure("in_use"), 0, "{figures}");
    assert_eq!(figure("waiting"), 0, "{figures}");
}

async fn metrics_count_requests_by_method_route_template_and_status(backend: Backend) {
    let app = TestApp::new(backend).await;
    let id = app.create(json!({"title": "counted"})).await["id"].clone();
    for _ in 0..2 {
        assert_eq!(
            app.get(&format!("/api/todo/{id}")).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        app.get("/api/todo/999999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/no/such/route").await.status,
        StatusCode::NOT_FOUND
    );

    let response = app.get("/metrics").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text();
    let by_id = r#"method="GET",route="/api/todo/{id}""#;
    assert_eq!(
        sample(
            &text,
            &format!(r#"http_requests_total{{{by_id},status="200"}}"#)
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"http_requests_total{{{by_id},status="404"}}"#)
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"http_requests_total{method="POST",route="/api/todo",status="201"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"http_request_duration_seconds_bucket{{{by_id},status="200",le="+Inf"}}"#)
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"http_request_duration_seconds_count{{{by_id},status="200"}}"#)
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"http_requests_total{method="GET",route="unmatched",status="404"}"#
        ),
        Some(1.0)
    );
    // Labels carry route templates only, never a raw path.
    assert!(!text.contains(&format!("/api/todo/{id}\"")), "{text}");
    assert!(!text.contains("/no/such/route"), "{text}");
    // Only the scrape itself is in flight while it renders.
    assert_eq!(sample(&text, "http_requests_in_flight"), Some(1.0));
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
    assert!(text.contains("# HELP http_requests_total"));
    assert_eq!(
        sample(
            &text,
            &format!(
                r#"todo_build_info{{version="{}"}}"#,
                env!("CARGO_PKG_VERSION")
            )
        ),
        Some(1.0)
    );

    let again = app.get("/metrics").await.text();
    assert_eq!(
        sample(
            &again,
            r#"http_requests_total{method="GET",route="/metrics",status="200"}"#
        ),
        Some(1.0),
        "the first scrape is counted by the second"
    );
}

async fn metrics_show_the_pool_and_the_rows_bulk_requests_created(backend: Backend) {
    let app = TestApp::with_args(backend, &["--pool-size", "2", "--shared-connections", "1"]).await;
    let response = app
        .post(
            "/api/todo/bulk",
            json!([{"title": "a"}, {"title": "b"}, {"title": "c"}]),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    app.post("/api/todo/bulk", json!([{"title": "d"}])).await;
    // The bulk creates changed the whole table, so the store analyzes it
    // in the background, on a pooled connection: scraped until it is back.
    let text = settled_metrics(&app).await;
    assert_eq!(
        sample(&text, "todo_bulk_rows_created_total"),
        Some(4.0),
        "{text}"
    );
    let max = sample(&text, "todo_db_pool_max_connections").unwrap();
    assert!((2.0..=3.0).contains(&max), "{text}");
    assert_eq!(
        sample(&text, r#"todo_db_pool_connections{state="in_use"}"#),
        Some(0.0)
    );
    assert!(sample(&text, r#"todo_db_pool_connections{state="idle"}"#).unwrap() >= 1.0);
    assert_eq!(sample(&text, "todo_db_pool_waiting_requests"), Some(0.0));
}

async fn metrics_show_how_many_requests_each_group_of_the_store_served(backend: Backend) {
    const CREATES: usize = 40;
    let app = TestApp::new(backend).await;
    let creates =
        (0..CREATES).map(|index| app.create(json!({"title": format!("grouped {index}")})));
    futures::future::join_all(creates).await;
    let text = app.get("/metrics").await.text();
    // PostgreSQL groups single creates on their own; SQLite's writer
    // commits writes of every kind together.
    let kind = match backend {
        Backend::Postgres => "create",
        Backend::Sqlite => "write",
    };
    let series = |part: &str| format!(r#"todo_store_group_size_{part}{{kind="{kind}"}}"#);
    assert_eq!(
        sample(&text, &series("sum")),
        Some(CREATES as f64),
        "{text}"
    );
    let groups = sample(&text, &series("count")).unwrap();
    assert!((1.0..=CREATES as f64).contains(&groups), "{text}");
    assert_eq!(
        sample(
            &text,
            &format!(r#"todo_store_group_size_bucket{{kind="{kind}",le="+Inf"}}"#)
        ),
        Some(groups)
    );
    let other = if kind == "write" { "create" } else { "write" };
    assert!(!text.contains(&format!(r#"kind="{other}""#)), "{text}");
}

async fn every_503_for_an_unavailable_database_is_counted_as_shed(backend: Backend) {
    let app = TestApp::new(backend).await;
    // A closed pool answers every call as a database that is down would.
    app.close_store().await;
    for _ in 0..3 {
        let response = app.get("/api/todo/1").await;
        assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.header("retry-after"), Some("1"));
    }
    assert_eq!(
        app.post("/api/todo", json!({"title": "x"})).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // Readiness answers 503 too, but sheds no request.
    assert_eq!(
        app.get("/ready").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let text = app.get("/metrics").await.text();
    assert_eq!(
        sample(
            &text,
            r#"http_requests_shed_total{method="GET",route="/api/todo/{id}"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"http_requests_shed_total{method="POST",route="/api/todo"}"#
        ),
        Some(1.0)
    );
    assert!(!text.contains(r#"http_requests_shed_total{method="GET",route="/ready"}"#));
}

#[tokio::test]
async fn a_request_id_is_echoed_or_made_up() {
    let app = TestApp::new(Backend::Sqlite).await;
    let response = app
        .request(Method::GET, "/health", None, &[("x-request-id", "abc-123")])
        .await;
    assert_eq!(response.header("x-request-id"), Some("abc-123"));
    let first = app.get("/health").await;
    let second = app.get("/health").await;
    let made_up = first.header("x-request-id").unwrap();
    assert_eq!(made_up.len(), 36, "a UUID: {made_up}");
    assert_ne!(Some(made_up), second.header("x-request-id"));
}

#[tokio::test]
async fn cors_is_off_unless_origins_are_configured() {
    let preflight = [
        ("origin", "https://app.example"),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type"),
    ];
    let closed = TestApp::new(Backend::Sqlite).await;
    let response = closed
        .request(
            Method::GET,
            "/api/todo",
            None,
            &[("origin", "https://app.example")],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("access-control-allow-origin"), None);

    let open = TestApp::with_args(
        Backend::Sqlite,
        &[
            "--cors-origins",
            "https://app.example,https://admin.example",
        ],
    )
    .await;
    let response = open
        .request(Method::OPTIONS, "/api/todo", None, &preflight)
        .await;
    assert!(response.status.is_success(), "{:?}", response.status);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(
        response
            .header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    let created = open
        .request(
            Method::POST,
            "/api/todo",
            Some(&json!({"title": "from the front end"})),
            &[("origin", "https://app.example")],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(
        created
            .header("access-control-expose-headers")
            .unwrap()
            .contains("etag")
    );
    let stranger = open
        .request(
            Method::GET,
            "/api/todo",
            None,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(stranger.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn large_listings_are_compressed_as_the_client_accepts() {
    let app = TestApp::new(Backend::Sqlite).await;
    let todos: Vec<_> = (0..50)
        .map(|n| json!({"title": format!("todo number {n}"), "description": "x".repeat(100)}))
        .collect();
    app.post("/api/todo/bulk", json!(todos)).await;
    let plain = app.get("/api/todo").await;
    assert_eq!(plain.header("content-encoding"), None);
    for encoding in ["gzip", "br"] {
        let response = app
            .request(
                Method::GET,
                "/api/todo",
                None,
                &[("accept-encoding", encoding)],
            )
            .await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.header("content-encoding"), Some(encoding));
        assert!(
            response.body.len() < plain.body.len() / 4,
            "{encoding}: {} of {} bytes",
            response.body.len(),
            plain.body.len()
        );
    }
}

#[tokio::test]
async fn a_single_todo_goes_uncompressed_it_would_gain_too_little() {
    let app = TestApp::new(Backend::Sqlite).await;
    let created = app.post("/api/todo", json!({"title": "small"})).await;
    let id = created.json()["id"].as_i64().unwrap();
    let response = app
        .request(
            Method::GET,
            &format!("/api/todo/{id}"),
            None,
            &[("accept-encoding", "gzip")],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(response.json()["title"], "small");
}

/// The pool figures once the last request's connection is back: a
/// worker may count it as in use for a moment after the answer has gone.
async fn settled_pool(app: &TestApp) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let response = app.get("/health/pool").await;
        assert_eq!(response.status, StatusCode::OK);
        let figures = response.json();
        if figures["in_use"] == 0 || Instant::now() > deadline {
            return figures;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The metrics, once no pooled connection is in use (or after 5 s).
async fn settled_metrics(app: &TestApp) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = app.get("/metrics").await.text();
        let in_use = sample(&text, r#"todo_db_pool_connections{state="in_use"}"#);
        if in_use == Some(0.0) || Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().unwrap())
        })
}
