//! Creating and reading single todos, and the validation of their fields.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{Backend, TestApp, on_both_backends};

on_both_backends!(
    a_create_answers_201_with_location_etag_and_exactly_the_eight_fields,
    a_create_takes_defaults_for_omitted_fields,
    a_created_todo_reads_back_exactly_as_sent,
    due_dates_are_read_as_rfc3339_or_plain_dates_and_answered_in_utc,
    every_field_rule_is_checked_at_and_just_past_its_boundary,
    one_answer_lists_every_fault_of_a_body,
    wrong_types_nulls_and_unknown_fields_are_rejected,
    a_missing_todo_is_404_and_a_non_numeric_id_is_422,
    hundreds_of_concurrent_creates_all_land_with_distinct_ids,
);

async fn a_create_answers_201_with_location_etag_and_exactly_the_eight_fields(backend: Backend) {
    let app = TestApp::new(backend).await;
    let response = app.post("/api/todo", json!({"title": "Buy milk"})).await;
    assert_eq!(response.status, StatusCode::CREATED);
    let todo = response.json();
    let id = todo["id"].as_i64().unwrap();
    assert_eq!(
        response.header("location"),
        Some(format!("/api/todo/{id}").as_str())
    );
    assert!(response.header("etag").unwrap().starts_with('"'));
    let mut fields: Vec<&str> = todo
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "completed",
            "created_at",
            "description",
            "due_date",
            "id",
            "priority",
            "title",
            "updated_at"
        ]
    );
}

async fn a_create_takes_defaults_for_omitted_fields(backend: Backend) {
    let app = TestApp::new(backend).await;
    let todo = app.create(json!({"title": "Buy milk"})).await;
    assert_eq!(todo["description"], json!(null));
    assert_eq!(todo["priority"], json!(3));
    assert_eq!(todo["due_date"], json!(null));
    assert_eq!(todo["completed"], json!(false));
    assert_eq!(todo["created_at"], todo["updated_at"]);
    let created_at = todo["created_at"].as_str().unwrap();
    assert!(created_at.ends_with('Z'), "{created_at}");
    assert!(todo_core::parse_timestamp(created_at).is_some());
}

async fn a_created_todo_reads_back_exactly_as_sent(backend: Backend) {
    let app = TestApp::new(backend).await;
    let title = "  Ünïcödé ✓ e\u{301} 🥛  ";
    let description = "d".repeat(2000);
    let todo = app
        .create(
            json!({"title": title, "description": description, "priority": 5, "completed": true}),
        )
        .await;
    let read = app.get(&format!("/api/todo/{}", todo["id"])).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), todo);
    assert_eq!(read.json()["title"], json!(title));
    assert_eq!(
        read.header("etag"),
        app.get(&format!("/api/todo/{}", todo["id"]))
            .await
            .header("etag")
    );
}

async fn due_dates_are_read_as_rfc3339_or_plain_dates_and_answered_in_utc(backend: Backend) {
    let app = TestApp::new(backend).await;
    let cases = [
        ("2026-12-01T09:30:00+01:00", "2026-12-01T08:30:00.000000Z"),
        ("2026-12-01", "2026-12-01T00:00:00.000000Z"),
        ("2026-12-01T09:30:00.123456Z", "2026-12-01T09:30:00.123456Z"),
    ];
    for (sent, answered) in cases {
        let todo = app.create(json!({"title": "t", "due_date": sent})).await;
        assert_eq!(todo["due_date"], json!(answered), "{sent}");
        let read = app.get(&format!("/api/todo/{}", todo["id"])).await.json();
        assert_eq!(read["due_date"], json!(answered), "{sent}");
    }
}

async fn every_field_rule_is_checked_at_and_just_past_its_boundary(backend: Backend) {
    let app = TestApp::new(backend).await;
    let accepted = [
        json!({"title": "x"}),
        json!({"title": "é".repeat(200)}),
        json!({"title": "t", "description": "é".repeat(2000)}),
        json!({"title": "t", "description": null}),
        json!({"title": "t", "priority": 1}),
        json!({"title": "t", "priority": 5}),
        json!({"title": "t", "due_date": null}),
    ];
    for body in accepted {
        assert_eq!(
            app.post("/api/todo", body.clone()).await.status,
            StatusCode::CREATED,
            "{body}"
        );
    }
    let rejected = [
        (
            json!({"title": ""}),
            r#"["body","title"]"#,
            "string_too_short",
        ),
        (
            json!({"title": "é".repeat(201)}),
            r#"["body","title"]"#,
            "string_too_long",
        ),
        (
            json!({"title": " \t "}),
            r#"["body","title"]"#,
            "value_error",
        ),
        (
            json!({"title": "t", "description": "é".repeat(2001)}),
            r#"["body","description"]"#,
            "string_too_long",
        ),
        (
            json!({"title": "t", "priority": 0}),
            r#"["body","priority"]"#,
            "greater_than_equal",
        ),
        (
            json!({"title": "t", "priority": 6}),
            r#"["body","priority"]"#,
            "less_than_equal",
        ),
        (
            json!({"title": "t", "due_date": "2026-02-30"}),
            r#"["body","due_date"]"#,
            "datetime_from_date_parsing",
        ),
        (json!({}), r#"["body","title"]"#, "missing"),
    ];
    for (body, loc, kind) in rejected {
        let response = app.post("/api/todo", body.clone()).await;
        assert_eq!(
            response.faults(),
            vec![(loc.to_owned(), kind.to_owned())],
            "{body}"
        );
    }
    assert_eq!(
        app.all_todos().await.len(),
        7,
        "a rejected create changes nothing"
    );
}

async fn one_answer_lists_every_fault_of_a_body(backend: Backend) {
    let app = TestApp::new(backend).await;
    let response = app
        .post(
            "/api/todo",
            json!({"title": "", "priority": 9, "due_date": "soon", "extra": 1}),
        )
        .await;
    assert_eq!(
        response.faults(),
        vec![
            (
                r#"["body","due_date"]"#.to_owned(),
                "datetime_from_date_parsing".to_owned()
            ),
            (
                r#"["body","extra"]"#.to_owned(),
                "extra_forbidden".to_owned()
            ),
            (
                r#"["body","priority"]"#.to_owned(),
                "less_than_equal".to_owned()
            ),
            (
                r#"["body","title"]"#.to_owned(),
                "string_too_short".to_owned()
            ),
        ]
    );
    for fault in response.json()["detail"].as_array().unwrap() {
        assert!(fault["msg"].as_str().is_some_and(|msg| !msg.is_empty()));
    }
}

async fn wrong_types_nulls_and_unknown_fields_are_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let rejected = [
        (json!({"title": 5}), r#"["body","title"]"#, "string_type"),
        (json!({"title": null}), r#"["body","title"]"#, "string_type"),
        (
            json!({"title": "t", "priority": "3"}),
            r#"["body","priority"]"#,
            "int_type",
        ),
        (
            json!({"title": "t", "priority": null}),
            r#"["body","priority"]"#,
            "int_type",
        ),
        (
            json!({"title": "t", "priority": 2.5}),
            r#"["body","priority"]"#,
            "int_type",
        ),
        (
            json!({"title": "t", "completed": null}),
            r#"["body","completed"]"#,
            "bool_type",
        ),
        (
            json!({"title": "t", "completed": "true"}),
            r#"["body","completed"]"#,
            "bool_type",
        ),
        (
            json!({"title": "t", "description": 1}),
            r#"["body","description"]"#,
            "string_type",
        ),
        (
            json!({"title": "t", "due_date": 1}),
            r#"["body","due_date"]"#,
            "datetime_type",
        ),
        (
            json!({"title": "t", "id": 1}),
            r#"["body","id"]"#,
            "extra_forbidden",
        ),
        (json!(["title"]), r#"["body"]"#, "model_attributes_type"),
    ];
    for (body, loc, kind) in rejected {
        let response = app.post("/api/todo", body.clone()).await;
        assert_eq!(
            response.faults(),
            vec![(loc.to_owned(), kind.to_owned())],
            "{body}"
        );
    }
    assert!(app.all_todos().await.is_empty());
}

async fn a_missing_todo_is_404_and_a_non_numeric_id_is_422(backend: Backend) {
    let app = TestApp::new(backend).await;
    let response = app.get("/api/todo/999").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.json(), json!({"detail": "Todo not found"}));
    for path in [
        "/api/todo/abc",
        "/api/todo/1.5",
        "/api/todo/99999999999999999999",
    ] {
        assert_eq!(
            app.get(path).await.faults(),
            vec![(r#"["path","id"]"#.to_owned(), "int_parsing".to_owned())]
        );
    }
}

async fn hundreds_of_concurrent_creates_all_land_with_distinct_ids(backend: Backend) {
    let app = std::sync::Arc::new(TestApp::new(backend).await);
    let tasks: Vec<_> = (0..300)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post("/api/todo", json!({"title": format!("todo {n}")}))
                    .await
            })
        })
        .collect();
    let mut created = std::collections::BTreeSet::new();
    for task in tasks {
        let response = task.await.unwrap();
        assert_eq!(response.status, StatusCode::CREATED);
        assert!(created.insert(response.json()["id"].as_i64().unwrap()));
    }
    let stored: std::collections::BTreeSet<i64> = crate::support::ids(&app.all_todos().await)
        .into_iter()
        .collect();
    assert_eq!(stored, created);
}
