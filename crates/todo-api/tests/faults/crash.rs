//! A process killed outright (SIGKILL, no chance to clean up) loses no write
//! it acknowledged.

use std::time::Duration;

use nix::sys::signal::Signal;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, Database, Service, on_both_backends};

on_both_backends!(acknowledged_writes_survive_kill_9_and_a_restart);

async fn acknowledged_writes_survive_kill_9_and_a_restart(backend: Backend) {
    let database = Database::new(backend).await;
    let mut service = Service::start(&database, &[]).await;

    let mut acknowledged: Vec<Value> = Vec::new();
    for n in 0..20 {
        let todo = service
            .create(&json!({
                "title": format!("single {n} ✓"),
                "description": if n % 2 == 0 { Value::Null } else { json!(format!("note {n}")) },
                "priority": n % 5 + 1,
                "due_date": if n % 3 == 0 { json!("2030-01-02T03:04:05.123456Z") } else { Value::Null },
            }))
            .await;
        acknowledged.push(todo);
    }
    let bulk: Vec<Value> = (0..50)
        .map(|n| json!({"title": format!("bulk {n}"), "priority": n % 5 + 1}))
        .collect();
    let reply = service.post("/api/todo/bulk", &json!(bulk)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.describe());
    let created = reply.json().as_array().expect("a list").clone();
    assert_eq!(created.len(), 50);
    acknowledged.extend(created);
    // The last write acknowledged right before the kill.
    acknowledged.push(service.create(&json!({"title": "the last one"})).await);

    service.signal(Signal::SIGKILL);
    let status = service.wait_for_exit(Duration::from_secs(10)).await;
    assert!(!status.success(), "a killed process exits unsuccessfully");
    drop(service);

    let restarted = Service::start(&database, &[]).await;
    acknowledged.sort_by_key(|todo| todo["id"].as_i64());
    let stored = restarted.all_todos().await;
    assert_eq!(stored.len(), acknowledged.len(), "{stored:#?}");
    for (stored, acknowledged) in stored.iter().zip(&acknowledged) {
        assert_eq!(stored, acknowledged);
    }
}
