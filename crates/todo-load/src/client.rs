//! One simulated client's own HTTP/1.1 connection (hyper), never shared or
//! pooled, so `N` clients really are `N` connections to the server.

use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{SendRequest, handshake};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

use crate::failure::FailureKind;
use crate::service_url::ServiceUrl;

/// How long connecting may take: long enough for the kernel's SYN retries
/// (1 s, 3 s, 7 s) when a full listen backlog dropped the first ones.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How many times `send_retrying` sends a request, and the pause in
/// between: ten seconds in all, longer than an instance takes to restart.
const RETRY_ATTEMPTS: u32 = 50;
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// A failed connect or request.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect: {0}")]
    Connect(#[source] std::io::Error),
    #[error("connecting took longer than {0:?}")]
    ConnectTimeout(Duration),
    #[error("HTTP error: {0}")]
    Http(#[from] hyper::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot build the request: {0}")]
    Request(#[from] http::Error),
}

impl ClientError {
    pub fn kind(&self) -> FailureKind {
        match self {
            ClientError::Connect(error) => FailureKind::of_connect(error),
            ClientError::ConnectTimeout(_) => FailureKind::ConnectTimeout,
            ClientError::Http(error)
                if error.is_closed() || error.is_incomplete_message() || error.is_canceled() =>
            {
                FailureKind::ConnectionReset
            }
            ClientError::Http(_) | ClientError::Request(_) => FailureKind::Http,
            ClientError::Timeout(_) => FailureKind::RequestTimeout,
        }
    }
}

/// An answer, its body read whole.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The `id` of a todo answer.
    pub fn todo_id(&self) -> Option<i64> {
        self.json()?.get("id")?.as_i64()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// Where the `Link` header's `rel="next"` points, as a path and query.
    pub fn next_link(&self) -> Option<String> {
        self.header("link").and_then(next_link)
    }
}

/// The path and query of the `rel="next"` target of a `Link` header, the
/// target relative or absolute.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|link| {
        let (target, params) = link.trim().split_once(';')?;
        let is_next = params
            .split(';')
            .any(|param| matches!(param.replace(' ', "").as_str(), "rel=\"next\"" | "rel=next"));
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let path = match target.find("://") {
            Some(scheme) => {
                let rest = &target[scheme + 3..];
                &rest[rest.find('/')?..]
            }
            None => target,
        };
        is_next.then(|| path.to_owned())
    })
}

/// One open connection.
#[derive(Debug)]
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    /// Where it was opened to, to open it again (`send_retrying`).
    service: ServiceUrl,
    /// The `Authorization` header its requests carry, if any.
    authorization: Option<HeaderValue>,
}

impl Connection {
    /// Opens a connection to `service`.
    pub async fn open(service: &ServiceUrl) -> Result<Connection, ClientError> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(service.addr))
            .await
            .map_err(|_| ClientError::ConnectTimeout(CONNECT_TIMEOUT))?
            .map_err(ClientError::Connect)?;
        // Requests are small and answered one at a time: Nagle would only
        // add delay.
        stream.set_nodelay(true).map_err(ClientError::Connect)?;
        let (sender, connection) = handshake(TokioIo::new(stream)).await?;
        // The driver ends when the connection closes or the sender drops.
        tokio::spawn(connection);
        Ok(Connection {
            sender,
            host: service.host.clone(),
            service: service.clone(),
            authorization: None,
        })
    }

    /// Sends the next requests with this `Authorization` header (a user's
    /// `Bearer` token), or with none.
    pub fn authorize(&mut self, authorization: Option<&HeaderValue>) {
        self.authorization = authorization.cloned();
    }

    /// Whether the server has closed this connection.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, ClientError> {
        self.send_with(method, path, body, &HeaderMap::new()).await
    }

    /// Sends one request with these headers besides the usual ones (an
    /// `Idempotency-Key`, say) and reads the whole answer.
    pub async fn send_with(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &HeaderMap,
    ) -> Result<Response, ClientError> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.host);
        if let Some(authorization) = &self.authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let bytes = match body {
            Some(body) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let request = request.body(Full::new(bytes))?;
        let exchange = async {
            self.sender.ready().await?;
            let response = self.sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, hyper::Error>(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| ClientError::Timeout(REQUEST_TIMEOUT))?
            .map_err(ClientError::from)
    }

    pub async fn get(&mut self, path: &str) -> Result<Response, ClientError> {
        self.send(Method::GET, path, None).await
    }

    /// A GET that is sent again while the answer is 502, 503 or 504 (a
    /// load balancer between instances, one of them restarting): safe for
    /// a GET, and what a checker reading back a run must do.
    pub async fn get_retrying(&mut self, path: &str) -> Result<Response, ClientError> {
        self.send_retrying(Method::GET, path, None, &HeaderMap::new())
            .await
    }

    /// [`Connection::send_with`], sent again while the answer is 502, 503
    /// or 504 or the connection fails (opened again: a load balancer closes
    /// the connection after an answer of its own). Only for requests that
    /// may be repeated: a GET, a PATCH to given values, or a create with an
    /// `Idempotency-Key` in `headers`.
    pub async fn send_retrying(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &HeaderMap,
    ) -> Result<Response, ClientError> {
        let mut attempts = 1;
        loop {
            let result = match self.reopen_if_closed().await {
                Ok(()) => self.send_with(method.clone(), path, body, headers).await,
                Err(error) => Err(error),
            };
            let unavailable = match &result {
                Ok(response) => matches!(response.status.as_u16(), 502..=504),
                Err(_) => true,
            };
            if !unavailable || attempts == RETRY_ATTEMPTS {
                return result;
            }
            attempts += 1;
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    /// Opens the connection again, with the same `Authorization`, when the
    /// server has closed it.
    async fn reopen_if_closed(&mut self) -> Result<(), ClientError> {
        if self.is_closed() {
            let authorization = self.authorization.take();
            *self = Connection::open(&self.service).await?;
            self.authorization = authorization;
        }
        Ok(())
    }

    pub async fn post(&mut self, path: &str, body: &Value) -> Result<Response, ClientError> {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&mut self, path: &str, body: &Value) -> Result<Response, ClientError> {
        self.send(Method::PATCH, path, Some(body)).await
    }
}

/// Polls `/health` until it answers 200, for at most `within`.
pub async fn wait_healthy(service: &ServiceUrl, within: Duration) -> Result<(), ClientError> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let attempt = async {
            let mut connection = Connection::open(service).await?;
            connection.get("/health").await
        };
        match attempt.await {
            Ok(response) if response.status == StatusCode::OK => return Ok(()),
            Ok(_) | Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(_) => return Err(ClientError::Timeout(within)),
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_read_relative_or_absolute() {
        assert_eq!(
            next_link(r#"</api/todo?cursor=abc&limit=10>; rel="next""#).as_deref(),
            Some("/api/todo?cursor=abc&limit=10")
        );
        assert_eq!(
            next_link(r#"<http://127.0.0.1:8000/api/todo?cursor=x>; rel="next""#).as_deref(),
            Some("/api/todo?cursor=x")
        );
        assert_eq!(
            next_link(r#"</api/todo?cursor=p>; rel="prev", </api/todo?cursor=n>; rel=next"#)
                .as_deref(),
            Some("/api/todo?cursor=n")
        );
        assert_eq!(next_link(r#"</api/todo?x>; rel="prev""#), None);
    }
}
