//! The change log over HTTP (API.md, "Changes"): `GET /api/todo/changes`
//! and the event stream of `GET /api/todo/events`, in-process on both
//! backends. What needs processes (reconnects, several instances, a
//! database restart, SIGTERM) is in the fault tests.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::jwt::{JWT_ARGS, token_for};
use crate::support::{Backend, SseEvent, TestApp, on_both_backends};

on_both_backends!(
    delta_sync_through_every_write_path_gives_exactly_the_todos,
    changes_refuse_a_bad_since_or_limit,
    an_expired_cursor_is_gone_for_changes_and_events,
    a_stream_catches_up_from_its_cursor_then_goes_live,
    a_stream_without_a_cursor_starts_with_the_changes_after_it_opened,
    changes_and_streams_are_each_users_own,
    streams_past_the_limit_are_refused_and_end_when_the_service_stops,
    an_idle_stream_gets_heartbeats,
);

const SOON: Duration = Duration::from_secs(5);

/// A client's copy of its todos, kept by delta sync.
#[derive(Debug, Default)]
struct Copy {
    todos: BTreeMap<i64, Value>,
    cursor: Option<String>,
}

impl Copy {
    fn apply(&mut self, change: &Value) {
        match change["op"].as_str().unwrap() {
            "upsert" => {
                let todo = &change["todo"];
                self.todos
                    .insert(todo["id"].as_i64().unwrap(), todo.clone());
            }
            "delete" => {
                self.todos.remove(&change["id"].as_i64().unwrap());
            }
            other => panic!("unknown op {other}"),
        }
    }

    /// Follows the log until `has_more` is false, `limit` at a time;
    /// returns how many changes came.
    async fn sync(&mut self, get: impl AsyncGet, limit: u32) -> usize {
        let mut seen = 0;
        loop {
            let uri = match &self.cursor {
                Some(cursor) => format!("/api/todo/changes?since={cursor}&limit={limit}"),
                None => format!("/api/todo/changes?limit={limit}"),
            };
            let page = get.get_json(&uri).await;
            let changes = page["changes"].as_array().unwrap();
            assert!(changes.len() <= limit as usize);
            for change in changes {
                self.apply(change);
            }
            seen += changes.len();
            self.cursor = Some(page["cursor"].as_str().unwrap().to_owned());
            if !page["has_more"].as_bool().unwrap() {
                return seen;
            }
        }
    }

    fn assert_equals(&self, todos: &[Value]) {
        let expected: BTreeMap<i64, Value> = todos
            .iter()
            .map(|todo| (todo["id"].as_i64().unwrap(), todo.clone()))
            .collect();
        assert_eq!(self.todos, expected);
    }
}

/// Who reads the log: the app as it is, or as one caller.
trait AsyncGet {
    async fn get_json(&self, uri: &str) -> Value;
}

impl AsyncGet for &TestApp {
    async fn get_json(&self, uri: &str) -> Value {
        let response = self.get(uri).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        response.json()
    }
}

impl AsyncGet for &crate::support::AsCaller<'_> {
    async fn get_json(&self, uri: &str) -> Value {
        let response = self.get(uri).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        response.json()
    }
}

async fn delta_sync_through_every_write_path_gives_exactly_the_todos(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut copy = Copy::default();
    assert_eq!(copy.sync(&app, 3).await, 0);
    let first = app.create(json!({"title": "first", "priority": 1})).await;
    let bulk = app
        .post(
            "/api/todo/bulk",
            json!([{"title": "a"}, {"title": "b", "completed": true}, {"title": "c"}]),
        )
        .await
        .json();
    let keyed = app
        .request(
            Method::POST,
            "/api/todo",
            Some(&json!({"title": "keyed"})),
            &[("idempotency-key", "k-1")],
        )
        .await
        .json();
    assert_eq!(copy.sync(&app, 2).await, 5);
    copy.assert_equals(&app.all_todos().await);

    let id = |todo: &Value| todo["id"].as_i64().unwrap();
    app.patch(
        &format!("/api/todo/{}", id(&first)),
        json!({"title": "renamed"}),
    )
    .await;
    app.put(
        &format!("/api/todo/{}", id(&keyed)),
        json!({"title": "replaced"}),
    )
    .await;
    app.patch(
        "/api/todo/bulk",
        json!([{"id": id(&bulk[0]), "priority": 5}, {"id": id(&first), "completed": true}]),
    )
    .await;
    app.delete(&format!("/api/todo/{}", id(&bulk[2]))).await;
    let deleted = app.delete("/api/todo?completed=true").await.json();
    assert_eq!(deleted["deleted"], 2);
    // The keyed create's replay changes nothing, so logs nothing.
    app.request(
        Method::POST,
        "/api/todo",
        Some(&json!({"title": "keyed"})),
        &[("idempotency-key", "k-1")],
    )
    .await;
    let changes = copy.sync(&app, 2).await;
    assert!(changes <= 5, "each todo once at most: {changes}");
    copy.assert_equals(&app.all_todos().await);
    assert_eq!(copy.sync(&app, 2).await, 0, "a quiet poll brings nothing");
}

async fn changes_refuse_a_bad_since_or_limit(backend: Backend) {
    let app = TestApp::new(backend).await;
    for (query, loc) in [
        ("limit=0", r#"["query","limit"]"#),
        ("limit=1001", r#"["query","limit"]"#),
        ("limit=x", r#"["query","limit"]"#),
        ("since=", r#"["query","since"]"#),
        ("since=not-a-cursor", r#"["query","since"]"#),
    ] {
        let response = app.get(&format!("/api/todo/changes?{query}")).await;
        let faults = response.faults();
        assert_eq!(faults.len(), 1, "{query}: {faults:?}");
        assert_eq!(faults[0].0, loc, "{query}");
    }
    let page = app.get("/api/todo/changes?limit=1000&other=1").await;
    assert_eq!(page.status, StatusCode::OK, "other parameters are ignored");
    let bad = app
        .open_stream("/api/todo/events", &[("last-event-id", "forged")])
        .await
        .err()
        .expect("a forged Last-Event-ID is refused");
    assert_eq!(bad.faults()[0].0, r#"["header","Last-Event-ID"]"#);
}

async fn an_expired_cursor_is_gone_for_changes_and_events(backend: Backend) {
    let app = TestApp::new(backend).await;
    let todo = app.create(json!({"title": "soon gone"})).await;
    let old = app.get("/api/todo/changes").await.json()["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("/api/todo/{}", todo["id"])).await;
    let purged = app
        .store()
        .purge_tombstones(todo_core::now() + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let gone = app.get(&format!("/api/todo/changes?since={old}")).await;
    assert_eq!(gone.status, StatusCode::GONE, "{}", gone.text());
    assert!(
        gone.json()["detail"]
            .as_str()
            .unwrap()
            .contains("without since")
    );
    let stream = app
        .open_stream("/api/todo/events", &[("last-event-id", &old)])
        .await
        .err()
        .expect("a stream from an expired cursor is refused");
    assert_eq!(stream.status, StatusCode::GONE);
    // Starting again works.
    let mut copy = Copy::default();
    copy.sync(&app, 10).await;
    copy.assert_equals(&app.all_todos().await);
}

fn id_of(event: &SseEvent) -> i64 {
    event.data["id"].as_i64().unwrap()
}

async fn a_stream_catches_up_from_its_cursor_then_goes_live(backend: Backend) {
    let app = TestApp::new(backend).await;
    let first = app.create(json!({"title": "seen"})).await;
    let cursor = app.get("/api/todo/changes").await.json()["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let missed: Vec<Value> = {
        let mut made = Vec::new();
        for index in 0..150 {
            made.push(
                app.create(json!({"title": format!("missed {index}")}))
                    .await,
            );
        }
        made
    };
    app.delete(&format!("/api/todo/{}", first["id"])).await;
    let mut stream = app
        .open_stream(&format!("/api/todo/events?since={cursor}"), &[])
        .await
        .unwrap();
    let caught_up = stream.take(151, SOON).await;
    let made_ids: Vec<i64> = missed
        .iter()
        .map(|todo| todo["id"].as_i64().unwrap())
        .collect();
    let upserts: Vec<i64> = caught_up[..150].iter().map(id_of).collect();
    assert_eq!(upserts, made_ids, "every missed change, in order");
    assert!(caught_up[..150].iter().all(|event| event.event == "upsert"));
    assert_eq!(caught_up[150].event, "delete");
    assert_eq!(caught_up[150].data, json!({"id": first["id"]}));
    let live = app.create(json!({"title": "live"})).await;
    let event = stream.next(SOON).await.expect("the live change");
    assert_eq!(event.event, "upsert");
    assert_eq!(event.data, live);
    // Each event's id is a cursor: the changes after it are what came
    // after it on the stream.
    let after = app
        .get(&format!("/api/todo/changes?since={}", caught_up[149].id))
        .await
        .json();
    assert_eq!(after["changes"].as_array().unwrap().len(), 2);
    assert!(
        stream.next(Duration::from_millis(300)).await.is_none(),
        "nothing twice"
    );
}

async fn a_stream_without_a_cursor_starts_with_the_changes_after_it_opened(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.create(json!({"title": "before"})).await;
    let mut stream = app.open_stream("/api/todo/events", &[]).await.unwrap();
    let after = app.create(json!({"title": "after"})).await;
    let event = stream.next(SOON).await.expect("the change after opening");
    assert_eq!(event.data, after);
    app.patch(
        &format!("/api/todo/{}", after["id"]),
        json!({"completed": true}),
    )
    .await;
    let event = stream.next(SOON).await.expect("an update");
    assert_eq!(event.event, "upsert");
    assert_eq!(event.data["completed"], true);
}

async fn changes_and_streams_are_each_users_own(backend: Backend) {
    let app = TestApp::with_args(backend, &JWT_ARGS).await;
    let (alice_token, bob_token) = (token_for("alice"), token_for("bob"));
    let alice = app.as_caller(&alice_token);
    let bob = app.as_caller(&bob_token);
    let bob_auth = format!("Bearer {bob_token}");
    let mut bobs_stream = app
        .open_stream("/api/todo/events", &[("authorization", &bob_auth)])
        .await
        .unwrap();
    alice.create(json!({"title": "alice's"})).await;
    let alices = alice.get("/api/todo/changes").await.json();
    assert_eq!(alices["changes"].as_array().unwrap().len(), 1);
    let bobs = bob.get("/api/todo/changes").await.json();
    assert_eq!(
        bobs["changes"],
        json!([]),
        "bob sees none of alice's changes"
    );
    assert!(
        bobs_stream.next(Duration::from_millis(300)).await.is_none(),
        "nor does his stream"
    );
    let hers = alices["cursor"].as_str().unwrap();
    let refused = bob.get(&format!("/api/todo/changes?since={hers}")).await;
    assert_eq!(refused.faults()[0].0, r#"["query","since"]"#);
    let refused = app
        .open_stream(
            "/api/todo/events",
            &[("authorization", &bob_auth), ("last-event-id", hers)],
        )
        .await
        .err()
        .expect("alice's cursor is refused to bob");
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let anonymous = app
        .open_stream("/api/todo/events", &[])
        .await
        .err()
        .unwrap();
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let mine = bob.create(json!({"title": "bob's"})).await;
    assert_eq!(bobs_stream.next(SOON).await.unwrap().data, mine);
    let mut copy = Copy::default();
    copy.sync(&bob, 10).await;
    copy.assert_equals(&bob.all_todos().await);
}

async fn streams_past_the_limit_are_refused_and_end_when_the_service_stops(backend: Backend) {
    let app = TestApp::with_args(backend, &["--max-event-streams", "2"]).await;
    let mut first = app.open_stream("/api/todo/events", &[]).await.unwrap();
    let second = app.open_stream("/api/todo/events", &[]).await.unwrap();
    let refused = app
        .open_stream("/api/todo/events", &[])
        .await
        .err()
        .unwrap();
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.header("retry-after").is_some());
    drop(second);
    // The closed stream's slot frees up once its task notices.
    let mut third = None;
    for _ in 0..50 {
        if let Ok(stream) = app.open_stream("/api/todo/events", &[]).await {
            third = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut third = third.expect("a slot freed by a closed stream");
    app.end_streams();
    assert!(
        first.ends_within(SOON).await,
        "streams end when the service stops"
    );
    assert!(third.ends_within(SOON).await);
}

async fn an_idle_stream_gets_heartbeats(backend: Backend) {
    let app = TestApp::with_args(backend, &["--events-heartbeat-ms", "50"]).await;
    let mut stream = app.open_stream("/api/todo/events", &[]).await.unwrap();
    assert!(!stream.ends_within(Duration::from_millis(300)).await);
    assert!(stream.comments() >= 2, "{} comments", stream.comments());
}
