//! Several processes of the service on one PostgreSQL database (API.md,
//! "Running it" and "Idempotency"): they share every todo and idempotency
//! key, and they may start, and migrate, at the same moment.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::task::JoinSet;

use crate::support::{Backend, Database, Reply, Service};

/// Kept small: several instances share the cluster's connections.
const ARGS: &[&str] = &["--pool-size", "4"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_share_todos_and_idempotency_keys() {
    let database = Database::new(Backend::Postgres).await;
    let (a, b) = tokio::join!(
        Service::start(&database, ARGS),
        Service::start(&database, ARGS)
    );

    let created = a.post("/api/todo", &json!({"title": "made on A"})).await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        created.describe()
    );
    let todo = created.json();
    let read = b.get(&format!("/api/todo/{}", todo["id"])).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.describe());
    assert_eq!(read.json(), todo);
    assert_eq!(read.header("etag"), created.header("etag"));

    let body = json!({"title": "keyed once", "priority": 4});
    let first = a.post_keyed("k1", &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.describe());
    assert_ne!(first.header("idempotent-replayed"), Some("true"));
    let replayed = b.post_keyed("k1", &body).await;
    assert_eq!(
        replayed.status,
        StatusCode::CREATED,
        "{}",
        replayed.describe()
    );
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.json(), first.json());
    assert_eq!(titled(&b, "keyed once").await, 1);

    let body = json!({"title": "keyed twenty times"});
    let mut copies = JoinSet::new();
    for n in 0..20 {
        let client = if n % 2 == 0 { a.client() } else { b.client() };
        let body = body.clone();
        copies.spawn(async move { client.post_keyed("k2", &body).await });
    }
    let replies: Vec<Reply> = tokio::time::timeout(Duration::from_secs(20), copies.join_all())
        .await
        .expect("keyed copies still open after 20 s");
    let mut originals = Vec::new();
    let mut replays = Vec::new();
    for reply in &replies {
        match reply.status {
            StatusCode::CREATED if reply.header("idempotent-replayed") == Some("true") => {
                replays.push(reply.json());
            }
            StatusCode::CREATED => originals.push(reply.json()),
            StatusCode::CONFLICT => {}
            _ => panic!("neither 201 nor 409: {}", reply.describe()),
        }
    }
    assert_eq!(originals.len(), 1, "{replies:#?}");
    assert!(
        replays.iter().all(|replay| *replay == originals[0]),
        "{replies:#?}"
    );
    assert_eq!(titled(&a, "keyed twenty times").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_instances_starting_at_once_migrate_one_database_safely() {
    let database = Database::empty_postgres().await;
    let (a, b, c) = tokio::join!(
        Service::start(&database, ARGS),
        Service::start(&database, ARGS),
        Service::start(&database, ARGS)
    );
    let instances = [&a, &b, &c];
    for (n, instance) in instances.iter().enumerate() {
        let ready = instance.get("/ready").await;
        assert_eq!(ready.status, StatusCode::OK, "{}", ready.describe());
        instance
            .create(&json!({"title": format!("made on instance {n}")}))
            .await;
    }
    for instance in instances {
        let titles: Vec<String> = instance
            .all_todos()
            .await
            .iter()
            .map(|todo| todo["title"].as_str().expect("a title").to_owned())
            .collect();
        assert_eq!(
            titles,
            [
                "made on instance 0",
                "made on instance 1",
                "made on instance 2"
            ]
        );
    }
}

/// How many todos have exactly `title`.
async fn titled(service: &Service, title: &str) -> usize {
    let query: String = url_query(title);
    let reply = service
        .get(&format!("/api/todo?q={query}&limit=1000"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.describe());
    reply
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .filter(|todo| todo["title"] == title)
        .count()
}

/// `text` percent-encoded for a query string.
fn url_query(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
