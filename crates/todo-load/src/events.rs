//! A client of the event stream (`GET /api/todo/events`, API.md,
//! "Changes"): its own connection, the response read as it arrives, cut
//! into events.

use std::collections::VecDeque;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, HOST};
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1::handshake;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::client::{CONNECT_TIMEOUT, ClientError};
use crate::service_url::ServiceUrl;

/// One event: its type (`upsert`, `delete`), its id (a cursor) and its
/// data (JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEvent {
    pub event: String,
    pub id: String,
    pub data: String,
}

/// An open stream.
#[derive(Debug)]
pub struct EventStream {
    body: Incoming,
    buffer: String,
    ready: VecDeque<StreamEvent>,
}

/// Why a stream could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("the service answered {0} instead of a stream")]
    Refused(StatusCode),
}

impl EventStream {
    /// Opens `path` on `service` as a stream, with `authorization` if given.
    pub async fn open(
        service: &ServiceUrl,
        path: &str,
        authorization: Option<&HeaderValue>,
    ) -> Result<EventStream, StreamError> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(service.addr))
            .await
            .map_err(|_| ClientError::ConnectTimeout(CONNECT_TIMEOUT))?
            .map_err(ClientError::Connect)?;
        stream.set_nodelay(true).map_err(ClientError::Connect)?;
        let (mut sender, connection) = handshake(TokioIo::new(stream))
            .await
            .map_err(ClientError::from)?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(HOST, &service.host)
            .header(ACCEPT, "text/event-stream");
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .map_err(ClientError::from)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(ClientError::from)?;
        if response.status() != StatusCode::OK {
            return Err(StreamError::Refused(response.status()));
        }
        Ok(EventStream {
            body: response.into_body(),
            buffer: String::new(),
            ready: VecDeque::new(),
        })
    }

    /// The next event; `None` when the stream ends, an error when it breaks.
    pub async fn next(&mut self) -> Option<Result<StreamEvent, ClientError>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            match self.body.frame().await? {
                Err(error) => return Some(Err(ClientError::from(error))),
                Ok(frame) => {
                    if let Ok(bytes) = frame.into_data() {
                        self.buffer.push_str(&String::from_utf8_lossy(&bytes));
                        self.cut_events();
                    }
                }
            }
        }
    }

    /// Moves the whole events of the buffer to `ready`; comments
    /// (heartbeats) are dropped.
    fn cut_events(&mut self) {
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut event = StreamEvent {
                event: "message".to_owned(),
                id: String::new(),
                data: String::new(),
            };
            let mut has_data = false;
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    value.trim_start().clone_into(&mut event.event);
                } else if let Some(value) = line.strip_prefix("id:") {
                    value.trim_start().clone_into(&mut event.id);
                } else if let Some(value) = line.strip_prefix("data:") {
                    value.trim_start().clone_into(&mut event.data);
                    has_data = true;
                }
            }
            if has_data {
                self.ready.push_back(event);
            }
        }
    }
}
