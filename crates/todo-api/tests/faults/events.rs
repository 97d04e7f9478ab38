//! The change feed through the real binary (API.md, "Changes"): a stream
//! resumed with `Last-Event-ID` after a drop in the middle of a burst,
//! two instances on one PostgreSQL (a write through one reaches the other's
//! streams within a second), many writers on two instances with readers
//! following all along, PostgreSQL restarted under open streams, SIGTERM,
//! and a client that stops reading.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;

use crate::support::{
    Backend, Client, Database, ExclusiveCluster, Service, SseEvent, SseParser, on_both_backends,
};

on_both_backends!(a_stream_resumed_with_last_event_id_after_a_drop_mid_burst_misses_nothing);

/// Kept small: several instances share the cluster's connections.
const ARGS: &[&str] = &["--pool-size", "4"];

const SOON: Duration = Duration::from_secs(10);

/// An event stream read over a real connection.
struct Stream {
    response: reqwest::Response,
    parser: SseParser,
    ready: std::collections::VecDeque<SseEvent>,
}

impl Stream {
    /// Opens `GET /api/todo/events` on `service`, resuming after
    /// `last_event_id` when given.
    async fn open(service: &Service, last_event_id: Option<&str>) -> Stream {
        // No overall timeout: a stream lasts as long as the test wants.
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut request = http.get(format!("http://{}/api/todo/events", service.addr()));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("the stream opens");
        assert_eq!(response.status(), StatusCode::OK);
        Stream {
            response,
            parser: SseParser::default(),
            ready: std::collections::VecDeque::new(),
        }
    }

    /// The next event, if one comes within `within`; `None` also when the
    /// stream ends.
    async fn next(&mut self, within: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .ok()??;
            self.ready.extend(self.parser.push(&chunk));
        }
    }

    /// Whether the stream ends (cleanly) within `within`.
    async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return false,
                Ok(Ok(None)) => return true,
                Ok(Ok(Some(chunk))) => self.ready.extend(self.parser.push(&chunk)),
                Ok(Err(error)) => panic!("the stream broke instead of ending: {error}"),
            }
        }
    }
}

/// A copy of the todos kept from events, which panics on an event seen
/// twice: an upsert of a todo at a state already applied, or a second
/// delete.
#[derive(Debug, Default)]
struct EventCopy {
    todos: BTreeMap<i64, Value>,
    seen: BTreeSet<(i64, String)>,
    last_id: Option<String>,
}

impl EventCopy {
    fn apply(&mut self, event: &SseEvent) {
        let id = event.data["id"].as_i64().unwrap();
        let state = match event.event.as_str() {
            "upsert" => event.data["updated_at"].as_str().unwrap().to_owned(),
            "delete" => "deleted".to_owned(),
            other => panic!("unknown event {other}"),
        };
        assert!(self.seen.insert((id, state)), "event seen twice: {event:?}");
        if event.event == "upsert" {
            self.todos.insert(id, event.data.clone());
        } else {
            self.todos.remove(&id);
        }
        self.last_id = Some(event.id.clone());
    }

    /// Reads `stream` until it has been quiet for `quiet`.
    async fn follow_until_quiet(&mut self, stream: &mut Stream, quiet: Duration) {
        while let Some(event) = stream.next(quiet).await {
            self.apply(&event);
        }
    }

    fn assert_equals(&self, todos: &[Value]) {
        let expected: BTreeMap<i64, Value> = todos
            .iter()
            .map(|todo| (todo["id"].as_i64().unwrap(), todo.clone()))
            .collect();
        assert_eq!(self.todos, expected, "the copy and the database differ");
    }
}

async fn a_stream_resumed_with_last_event_id_after_a_drop_mid_burst_misses_nothing(
    backend: Backend,
) {
    let database = Database::new(backend).await;
    let service = Service::start(&database, ARGS).await;
    let mut copy = EventCopy::default();
    let mut stream = Stream::open(&service, None).await;
    let writing = Arc::new(AtomicBool::new(true));
    let burst = {
        let client = service.client();
        let writing = Arc::clone(&writing);
        tokio::spawn(async move {
            burst(&client, 300).await;
            writing.store(false, Ordering::Release);
        })
    };
    // Drop the connection after some of the burst, mid-way.
    while copy.seen.len() < 60 {
        let event = stream.next(SOON).await.expect("events of the burst");
        copy.apply(&event);
    }
    drop(stream);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut resumed = Stream::open(&service, copy.last_id.as_deref()).await;
    burst.await.unwrap();
    assert!(!writing.load(Ordering::Acquire));
    copy.follow_until_quiet(&mut resumed, Duration::from_secs(1))
        .await;
    copy.assert_equals(&service.all_todos().await);
}

/// Creates `count` todos, updates every third and deletes every fifth,
/// one request at a time.
async fn burst(client: &Client, count: usize) {
    for index in 0..count {
        let todo = client
            .create(&json!({"title": format!("burst {index}")}))
            .await;
        let path = format!("/api/todo/{}", todo["id"]);
        if index % 3 == 0 {
            let reply = client
                .send(
                    client
                        .request(reqwest::Method::PATCH, &path)
                        .json(&json!({"completed": true})),
                )
                .await
                .unwrap();
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.describe());
        }
        if index % 5 == 0 {
            let reply = client
                .send(client.request(reqwest::Method::DELETE, &path))
                .await
                .unwrap();
            assert_eq!(reply.status, StatusCode::NO_CONTENT);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_instance_reaches_a_stream_on_the_other_within_a_second() {
    let database = Database::new(Backend::Postgres).await;
    // B listens through a URL of its own, as it would behind PgBouncer.
    let listen_args = [ARGS, &["--database-listen-url", database.url()]].concat();
    let (a, b) = tokio::join!(
        Service::start(&database, ARGS),
        Service::start(&database, &listen_args)
    );
    let mut on_b = Stream::open(&b, None).await;
    for round in 0..5 {
        let started = Instant::now();
        let made = a
            .create(&json!({"title": format!("through A {round}")}))
            .await;
        let event = on_b.next(Duration::from_secs(1)).await.unwrap_or_else(|| {
            panic!(
                "no event on B within a second of the write on A:\n{}",
                b.log()
            )
        });
        assert_eq!(event.data, made);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    let metrics = b.get("/metrics").await;
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        text.contains("todo_change_notification_lag_seconds_count"),
        "the lag of other instances' notifications is measured"
    );
}

const WRITERS: usize = 8;
const WRITES_PER_WRITER: usize = 40;

/// The ordering test over HTTP: writers on two instances create, update,
/// bulk update and delete at once; one reader polls `changes` on one
/// instance and another follows the event stream of the other, all along.
/// Both copies end equal to the database, and neither saw a change twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_on_two_instances_and_followers_all_along_end_with_the_database() {
    let database = Database::new(Backend::Postgres).await;
    let (a, b) = tokio::join!(
        Service::start(&database, ARGS),
        Service::start(&database, ARGS)
    );
    let seeds: Vec<Value> = a
        .post(
            "/api/todo/bulk",
            &json!(
                (0..200)
                    .map(|n| json!({"title": format!("seed {n}")}))
                    .collect::<Vec<_>>()
            ),
        )
        .await
        .json()
        .as_array()
        .unwrap()
        .clone();
    let mut stream = Stream::open(&b, None).await;
    let start = a.get("/api/todo/changes?limit=1000").await.json();
    assert_eq!(start["has_more"], false);
    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let client = a.client();
        let done = Arc::clone(&done);
        let cursor = start["cursor"].as_str().unwrap().to_owned();
        let mut todos: BTreeMap<i64, Value> = start["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|change| {
                (
                    change["todo"]["id"].as_i64().unwrap(),
                    change["todo"].clone(),
                )
            })
            .collect();
        tokio::spawn(async move {
            let mut cursor = cursor;
            let mut seen = BTreeSet::new();
            loop {
                let finished = done.load(Ordering::Acquire);
                loop {
                    let page = client
                        .get(&format!("/api/todo/changes?since={cursor}&limit=7"))
                        .await
                        .json();
                    for change in page["changes"].as_array().unwrap() {
                        let (id, state) = if change["op"] == "upsert" {
                            let todo = &change["todo"];
                            todos.insert(todo["id"].as_i64().unwrap(), todo.clone());
                            (todo["id"].as_i64().unwrap(), todo["updated_at"].to_string())
                        } else {
                            let id = change["id"].as_i64().unwrap();
                            todos.remove(&id);
                            (id, "deleted".to_owned())
                        };
                        assert!(seen.insert((id, state)), "a change polled twice: {change}");
                    }
                    cursor = page["cursor"].as_str().unwrap().to_owned();
                    if page["has_more"] == false {
                        break;
                    }
                }
                if finished {
                    return todos;
                }
            }
        })
    };
    let mut writers = JoinSet::new();
    for writer in 0..WRITERS {
        let client = if writer % 2 == 0 {
            a.client()
        } else {
            b.client()
        };
        let mine: Vec<i64> = seeds[writer * 25..(writer + 1) * 25]
            .iter()
            .map(|todo| todo["id"].as_i64().unwrap())
            .collect();
        writers.spawn(write_at_random(client, writer, mine));
    }
    writers.join_all().await;
    done.store(true, Ordering::Release);
    let polled = tokio::time::timeout(SOON, poller)
        .await
        .expect("the poller finishes")
        .unwrap();
    let all = a.all_todos().await;
    let expected: BTreeMap<i64, Value> = all
        .iter()
        .map(|todo| (todo["id"].as_i64().unwrap(), todo.clone()))
        .collect();
    assert_eq!(polled, expected, "the polled copy and the database differ");
    // The stream started after the seeds: its copy starts from them.
    let mut copy = EventCopy {
        todos: seeds
            .iter()
            .map(|todo| (todo["id"].as_i64().unwrap(), todo.clone()))
            .collect(),
        ..EventCopy::default()
    };
    copy.follow_until_quiet(&mut stream, Duration::from_secs(2))
        .await;
    copy.assert_equals(&all);
}

/// A writer's work: its own seeds updated one by one and in bulk, todos
/// made and deleted, a delete by filter of its own.
async fn write_at_random(client: Client, writer: usize, mine: Vec<i64>) {
    let mut made = Vec::new();
    for step in 0..WRITES_PER_WRITER {
        let (method, path, body) = match step % 5 {
            0 => (
                reqwest::Method::POST,
                "/api/todo".to_owned(),
                json!({"title": format!("w{writer} s{step}"), "priority": 1 + step % 5}),
            ),
            1 => (
                reqwest::Method::PATCH,
                format!("/api/todo/{}", mine[step % mine.len()]),
                json!({"title": format!("w{writer} u{step}")}),
            ),
            2 => (
                reqwest::Method::PATCH,
                "/api/todo/bulk".to_owned(),
                json!(
                    mine[..5]
                        .iter()
                        .map(|id| json!({"id": id, "priority": 1 + step % 5}))
                        .collect::<Vec<_>>()
                ),
            ),
            // Every other todo made is deleted by id, the others by filter.
            3 if step % 10 == 8 => continue,
            3 => match made.pop() {
                Some(id) => (
                    reqwest::Method::DELETE,
                    format!("/api/todo/{id}"),
                    Value::Null,
                ),
                None => continue,
            },
            _ => (
                reqwest::Method::DELETE,
                format!("/api/todo?q=w{writer}%20s{}", step - 4),
                Value::Null,
            ),
        };
        let mut request = client.request(method, &path);
        if !body.is_null() {
            request = request.json(&body);
        }
        let reply = client.send(request).await.unwrap();
        assert!(reply.status.is_success(), "{path}: {}", reply.describe());
        if path == "/api/todo" {
            made.push(reply.json()["id"].as_i64().unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_open_streams_recovers_and_misses_nothing() {
    let cluster = ExclusiveCluster::acquire().await;
    let database = cluster.fresh_database().await;
    let (a, b) = tokio::join!(
        Service::start(&database, ARGS),
        Service::start(&database, ARGS)
    );
    let mut on_a = Stream::open(&a, None).await;
    let mut on_b = Stream::open(&b, None).await;
    let before = a.create(&json!({"title": "before the restart"})).await;
    assert_eq!(on_a.next(SOON).await.unwrap().data, before);
    assert_eq!(on_b.next(SOON).await.unwrap().data, before);

    let stopped = cluster.stop().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stopped.start().await;

    // Writes succeed again once the pools reconnect.
    let mut after = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while after.is_none() && Instant::now() < deadline {
        let reply = a
            .post("/api/todo", &json!({"title": "after the restart"}))
            .await;
        if reply.status == StatusCode::CREATED {
            after = Some(reply.json());
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let after = after.expect("the service writes again after the restart");
    assert_eq!(
        on_a.next(SOON).await.expect("A's stream goes on").data,
        after
    );
    assert_eq!(
        on_b.next(SOON)
            .await
            .expect("B's stream goes on, told by A")
            .data,
        after
    );
    // And B's listener is back: another write through A reaches it soon.
    let again = a.create(&json!({"title": "later"})).await;
    assert_eq!(on_b.next(Duration::from_secs(2)).await.unwrap().data, again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_open_streams_cleanly_and_the_service_exits_0() {
    let database = Database::new(Backend::Sqlite).await;
    let mut service = Service::start(&database, &[]).await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(Stream::open(&service, None).await);
    }
    service.signal(Signal::SIGTERM);
    for stream in &mut streams {
        assert!(stream.ends_within(SOON).await, "a stream ends on SIGTERM");
    }
    let status = service.wait_for_exit(SOON).await;
    assert_eq!(status.code(), Some(0), "{}", service.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_not_buffered() {
    let database = Database::new(Backend::Sqlite).await;
    let service = Service::start(&database, &["--events-send-timeout-ms", "500"]).await;
    // A client that sends its request and never reads, with a small
    // receive buffer so the server's writes back up soon.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut connection = socket.connect(service.addr()).await.unwrap();
    connection
        .write_all(b"GET /api/todo/events HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let title = "x".repeat(200);
    let batch: Vec<Value> = (0..1000).map(|_| json!({"title": title})).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = service.post("/api/todo/bulk", &json!(batch)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.describe());
        let metrics = String::from_utf8_lossy(&service.get("/metrics").await.body).into_owned();
        if metrics.contains("todo_event_streams_dropped_slow_total 1") {
            assert!(metrics.contains("todo_event_streams_open 0"), "{metrics}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stream of a client that stopped reading was never dropped"
        );
    }
    drop(connection);
    assert_eq!(service.get("/health").await.status, StatusCode::OK);
}
