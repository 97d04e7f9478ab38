//! Bulk create and bulk update: input order, all or nothing, size bounds,
//! and the switch that turns them off.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, ids, on_both_backends};

on_both_backends!(
    a_bulk_create_answers_201_with_increasing_ids_in_input_order,
    a_bulk_create_with_one_invalid_item_is_422_located_by_index_and_creates_nothing,
    a_bulk_create_takes_one_to_max_bulk_items,
    a_bulk_update_applies_every_change_and_answers_in_input_order,
    a_bulk_update_naming_a_missing_id_is_404_and_changes_nothing,
    a_bulk_update_is_validated_whole,
    switched_off_bulk_endpoints_answer_404,
);

fn titles(count: usize) -> Value {
    Value::Array(
        (0..count)
            .map(|n| json!({"title": format!("todo {n}")}))
            .collect(),
    )
}

async fn a_bulk_create_answers_201_with_increasing_ids_in_input_order(backend: Backend) {
    let app = TestApp::new(backend).await;
    let response = app.post("/api/todo/bulk", titles(50)).await;
    assert_eq!(response.status, StatusCode::CREATED);
    let created = response.json().as_array().unwrap().clone();
    assert_eq!(created.len(), 50);
    for (n, todo) in created.iter().enumerate() {
        assert_eq!(todo["title"], json!(format!("todo {n}")));
        assert_eq!(todo["priority"], json!(3));
    }
    let created_ids = ids(&created);
    assert!(
        created_ids.windows(2).all(|pair| pair[0] < pair[1]),
        "{created_ids:?}"
    );
    assert_eq!(ids(&app.all_todos().await), created_ids);
}

async fn a_bulk_create_with_one_invalid_item_is_422_located_by_index_and_creates_nothing(
    backend: Backend,
) {
    let app = TestApp::new(backend).await;
    let body = json!([{"title": "ok"}, {"title": "ok", "priority": 7}, {"title": ""}, "nope"]);
    let response = app.post("/api/todo/bulk", body).await;
    assert_eq!(
        response.faults(),
        vec![
            (
                r#"["body",1,"priority"]"#.to_owned(),
                "less_than_equal".to_owned()
            ),
            (
                r#"["body",2,"title"]"#.to_owned(),
                "string_too_short".to_owned()
            ),
            (
                r#"["body",3]"#.to_owned(),
                "model_attributes_type".to_owned()
            ),
        ]
    );
    assert!(app.all_todos().await.is_empty());
}

async fn a_bulk_create_takes_one_to_max_bulk_items(backend: Backend) {
    let app = TestApp::with_args(backend, &["--max-bulk-items", "5"]).await;
    assert_eq!(
        app.post("/api/todo/bulk", titles(1)).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.post("/api/todo/bulk", titles(5)).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.post("/api/todo/bulk", titles(6)).await.faults(),
        vec![(r#"["body"]"#.to_owned(), "too_long".to_owned())]
    );
    assert_eq!(
        app.post("/api/todo/bulk", json!([])).await.faults(),
        vec![(r#"["body"]"#.to_owned(), "too_short".to_owned())]
    );
    assert_eq!(
        app.post("/api/todo/bulk", json!({"title": "t"}))
            .await
            .faults(),
        vec![(r#"["body"]"#.to_owned(), "list_type".to_owned())]
    );
    assert_eq!(app.all_todos().await.len(), 6);
}

async fn a_bulk_update_applies_every_change_and_answers_in_input_order(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.post("/api/todo/bulk", titles(3)).await.json();
    let [a, b, c] = [0, 1, 2].map(|n| created[n]["id"].as_i64().unwrap());
    let body = json!([
        {"id": c, "completed": true},
        {"id": a, "priority": 1, "description": "first"},
        {"id": b, "title": "renamed", "due_date": "2026-12-24"},
    ]);
    let response = app.patch("/api/todo/bulk", body).await;
    assert_eq!(response.status, StatusCode::OK);
    let updated = response.json().as_array().unwrap().clone();
    assert_eq!(ids(&updated), vec![c, a, b]);
    assert_eq!(updated[0]["completed"], json!(true));
    assert_eq!(updated[1]["priority"], json!(1));
    assert_eq!(updated[1]["description"], json!("first"));
    assert_eq!(updated[2]["title"], json!("renamed"));
    assert_eq!(updated[2]["due_date"], json!("2026-12-24T00:00:00.000000Z"));
    for todo in &updated {
        assert_eq!(
            &app.get(&format!("/api/todo/{}", todo["id"])).await.json(),
            todo
        );
    }
}

async fn a_bulk_update_naming_a_missing_id_is_404_and_changes_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.post("/api/todo/bulk", titles(2)).await.json();
    let a = created[0]["id"].as_i64().unwrap();
    let body = json!([{"id": a, "completed": true}, {"id": 9999, "completed": true}, {"id": 8888}]);
    let response = app.patch("/api/todo/bulk", body).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let detail = response.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("9999"), "{detail}");
    assert_eq!(app.all_todos().await, created.as_array().unwrap().clone());
}

async fn a_bulk_update_is_validated_whole(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.post("/api/todo/bulk", titles(1)).await.json();
    let a = created[0]["id"].as_i64().unwrap();
    let body = json!([{"id": a, "priority": 0}, {"title": "no id"}, {"id": "1"}, {"id": a}]);
    let response = app.patch("/api/todo/bulk", body).await;
    assert_eq!(
        response.faults(),
        vec![
            (
                r#"["body",0,"priority"]"#.to_owned(),
                "greater_than_equal".to_owned()
            ),
            (r#"["body",1,"id"]"#.to_owned(), "missing".to_owned()),
            (r#"["body",2,"id"]"#.to_owned(), "int_type".to_owned()),
            (r#"["body",3,"id"]"#.to_owned(), "value_error".to_owned()),
        ]
    );
    assert_eq!(app.all_todos().await, created.as_array().unwrap().clone());
}

async fn switched_off_bulk_endpoints_answer_404(backend: Backend) {
    let app = TestApp::with_args(backend, &["--bulk-endpoints", "false"]).await;
    let create = app.post("/api/todo/bulk", titles(2)).await;
    assert_eq!(create.status, StatusCode::NOT_FOUND);
    assert_eq!(create.json(), json!({"detail": "Not Found"}));
    assert_eq!(
        app.patch("/api/todo/bulk", json!([{"id": 1}])).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(app.all_todos().await.is_empty());
    assert_eq!(
        app.post("/api/todo", json!({"title": "single"}))
            .await
            .status,
        StatusCode::CREATED
    );
}
