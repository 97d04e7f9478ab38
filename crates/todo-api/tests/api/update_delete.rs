//! PATCH, PUT and DELETE of single todos.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{Backend, TestApp, on_both_backends};

on_both_backends!(
    a_patch_changes_only_the_fields_it_sends,
    a_patch_with_null_clears_description_and_due_date,
    a_patch_validates_like_a_create_and_changes_nothing_on_error,
    a_put_replaces_the_todo_and_omitted_fields_take_their_defaults,
    a_put_requires_a_title,
    writes_to_a_missing_todo_are_404,
    a_delete_answers_204_then_the_todo_is_gone,
);

async fn a_patch_changes_only_the_fields_it_sends(backend: Backend) {
    let app = TestApp::new(backend).await;
    let todo = app
        .create(json!({"title": "t", "description": "d", "priority": 2, "due_date": "2026-12-01"}))
        .await;
    let uri = format!("/api/todo/{}", todo["id"]);
    let response = app.patch(&uri, json!({"completed": true})).await;
    assert_eq!(response.status, StatusCode::OK);
    let patched = response.json();
    assert_eq!(patched["completed"], json!(true));
    for field in [
        "id",
        "title",
        "description",
        "priority",
        "due_date",
        "created_at",
    ] {
        assert_eq!(patched[field], todo[field], "{field}");
    }
    assert!(patched["updated_at"].as_str() >= todo["updated_at"].as_str());
    assert_eq!(app.get(&uri).await.json(), patched);
}

async fn a_patch_with_null_clears_description_and_due_date(backend: Backend) {
    let app = TestApp::new(backend).await;
    let todo = app
        .create(json!({"title": "t", "description": "d", "due_date": "2026-12-01"}))
        .await;
    let uri = format!("/api/todo/{}", todo["id"]);
    let patched = app
        .patch(&uri, json!({"description": null, "due_date": null}))
        .await
        .json();
    assert_eq!(patched["description"], json!(null));
    assert_eq!(patched["due_date"], json!(null));
    assert_eq!(patched["title"], json!("t"));
}

async fn a_patch_validates_like_a_create_and_changes_nothing_on_error(backend: Backend) {
    let app = TestApp::new(backend).await;
    let todo = app.create(json!({"title": "t"})).await;
    let uri = format!("/api/todo/{}", todo["id"]);
    let response = app
        .patch(
            &uri,
            json!({"title": null, "priority": 0, "completed": true, "bogus": 1}),
        )
        .await;
    assert_eq!(
        response.faults(),
        vec![
            (
                r#"["body","bogus"]"#.to_owned(),
                "extra_forbidden".to_owned()
            ),
            (
                r#"["body","priority"]"#.to_owned(),
                "greater_than_equal".to_owned()
            ),
            (r#"["body","title"]"#.to_owned(), "string_type".to_owned()),
        ]
    );
    assert_eq!(app.get(&uri).await.json(), todo);
    let response = app.patch("/api/todo/abc", json!({"priority": 9})).await;
    assert_eq!(
        response.faults(),
        vec![
            (
                r#"["body","priority"]"#.to_owned(),
                "less_than_equal".to_owned()
            ),
            (r#"["path","id"]"#.to_owned(), "int_parsing".to_owned()),
        ]
    );
}

async fn a_put_replaces_the_todo_and_omitted_fields_take_their_defaults(backend: Backend) {
    let app = TestApp::new(backend).await;
    let todo = app
        .create(json!({"title": "t", "description": "d", "priority": 5, "due_date": "2026-12-01", "completed": true}))
        .await;
    let uri = format!("/api/todo/{}", todo["id"]);
    let response = app.put(&uri, json!({"title": "new"})).await;
    assert_eq!(response.status, StatusCode::OK);
    let replaced = response.json();
    assert_eq!(replaced["title"], json!("new"));
    assert_eq!(replaced["description"], json!(null));
    assert_eq!(replaced["priority"], json!(3));
    assert_eq!(replaced["due_date"], json!(null));
    assert_eq!(replaced["completed"], json!(false));
    assert_eq!(replaced["created_at"], todo["created_at"]);
    assert_eq!(app.get(&uri).await.json(), replaced);
}

async fn a_put_requires_a_title(backend: Backend) {
    let app = TestApp::new(backend).await;
    let todo = app.create(json!({"title": "t"})).await;
    let response = app
        .put(&format!("/api/todo/{}", todo["id"]), json!({"priority": 1}))
        .await;
    assert_eq!(
        response.faults(),
        vec![(r#"["body","title"]"#.to_owned(), "missing".to_owned())]
    );
}

async fn writes_to_a_missing_todo_are_404(backend: Backend) {
    let app = TestApp::new(backend).await;
    for response in [
        app.patch("/api/todo/42", json!({"completed": true})).await,
        app.put("/api/todo/42", json!({"title": "t"})).await,
        app.delete("/api/todo/42").await,
    ] {
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert_eq!(response.json(), json!({"detail": "Todo not found"}));
    }
}

async fn a_delete_answers_204_then_the_todo_is_gone(backend: Backend) {
    let app = TestApp::new(backend).await;
    let todo = app.create(json!({"title": "t"})).await;
    let uri = format!("/api/todo/{}", todo["id"]);
    let response = app.delete(&uri).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(response.body.is_empty());
    assert_eq!(app.get(&uri).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&uri).await.status, StatusCode::NOT_FOUND);
}
