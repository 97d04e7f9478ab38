//! The test harness: the real router over a fresh database per test, on
//! either backend, driven in-process without a port.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use clap::Parser;
use http_body_util::BodyExt;
use serde_json::Value;
use tempfile::TempDir;
use todo_api::config::Cli;
use todo_api::{App, build_app, storage};
use todo_core::TodoStore;
use todo_store_postgres::testing::TestCluster;
use tower::ServiceExt;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The service under test.
pub struct TestApp {
    router: Router,
    store: Arc<dyn TodoStore>,
    admission: todo_api::http::Admission,
    lifecycle: std::sync::Arc<todo_api::http::state::Lifecycle>,
    // Kept for the life of the test: the SQLite file lives in it.
    _dir: TempDir,
}

/// A response, its body read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    /// The `detail` faults of a 422 as `(loc, type)` pairs, sorted.
    pub fn faults(&self) -> Vec<(String, String)> {
        assert_eq!(
            self.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let mut faults: Vec<(String, String)> = self.json()["detail"]
            .as_array()
            .expect("detail is a list")
            .iter()
            .map(|fault| {
                (
                    fault["loc"].to_string(),
                    fault["type"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        faults.sort();
        faults
    }
}

impl TestApp {
    /// The service with default settings on `backend`.
    pub async fn new(backend: Backend) -> TestApp {
        TestApp::with_args(backend, &[]).await
    }

    /// The service with extra command-line settings on `backend`.
    pub async fn with_args(backend: Backend, args: &[&str]) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("todo.db").display()),
            Backend::Postgres => TestCluster::shared().await.fresh_database_url().await,
        };
        let mut argv = vec!["todo-api", "--database-url", url.as_str()];
        argv.extend_from_slice(args);
        let config = Cli::parse_from(argv).config;
        let store = storage::open_store(&config).await.unwrap();
        let App { router, state } = build_app(store, &config).await.unwrap();
        TestApp {
            admission: state.admission.clone(),
            store: state.store.clone(),
            lifecycle: state.lifecycle.clone(),
            router,
            _dir: dir,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(value) => {
                request = request.header("content-type", "application/json");
                Body::from(serde_json::to_vec(value).unwrap())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// Closes the store's pool, as at shutdown: every database call fails
    /// as unavailable from now on.
    pub async fn close_store(&self) {
        self.store.close().await;
    }

    /// Requests holding an admission slot now.
    pub fn requests_in_flight(&self) -> usize {
        self.admission.in_flight()
    }

    /// The todos of the user `subject`, read from the store itself, past
    /// any rate limit.
    pub async fn todos_of(&self, subject: &str) -> Vec<todo_core::Todo> {
        let owner = self.store.owner_of(subject).await.unwrap();
        let query = todo_core::ListQuery {
            limit: todo_core::MAX_LIMIT,
            ..todo_core::ListQuery::default()
        };
        self.store.list(owner, &query).await.unwrap().todos
    }

    /// Turns the service to draining, as SIGTERM does.
    pub fn start_draining(&self) {
        self.lifecycle.start_draining();
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.request(Method::GET, uri, None, &[]).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> TestResponse {
        self.request(Method::POST, uri, Some(&body), &[]).await
    }

    pub async fn patch(&self, uri: &str, body: Value) -> TestResponse {
        self.request(Method::PATCH, uri, Some(&body), &[]).await
    }

    pub async fn put(&self, uri: &str, body: Value) -> TestResponse {
        self.request(Method::PUT, uri, Some(&body), &[]).await
    }

    pub async fn delete(&self, uri: &str) -> TestResponse {
        self.request(Method::DELETE, uri, None, &[]).await
    }

    /// Creates a todo and returns it, failing the test on anything but 201.
    pub async fn create(&self, body: Value) -> Value {
        let response = self.post("/api/todo", body).await;
        assert_eq!(
            response.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        response.json()
    }

    /// Every todo, read through the listing's `Link` walk.
    pub async fn all_todos(&self) -> Vec<Value> {
        self.walk("/api/todo?sort=id&limit=1000").await
    }

    /// Follows `rel="next"` from `uri` until it is absent.
    pub async fn walk(&self, uri: &str) -> Vec<Value> {
        let mut todos = Vec::new();
        let mut next = Some(uri.to_owned());
        while let Some(uri) = next {
            let response = self.get(&uri).await;
            assert_eq!(
                response.status,
                StatusCode::OK,
                "{}",
                String::from_utf8_lossy(&response.body)
            );
            todos.extend(response.json().as_array().unwrap().iter().cloned());
            next = response.header("link").map(next_link);
        }
        todos
    }
}

/// The service as one caller sees it: every request carries
/// `Authorization: Bearer <token>`.
pub struct AsCaller<'a> {
    app: &'a TestApp,
    authorization: String,
}

impl TestApp {
    /// The service for the holder of `token`.
    pub fn as_caller(&self, token: &str) -> AsCaller<'_> {
        AsCaller {
            app: self,
            authorization: format!("Bearer {token}"),
        }
    }
}

impl AsCaller<'_> {
    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut all = vec![("authorization", self.authorization.as_str())];
        all.extend_from_slice(headers);
        self.app.request(method, uri, body, &all).await
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.request(Method::GET, uri, None, &[]).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> TestResponse {
        self.request(Method::POST, uri, Some(&body), &[]).await
    }

    /// Creates a todo and returns it, failing the test on anything but 201.
    pub async fn create(&self, body: Value) -> Value {
        let response = self.post("/api/todo", body).await;
        assert_eq!(
            response.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        response.json()
    }

    /// Every todo of the caller, read through the listing's `Link` walk.
    pub async fn all_todos(&self) -> Vec<Value> {
        let mut todos = Vec::new();
        let mut next = Some("/api/todo?sort=id&limit=1000".to_owned());
        while let Some(uri) = next {
            let response = self.get(&uri).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            todos.extend(response.json().as_array().unwrap().iter().cloned());
            next = response.header("link").map(next_link);
        }
        todos
    }
}

/// The target of a `Link: <...>; rel="next"` header.
pub fn next_link(header: &str) -> String {
    assert!(header.ends_with("; rel=\"next\""), "{header}");
    header
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(target, _)| target.to_owned())
        .unwrap()
}

/// The ids of a list of todos.
pub fn ids(todos: &[Value]) -> Vec<i64> {
    todos
        .iter()
        .map(|todo| todo["id"].as_i64().unwrap())
        .collect()
}

#[path = "../common/both_backends.rs"]
mod both_backends;
pub(crate) use both_backends::on_both_backends;

#[path = "../common/sse.rs"]
mod sse;
pub use sse::{SseEvent, SseParser};

/// An open event stream: its events as they arrive.
pub struct EventStream {
    body: Body,
    parser: SseParser,
    ready: std::collections::VecDeque<SseEvent>,
}

impl EventStream {
    /// The next event, if one comes within `within`.
    pub async fn next(&mut self, within: std::time::Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .ok()??
                .expect("the stream's body reads");
            if let Ok(bytes) = frame.into_data() {
                self.ready.extend(self.parser.push(&bytes));
            }
        }
    }

    /// The next `count` events, each within `within` of the last.
    pub async fn take(&mut self, count: usize, within: std::time::Duration) -> Vec<SseEvent> {
        let mut events = Vec::with_capacity(count);
        while events.len() < count {
            match self.next(within).await {
                Some(event) => events.push(event),
                None => panic!("{} of {count} events came", events.len()),
            }
        }
        events
    }

    /// Whether the stream ends within `within` (no more events came).
    pub async fn ends_within(&mut self, within: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) => return false,
                Ok(None) => return true,
                Ok(Some(frame)) => {
                    if let Ok(bytes) = frame.expect("the stream's body reads").into_data() {
                        self.ready.extend(self.parser.push(&bytes));
                    }
                }
            }
        }
    }

    /// Heartbeat comments seen so far.
    pub fn comments(&self) -> usize {
        self.parser.comments
    }
}

impl TestApp {
    /// Opens `GET uri` as an event stream; the whole answer when it is not
    /// one.
    pub async fn open_stream(
        &self,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> Result<EventStream, TestResponse> {
        let mut request = Request::builder().method(Method::GET).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        if response.status() != StatusCode::OK {
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            return Err(TestResponse {
                status,
                headers,
                body: body.to_vec(),
            });
        }
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "an event stream"
        );
        Ok(EventStream {
            body: response.into_body(),
            parser: SseParser::default(),
            ready: std::collections::VecDeque::new(),
        })
    }

    /// The store under the service.
    pub fn store(&self) -> &Arc<dyn TodoStore> {
        &self.store
    }

    /// Ends the event streams, as the server does when it stops.
    pub fn end_streams(&self) {
        self.lifecycle.end_streams();
    }
}
