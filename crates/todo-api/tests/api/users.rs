//! Isolation between users over HTTP (API.md, "Users"): another user's todo
//! is 404 on every method, with `If-Match` and in bulk too; listings,
//! deletes by filter, cursors and idempotency keys are each user's own; a
//! failed attempt changes nothing and reveals nothing.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::jwt::{JWT_ARGS, token_for};
use crate::support::{Backend, TestApp, next_link, on_both_backends};

on_both_backends!(
    another_users_todo_is_404_on_every_method,
    listings_and_deletes_by_filter_see_only_the_callers_todos,
    a_cursor_of_one_user_is_useless_to_another,
    the_same_idempotency_key_of_two_users_makes_two_todos,
    open_mode_is_the_anonymous_user_as_before,
);

#[track_caller]
fn assert_not_found(status: StatusCode, body: &Value, what: &str) {
    assert_eq!(status, StatusCode::NOT_FOUND, "{what}: {body}");
    assert_eq!(body["detail"], "Todo not found", "{what}");
}

async fn another_users_todo_is_404_on_every_method(backend: Backend) {
    let app = TestApp::with_args(backend, &JWT_ARGS).await;
    let alice = app.as_caller(&token_for("alice"));
    let bob = app.as_caller(&token_for("bob"));
    let hers = alice
        .create(json!({"title": "alice's", "priority": 2}))
        .await;
    let his = bob.create(json!({"title": "bob's"})).await;
    let id = hers["id"].as_i64().unwrap();
    let uri = format!("/api/todo/{id}");
    let etag = format!("\"{id}-1\"");
    let missing = format!("/api/todo/{}", id + 1_000_000);
    let patch = json!({"title": "taken"});
    for (method, body, headers) in [
        (Method::GET, None, vec![]),
        (Method::GET, None, vec![("if-none-match", etag.as_str())]),
        (Method::PATCH, Some(&patch), vec![]),
        (
            Method::PATCH,
            Some(&patch),
            vec![("if-match", etag.as_str())],
        ),
        (Method::PATCH, Some(&patch), vec![("if-match", "\"999-9\"")]),
        (Method::PATCH, Some(&patch), vec![("if-match", "*")]),
        (Method::PUT, Some(&patch), vec![]),
        (Method::PUT, Some(&patch), vec![("if-match", etag.as_str())]),
        (Method::DELETE, None, vec![]),
        (Method::DELETE, None, vec![("if-match", etag.as_str())]),
        (Method::DELETE, None, vec![("if-match", "\"1-1\"")]),
    ] {
        let theirs = bob.request(method.clone(), &uri, body, &headers).await;
        let what = format!("{method} {headers:?}");
        assert_not_found(theirs.status, &theirs.json(), &what);
        // Exactly what a todo that does not exist answers: nothing tells
        // the two apart.
        let nobodys = bob.request(method.clone(), &missing, body, &headers).await;
        assert_eq!(theirs.status, nobodys.status, "{what}");
        assert_eq!(theirs.body, nobodys.body, "{what}");
        assert!(theirs.header("etag").is_none(), "{what}");
    }
    let bulk = bob
        .request(
            Method::PATCH,
            "/api/todo/bulk",
            Some(&json!([{"id": his["id"], "completed": true}, {"id": id, "completed": true}])),
            &[],
        )
        .await;
    assert_eq!(bulk.status, StatusCode::NOT_FOUND);
    assert_eq!(
        bulk.json(),
        json!({"detail": format!("Todo {id} not found")})
    );
    assert_eq!(bob.all_todos().await, vec![his], "all or nothing");
    assert_eq!(alice.all_todos().await, vec![hers], "untouched");
}

async fn listings_and_deletes_by_filter_see_only_the_callers_todos(backend: Backend) {
    let app = TestApp::with_args(backend, &JWT_ARGS).await;
    let alice = app.as_caller(&token_for("alice"));
    let bob = app.as_caller(&token_for("bob"));
    let mut hers = Vec::new();
    for index in 0..5 {
        hers.push(
            alice
                .create(json!({"title": format!("milk {index}"), "completed": index % 2 == 0}))
                .await,
        );
        bob.create(json!({"title": format!("milk too {index}"), "completed": true}))
            .await;
    }
    for query in [
        "",
        "?completed=true",
        "?q=milk",
        "?sort=priority",
        "?min_priority=1&sort=-due_date",
    ] {
        let listed = alice.get(&format!("/api/todo{query}")).await.json();
        for todo in listed.as_array().unwrap() {
            assert!(hers.contains(todo), "{query}: {todo}");
        }
    }
    let deleted = bob
        .request(Method::DELETE, "/api/todo?q=milk", None, &[])
        .await;
    assert_eq!(deleted.json(), json!({"deleted": 5}));
    assert!(bob.all_todos().await.is_empty());
    assert_eq!(alice.all_todos().await, hers);
}

async fn a_cursor_of_one_user_is_useless_to_another(backend: Backend) {
    let app = TestApp::with_args(backend, &JWT_ARGS).await;
    let alice = app.as_caller(&token_for("alice"));
    let bob = app.as_caller(&token_for("bob"));
    for index in 0..3 {
        alice.create(json!({"title": format!("a{index}")})).await;
        bob.create(json!({"title": format!("b{index}")})).await;
    }
    let first = alice.get("/api/todo?limit=1").await;
    let next = next_link(first.header("link").unwrap());
    assert_eq!(alice.get(&next).await.status, StatusCode::OK);
    let stolen = bob.get(&next).await;
    assert_eq!(
        stolen.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        stolen.text()
    );
    assert_eq!(
        stolen.json()["detail"][0]["loc"],
        json!(["query", "cursor"])
    );
}

async fn the_same_idempotency_key_of_two_users_makes_two_todos(backend: Backend) {
    let app = TestApp::with_args(backend, &JWT_ARGS).await;
    let alice = app.as_caller(&token_for("alice"));
    let bob = app.as_caller(&token_for("bob"));
    let body = json!({"title": "once each"});
    let key = [("idempotency-key", "shared-key")];
    let hers = alice
        .request(Method::POST, "/api/todo", Some(&body), &key)
        .await;
    let his = bob
        .request(Method::POST, "/api/todo", Some(&body), &key)
        .await;
    assert_eq!(hers.status, StatusCode::CREATED);
    assert_eq!(his.status, StatusCode::CREATED);
    assert!(
        his.header("idempotent-replayed").is_none(),
        "not alice's answer"
    );
    assert_ne!(hers.json()["id"], his.json()["id"]);
    let replay = bob
        .request(Method::POST, "/api/todo", Some(&body), &key)
        .await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, his.body);
    assert_eq!(alice.all_todos().await.len(), 1);
    assert_eq!(bob.all_todos().await.len(), 1);
}

async fn open_mode_is_the_anonymous_user_as_before(backend: Backend) {
    let app = TestApp::new(backend).await;
    let me = app.get("/api/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json(), json!({"user": null, "auth": "open"}));
    // A token sent to an open service is not looked at.
    let created = app
        .request(
            Method::POST,
            "/api/todo",
            Some(&json!({"title": "t"})),
            &[("authorization", "Bearer whatever")],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(app.all_todos().await.len(), 1);
}
