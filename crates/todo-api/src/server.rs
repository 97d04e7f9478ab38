//! Accepting connections and serving the router over them, with the limits
//! against hostile clients (header read timeout, head size) and a graceful
//! shutdown bounded by a grace period.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::Notify;
use tower::ServiceExt;

/// How connections are accepted and served.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Pending connections the socket holds before the kernel refuses more.
    pub listen_backlog: u32,
    /// Longest time a client may take to send a request's head.
    pub header_read_timeout: Duration,
    /// Largest request head, in bytes.
    pub max_header_bytes: usize,
    /// How long requests in flight may take to finish after shutdown began.
    pub shutdown_grace: Duration,
}

/// Lets a handler close its request's connection, whatever the connection
/// is doing: an event stream whose client stopped reading is dropped this
/// way, since the connection, blocked on writing, no longer asks the
/// stream for more.
#[derive(Debug, Clone, Default)]
pub struct ConnectionCloser(Arc<Notify>);

impl ConnectionCloser {
    /// Closes the connection (once its task next runs).
    pub fn close(&self) {
        self.0.notify_one();
    }

    async fn closed(&self) {
        self.0.notified().await;
    }
}

/// Binds the listening socket with the configured backlog (the standard
/// library's default of 128 would refuse a burst of new clients).
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops
/// accepting, lets requests in flight finish for at most the grace period,
/// and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Small JSON answers should leave at once, not wait for
                    // Nagle's algorithm.
                    let _ = stream.set_nodelay(true);
                    // The client's address goes with each request, for the
                    // rate limits of the anonymous user.
                    let closer = ConnectionCloser::default();
                    let service = app.clone().map_request({
                        let closer = closer.clone();
                        move |request: Request<Incoming>| {
                            let mut request = request.map(Body::new);
                            request.extensions_mut().insert(ConnectInfo(peer));
                            request.extensions_mut().insert(closer.clone());
                            request
                        }
                    });
                    let watcher = graceful.watcher();
                    tokio::spawn(async move {
                        let connection = connection_builder(limits)
                            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
                        tokio::select! {
                            served = watcher.watch(connection) => if let Err(error) = served {
                                tracing::debug!(%error, "connection ended with an error");
                            },
                            // Dropping the connection closes its socket and
                            // frees what it had buffered for the client.
                            () = closer.closed() => tracing::debug!("connection closed by its handler"),
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors, most likely: back off briefly
                    // rather than spin; connections in flight free some.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let open = graceful.count();
    tracing::info!(open, "stopped accepting; waiting for requests in flight");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("every connection closed"),
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(grace_ms = limits.shutdown_grace.as_millis() as u64, "grace period over; closing the connections still open");
        }
    }
}

/// HTTP/1.1 only: the contract's clients speak it, and a connection that
/// need not be sniffed for HTTP/2 costs less memory, which matters with
/// thousands of idle keep-alive connections. The header read timeout also
/// closes a keep-alive connection left idle that long.
fn connection_builder(limits: ServerLimits) -> Builder {
    let mut builder = Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes);
    builder
}
