//! A small HTTP client for one service, and the responses it reads.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

/// The default bound of one HTTP exchange; a slower one is a hang.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// A response, its body read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// From sending the request to the end of the body.
    pub elapsed: Duration,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Status and body, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "{} in {:?}: {}",
            self.status,
            self.elapsed,
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// A small HTTP client bound to one service's address; cheap to clone
/// into tasks.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    pub(super) fn new(addr: SocketAddr) -> Client {
        let http = reqwest::Client::builder()
            .timeout(CLIENT_TIMEOUT)
            // A new connection per request: the service closes keep-alive
            // connections idle past its header read timeout, which some
            // tests set low, and a reused closed one would fail the request.
            .pool_max_idle_per_host(0)
            .no_proxy()
            .build()
            .expect("an HTTP client");
        Client {
            http,
            base: format!("http://{addr}"),
        }
    }

    /// A request to `path` on this service, to finish with [`Client::send`].
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// Sends `request` and reads the whole body; a transport error (refused,
    /// reset, timed out) is returned, not a panic.
    pub async fn send(&self, request: RequestBuilder) -> Result<Reply, reqwest::Error> {
        let started = Instant::now();
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?.to_vec();
        Ok(Reply {
            status,
            headers,
            body,
            elapsed: started.elapsed(),
        })
    }

    pub async fn get(&self, path: &str) -> Reply {
        let request = self.request(Method::GET, path);
        self.send(request)
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {}", error_chain(&error)))
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        let request = self.request(Method::POST, path).json(body);
        self.send(request)
            .await
            .unwrap_or_else(|error| panic!("POST {path}: {}", error_chain(&error)))
    }

    /// `POST /api/todo` with an `Idempotency-Key`.
    pub async fn post_keyed(&self, key: &str, body: &Value) -> Reply {
        let request = self
            .request(Method::POST, "/api/todo")
            .header("Idempotency-Key", key)
            .json(body);
        self.send(request)
            .await
            .unwrap_or_else(|error| panic!("POST /api/todo (key {key}): {}", error_chain(&error)))
    }

    /// Creates one todo, expecting 201; returns it.
    pub async fn create(&self, body: &Value) -> Value {
        let reply = self.post("/api/todo", body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.describe());
        reply.json()
    }

    /// Every todo, in id order (at most 1000: tests make fewer).
    pub async fn all_todos(&self) -> Vec<Value> {
        let reply = self.get("/api/todo?sort=id&limit=1000").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.describe());
        let todos = reply.json().as_array().expect("a list").clone();
        assert!(todos.len() < 1000, "more todos than one page holds");
        todos
    }
}

/// An error and its sources, `: `-separated: reqwest's own message alone
/// does not say whether the connection was refused or reset.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    for _ in 0..10 {
        let Some(cause) = source else { break };
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
