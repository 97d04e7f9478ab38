//! The listing: every filter and sort against an independent model, limit
//! and offset, query validation, and delete by filter.

use std::cmp::Ordering;

use axum::http::StatusCode;
use serde_json::{Value, json};
use todo_core::{format_timestamp, parse_timestamp};

use crate::support::{Backend, TestApp, ids, on_both_backends};

on_both_backends!(
    every_filter_and_sort_matches_the_model,
    limit_and_offset_select_the_page,
    out_of_range_or_malformed_query_values_are_422_never_clamped,
    unknown_query_parameters_are_ignored_by_get,
    a_delete_by_filter_removes_what_get_would_list,
    a_delete_by_filter_needs_a_filter_and_refuses_other_parameters,
);

/// Every `sort` value of API.md.
pub const SORTS: [&str; 8] = [
    "created_at",
    "-created_at",
    "priority",
    "-priority",
    "due_date",
    "-due_date",
    "id",
    "-id",
];

const TITLES: [&str; 10] = [
    "Buy milk",
    "MILKSHAKE recipe",
    "50% off",
    "50 off",
    "a_b",
    "axb",
    r"back\slash",
    "Ärger",
    "ärger im büro",
    "plain",
];

/// Seeds todos in several requests (so creation times differ, and tie
/// within a bulk request), with every field varied.
pub async fn seed(app: &TestApp) -> Vec<Value> {
    for batch in 0..3 {
        let todos: Vec<Value> = (0..20)
            .map(|n| {
                let i = batch * 20 + n;
                let due = match i % 4 {
                    0 => Value::Null,
                    1 => json!("2026-12-10"),
                    2 => json!(format!("2026-12-{:02}T08:00:00Z", 1 + i % 28)),
                    _ => json!(format!("2027-01-{:02}", 1 + i % 9)),
                };
                json!({
                    "title": TITLES[i % TITLES.len()],
                    "priority": 1 + (i * 7) % 5,
                    "completed": i % 3 == 0,
                    "due_date": due,
                })
            })
            .collect();
        let response = app.post("/api/todo/bulk", Value::Array(todos)).await;
        assert_eq!(response.status, StatusCode::CREATED);
        app.create(json!({"title": format!("single {batch}"), "priority": 1 + batch % 5}))
            .await;
    }
    app.all_todos().await
}

fn timestamp(text: &str) -> String {
    format_timestamp(&parse_timestamp(text).unwrap())
}

/// Whether `todo` passes the filters of `params` (API.md, "Listing").
fn matches(todo: &Value, params: &[(&str, &str)]) -> bool {
    params.iter().all(|(name, value)| match *name {
        "completed" => todo["completed"] == json!(*value == "true"),
        "priority" => todo["priority"] == json!(value.parse::<i64>().unwrap()),
        "min_priority" => todo["priority"].as_i64().unwrap() >= value.parse::<i64>().unwrap(),
        "due_before" => todo["due_date"]
            .as_str()
            .is_some_and(|due| due < timestamp(value).as_str()),
        "due_after" => todo["due_date"]
            .as_str()
            .is_some_and(|due| due >= timestamp(value).as_str()),
        "q" => todo["title"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains(&value.to_lowercase()),
        _ => true,
    })
}

/// The model's order for `sort`: ties by id in the same direction, todos
/// without a due date last either way.
fn compare(sort: &str, a: &Value, b: &Value) -> Ordering {
    let (descending, field) = match sort.strip_prefix('-') {
        Some(field) => (true, field),
        None => (false, sort),
    };
    let directed = |ordering: Ordering| {
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    };
    let by_id = directed(a["id"].as_i64().cmp(&b["id"].as_i64()));
    match field {
        "id" => by_id,
        "priority" => directed(a["priority"].as_i64().cmp(&b["priority"].as_i64())).then(by_id),
        "created_at" => {
            directed(a["created_at"].as_str().cmp(&b["created_at"].as_str())).then(by_id)
        }
        "due_date" => match (a["due_date"].as_str(), b["due_date"].as_str()) {
            (Some(x), Some(y)) => directed(x.cmp(y)).then(by_id),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => by_id,
        },
        other => panic!("no sort {other}"),
    }
}

fn expected(all: &[Value], params: &[(&str, &str)]) -> Vec<i64> {
    let sort = params
        .iter()
        .find(|(name, _)| *name == "sort")
        .map_or("-created_at", |(_, value)| value);
    let mut matching: Vec<Value> = all
        .iter()
        .filter(|todo| matches(todo, params))
        .cloned()
        .collect();
    matching.sort_by(|a, b| compare(sort, a, b));
    ids(&matching)
}

fn query(params: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

async fn every_filter_and_sort_matches_the_model(backend: Backend) {
    let app = TestApp::new(backend).await;
    let all = seed(&app).await;
    let filters: [&[(&str, &str)]; 18] = [
        &[],
        &[("completed", "true")],
        &[("completed", "false")],
        &[("priority", "2")],
        &[("min_priority", "4")],
        &[("due_before", "2026-12-10")],
        &[("due_after", "2026-12-10")],
        &[
            ("due_after", "2026-12-05T08:00:00+00:00"),
            ("due_before", "2027-01-03"),
        ],
        // The ends of the dates accepted: year 0 (PostgreSQL's 1 BC) and
        // the last microsecond of 9999.
        &[("due_after", "0000-01-01")],
        &[
            ("due_after", "0000-01-01T00:00:00.000001Z"),
            ("due_before", "9999-12-31T23:59:59.999999Z"),
        ],
        &[("q", "milk")],
        &[("q", "50%")],
        &[("q", "a_b")],
        &[("q", r"\")],
        &[("q", "ÄRGER")],
        &[("q", "Büro")],
        &[("completed", "false"), ("min_priority", "3")],
        &[("completed", "true"), ("priority", "5"), ("q", "o")],
    ];
    // The default order (no `sort`) and every sort of API.md.
    let sorts = std::iter::once("").chain(SORTS);
    for filter in filters {
        for sort in sorts.clone() {
            let mut params = filter.to_vec();
            if !sort.is_empty() {
                params.push(("sort", sort));
            }
            params.push(("limit", "1000"));
            let uri = format!("/api/todo?{}", query(&params));
            let response = app.get(&uri).await;
            assert_eq!(response.status, StatusCode::OK, "{uri}");
            assert_eq!(
                ids(response.json().as_array().unwrap()),
                expected(&all, &params),
                "{uri}"
            );
            assert!(response.header("link").is_none(), "{uri}");
        }
    }
    let empty_q = app.get("/api/todo?q=&limit=1000").await;
    assert_eq!(ids(empty_q.json().as_array().unwrap()).len(), all.len());
}

async fn limit_and_offset_select_the_page(backend: Backend) {
    let app = TestApp::new(backend).await;
    let all = seed(&app).await;
    let order = expected(&all, &[("sort", "priority")]);
    let page = app.get("/api/todo?sort=priority&limit=7&offset=10").await;
    assert_eq!(ids(page.json().as_array().unwrap()), order[10..17].to_vec());
    assert!(page.header("link").is_some());
    let default_page = app.get("/api/todo").await.json();
    assert_eq!(default_page.as_array().unwrap().len(), all.len().min(100));
    let past_the_end = app.get("/api/todo?offset=1000").await;
    assert_eq!(past_the_end.json(), json!([]));
    assert!(past_the_end.header("link").is_none());
    for limit in ["1", "1000"] {
        assert_eq!(
            app.get(&format!("/api/todo?limit={limit}")).await.status,
            StatusCode::OK
        );
    }
}

async fn out_of_range_or_malformed_query_values_are_422_never_clamped(backend: Backend) {
    let app = TestApp::new(backend).await;
    let cases = [
        ("limit=0", "limit", "greater_than_equal"),
        ("limit=1001", "limit", "less_than_equal"),
        ("limit=ten", "limit", "int_parsing"),
        ("limit=", "limit", "int_parsing"),
        ("offset=-1", "offset", "greater_than_equal"),
        ("priority=0", "priority", "greater_than_equal"),
        ("priority=9", "priority", "less_than_equal"),
        ("priority=", "priority", "int_parsing"),
        ("min_priority=6", "min_priority", "less_than_equal"),
        ("completed=maybe", "completed", "bool_parsing"),
        ("completed=", "completed", "bool_parsing"),
        ("sort=title", "sort", "literal_error"),
        ("sort=", "sort", "literal_error"),
        (
            "due_before=soon",
            "due_before",
            "datetime_from_date_parsing",
        ),
        ("due_after=", "due_after", "datetime_from_date_parsing"),
        ("cursor=garbage", "cursor", "value_error"),
        ("cursor=", "cursor", "value_error"),
    ];
    for (query, name, kind) in cases {
        let response = app.get(&format!("/api/todo?{query}")).await;
        assert_eq!(
            response.faults(),
            vec![(format!(r#"["query","{name}"]"#), kind.to_owned())],
            "{query}"
        );
    }
    let several = app.get("/api/todo?limit=0&priority=9").await;
    assert_eq!(several.faults().len(), 2);
    for lax in ["completed=TRUE", "completed=1", "completed=no"] {
        assert_eq!(
            app.get(&format!("/api/todo?{lax}")).await.status,
            StatusCode::OK,
            "{lax}"
        );
    }
}

async fn unknown_query_parameters_are_ignored_by_get(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.create(json!({"title": "t"})).await;
    let response = app.get("/api/todo?colour=red&page=2").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json().as_array().unwrap().len(), 1);
}

async fn a_delete_by_filter_removes_what_get_would_list(backend: Backend) {
    let app = TestApp::new(backend).await;
    let all = seed(&app).await;
    let filters: [&[(&str, &str)]; 3] = [
        &[("q", "MILK")],
        &[("completed", "true"), ("min_priority", "3")],
        &[("due_before", "2026-12-10")],
    ];
    let mut remaining = all;
    for filter in filters {
        let doomed = expected(&remaining, filter);
        let response = app.delete(&format!("/api/todo?{}", query(filter))).await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.json(), json!({"deleted": doomed.len()}));
        remaining.retain(|todo| !doomed.contains(&todo["id"].as_i64().unwrap()));
        assert_eq!(ids(&app.all_todos().await), ids(&remaining));
    }
}

async fn a_delete_by_filter_needs_a_filter_and_refuses_other_parameters(backend: Backend) {
    let app = TestApp::new(backend).await;
    seed(&app).await;
    let before = app.all_todos().await;
    for (query, loc, kind) in [
        ("", r#"["query"]"#, "missing"),
        ("q=", r#"["query"]"#, "missing"),
        (
            "completed=true&limit=5",
            r#"["query","limit"]"#,
            "extra_forbidden",
        ),
        (
            "completed=true&sort=id",
            r#"["query","sort"]"#,
            "extra_forbidden",
        ),
        (
            "complete=true",
            r#"["query","complete"]"#,
            "extra_forbidden",
        ),
        ("priority=9", r#"["query","priority"]"#, "less_than_equal"),
    ] {
        let response = app.delete(&format!("/api/todo?{query}")).await;
        assert_eq!(
            response.faults(),
            vec![(loc.to_owned(), kind.to_owned())],
            "{query}"
        );
    }
    assert_eq!(app.all_todos().await, before);
}
