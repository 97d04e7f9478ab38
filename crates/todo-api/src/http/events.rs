//! `GET /api/todo/events`: the caller's changes as server-sent events
//! (API.md, "Changes").
//!
//! A stream is a task of its own that reads the change log from its cursor
//! and sends each change as an event whose `id` is the cursor after it; it
//! reads again when the change hub wakes it (a change of its user, here or
//! on another instance), every `EVENTS_POLL_MS` in case a notification was
//! lost, and at once while a read says more follow. The catch-up and the
//! live part are the same loop over the same cursor, so nothing falls
//! between them and nothing is sent twice.
//!
//! The task hands events to the response through a bounded channel: a
//! client that stops reading fills it, and once a send has waited
//! `EVENTS_SEND_TIMEOUT_MS` the stream and its connection are dropped, so
//! nothing is buffered without bound.

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use todo_core::{ChangeCursor, ChangePage, Loc, Owner, StoreError, ValidationErrors};
use tokio::sync::mpsc::error::SendTimeoutError;
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use super::auth::Principal;
use super::error::ApiError;
use super::extract::QueryPairs;
use super::openapi::CommonErrorResponses;
use super::openapi::changes::{EventsParams, GoneResponse, LastEventIdHeader};
use super::state::AppState;
use crate::change_hub::Subscription;
use crate::server::ConnectionCloser;

/// The header a reconnecting `EventSource` sends with the last id it saw.
const LAST_EVENT_ID: &str = "last-event-id";

/// Changes read from the log at a time.
const PAGE: u16 = 100;

/// Events waiting for the client at most.
const BUFFERED_EVENTS: usize = 256;

/// How long a stream waits before reading the log again after a failed
/// read (the database restarting, say).
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// `GET /api/todo/events`
#[utoipa::path(
    get,
    path = "/api/todo/events",
    tag = "changes",
    summary = "Live changes (server-sent events)",
    description = "Each change is an event: `event: upsert` with the todo as `data`, or \
        `event: delete` with `{\"id\": N}`; each event's `id` is a `changes` cursor. A client \
        reconnecting with `Last-Event-ID` (or `?since=`) gets every change it has not seen, then \
        the live ones. A comment line comes every 15 s. The stream ends when the service stops; \
        reconnect then.",
    params(EventsParams, LastEventIdHeader),
    responses(
        (
            status = 200,
            description = "The stream of events",
            content_type = "text/event-stream",
            body = String,
            example = "id: AQAAAAAAAAAqAAAAAAAAACo8f3Qx\nevent: delete\ndata: {\"id\":41}\n\n",
        ),
        GoneResponse, CommonErrorResponses,
    ),
)]
pub async fn stream_events(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    QueryPairs(params): QueryPairs,
    closer: Option<Extension<ConnectionCloser>>,
) -> Result<Response, ApiError> {
    let owner = principal.owner;
    let start = start_cursor(&headers, &params, owner)?;
    let permit = state
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::TooManyStreams)?;
    // Subscribed before the first read, so a change committed during it
    // wakes the stream.
    let mut subscription = state.hub.subscribe(owner);
    subscription.mark_seen();
    // The first read answers here, so that an expired cursor is a 410 and
    // a database that cannot be reached a 503.
    let (cursor, first) = match start {
        Some(cursor) => (
            cursor,
            Some(state.store.changes(owner, Some(cursor), PAGE).await?),
        ),
        None => (state.store.change_head(owner).await?, None),
    };
    let (events, received) = mpsc::channel(BUFFERED_EVENTS);
    let follower = Follower {
        state: state.clone(),
        owner,
        cursor,
        subscription,
        events,
        closer: closer.map(|Extension(closer)| closer),
        _permit: permit,
    };
    tokio::spawn(follower.run(first));
    let stream = tokio_stream(received).map(Ok::<_, Infallible>);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(state.settings.events_heartbeat))
        .into_response())
}

/// The events a receiver gets, as a stream.
fn tokio_stream(mut received: mpsc::Receiver<Event>) -> impl futures::Stream<Item = Event> {
    futures::stream::poll_fn(move |context| received.poll_recv(context))
}

/// Where the stream starts: `Last-Event-ID` (a reconnecting client's
/// latest), else `since`, else `None` (from now on).
fn start_cursor(
    headers: &HeaderMap,
    params: &[(String, String)],
    owner: Owner,
) -> Result<Option<ChangeCursor>, ValidationErrors> {
    if let Some(value) = headers.get(LAST_EVENT_ID) {
        let text = value.to_str().unwrap_or_default();
        return ChangeCursor::parse(text, Loc::header("Last-Event-ID"), owner)
            .map(Some)
            .map_err(ValidationErrors::from);
    }
    match params.iter().rev().find(|(name, _)| name == "since") {
        Some((_, text)) => ChangeCursor::parse(text, Loc::query("since"), owner)
            .map(Some)
            .map_err(ValidationErrors::from),
        None => Ok(None),
    }
}

/// One stream's task: its place in its user's log and where its events go.
struct Follower {
    state: AppState,
    owner: Owner,
    cursor: ChangeCursor,
    subscription: Subscription,
    events: mpsc::Sender<Event>,
    closer: Option<ConnectionCloser>,
    /// Held while the stream is open (`MAX_EVENT_STREAMS`).
    _permit: OwnedSemaphorePermit,
}

/// Why a stream stopped.
enum Stop {
    /// The client went away, or the service is stopping.
    Done,
    /// The client stopped reading.
    Slow,
}

impl Follower {
    async fn run(mut self, first: Option<ChangePage>) {
        let metrics = self.state.hub.metrics().clone();
        metrics.streams_open.increment(1.0);
        match self.follow(first).await {
            Stop::Done => {}
            Stop::Slow => {
                metrics.dropped_slow.increment(1);
                tracing::info!("event stream dropped: its client stopped reading");
                if let Some(closer) = &self.closer {
                    closer.close();
                }
            }
        }
        metrics.streams_open.decrement(1.0);
    }

    async fn follow(&mut self, mut page: Option<ChangePage>) -> Stop {
        let mut ending = self.state.lifecycle.streams_ending();
        let metrics = self.state.hub.metrics().clone();
        loop {
            if *ending.borrow_and_update() {
                return Stop::Done;
            }
            let current = match page.take() {
                Some(page) => page,
                None => {
                    match self
                        .subscription
                        .read(&self.state.store, self.cursor, PAGE)
                        .await
                    {
                        Ok(page) => page,
                        // The client reconnects with its last id and is
                        // told to start again.
                        Err(StoreError::ChangesExpired) => return Stop::Done,
                        Err(error) => {
                            tracing::warn!(%error, "an event stream cannot read the change log; retrying");
                            tokio::select! {
                                () = tokio::time::sleep(RETRY_DELAY) => continue,
                                _ = ending.changed() => return Stop::Done,
                                () = self.events.closed() => return Stop::Done,
                            }
                        }
                    }
                }
            };
            for numbered in &current.changes {
                let cursor = self.cursor.past(numbered.number);
                let data = String::from_utf8_lossy(&numbered.change.event_data()).into_owned();
                let event = Event::default()
                    .event(numbered.change.op())
                    .id(cursor.encode(self.owner))
                    .data(data);
                match self
                    .events
                    .send_timeout(event, self.state.settings.events_send_timeout)
                    .await
                {
                    Ok(()) => metrics.events_sent.increment(1),
                    Err(SendTimeoutError::Timeout(_)) => return Stop::Slow,
                    Err(SendTimeoutError::Closed(_)) => return Stop::Done,
                }
                self.cursor = cursor;
            }
            self.cursor = current.cursor;
            if current.has_more {
                continue;
            }
            tokio::select! {
                () = self.subscription.changed() => {}
                () = tokio::time::sleep(self.state.settings.events_poll) => {}
                _ = ending.changed() => return Stop::Done,
                () = self.events.closed() => return Stop::Done,
            }
        }
    }
}
