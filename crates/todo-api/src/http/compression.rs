//! Response compression (gzip, br) for the clients that ask for it, and
//! only for bodies worth it.
//!
//! A request without `Accept-Encoding` bypasses the compression layer
//! altogether: the layer reads the header and wraps the body of every
//! response it passes, which cost a read about 7% of the service's CPU
//! even when nothing was compressed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::http::header::ACCEPT_ENCODING;
use axum::http::{Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tower_http::compression::predicate::{And, NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{Compression, CompressionLayer};

/// Bodies smaller than this go as they are: a single todo (a few hundred
/// bytes) gains too little from compression to pay for it.
const MIN_COMPRESSED_BYTES: u16 = 1024;

/// Compresses the responses of the service it wraps for the clients that
/// accept an encoding.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompressWhenAccepted;

impl<S: Clone> Layer<S> for CompressWhenAccepted {
    type Service = MaybeCompressed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let worth_it = SizeAbove::new(MIN_COMPRESSED_BYTES)
            .and(NotForContentType::GRPC)
            .and(NotForContentType::IMAGES)
            .and(NotForContentType::SSE);
        MaybeCompressed {
            compressed: CompressionLayer::new()
                .compress_when(worth_it)
                .layer(inner.clone()),
            plain: inner,
        }
    }
}

/// Which responses are compressed: large enough, and neither gRPC, nor an
/// image, nor an event stream (the layer's own exclusions).
type WorthIt = And<And<And<SizeAbove, NotForContentType>, NotForContentType>, NotForContentType>;

/// The service [`CompressWhenAccepted`] makes: the same routes with and
/// without the compression layer.
#[derive(Clone)]
pub struct MaybeCompressed<S> {
    plain: S,
    compressed: Compression<S, WorthIt>,
}

impl<S> std::fmt::Debug for MaybeCompressed<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaybeCompressed").finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for MaybeCompressed<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Answer<S::Future, <Compression<S, WorthIt> as Service<Request<B>>>::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Either may take the request, so both must be ready.
        match self.plain.poll_ready(cx)? {
            Poll::Ready(()) => self.compressed.poll_ready(cx),
            Poll::Pending => Poll::Pending,
        }
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.headers().contains_key(ACCEPT_ENCODING) {
            Answer::Compressed {
                future: self.compressed.call(request),
            }
        } else {
            Answer::Plain {
                future: self.plain.call(request),
            }
        }
    }
}

pin_project! {
    /// The answer of one of the two services, with its body boxed the
    /// way the router boxes every body.
    #[project = AnswerProjection]
    pub enum Answer<P, C> {
        Plain { #[pin] future: P },
        Compressed { #[pin] future: C },
    }
}

impl<P, C, CBody, E> Future for Answer<P, C>
where
    P: Future<Output = Result<Response<Body>, E>>,
    C: Future<Output = Result<Response<CBody>, E>>,
    CBody: HttpBody<Data = Bytes> + Send + 'static,
    CBody::Error: Into<axum::BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AnswerProjection::Plain { future } => future.poll(cx),
            AnswerProjection::Compressed { future } => future
                .poll(cx)
                .map(|answer| answer.map(|response| response.map(Body::new))),
        }
    }
}
