//! Keyset pagination by `cursor` and the `Link: rel="next"` walk.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::json;

use crate::listing::{SORTS, seed};
use crate::support::{Backend, TestApp, ids, next_link, on_both_backends};

on_both_backends!(
    following_next_links_visits_every_todo_once_in_order_for_every_sort,
    a_walk_under_concurrent_inserts_and_deletes_sees_each_stable_todo_exactly_once,
    a_cursor_is_refused_with_offset_when_altered_or_for_other_filters,
);

async fn following_next_links_visits_every_todo_once_in_order_for_every_sort(backend: Backend) {
    let app = TestApp::new(backend).await;
    seed(&app).await;
    for sort in SORTS {
        for filter in ["", "&completed=false", "&q=o", "&min_priority=3"] {
            let whole = app
                .get(&format!("/api/todo?sort={sort}&limit=1000{filter}"))
                .await
                .json();
            let walked = app
                .walk(&format!("/api/todo?sort={sort}&limit=7{filter}"))
                .await;
            assert_eq!(
                ids(&walked),
                ids(whole.as_array().unwrap()),
                "sort={sort}{filter}"
            );
        }
    }
    let walked = app.walk("/api/todo?limit=1").await;
    assert_eq!(walked.len(), app.all_todos().await.len());
}

async fn a_walk_under_concurrent_inserts_and_deletes_sees_each_stable_todo_exactly_once(
    backend: Backend,
) {
    let app = Arc::new(TestApp::new(backend).await);
    let all = seed(&app).await;
    // Odd ids are deleted during the walk; even ones stay throughout.
    let stable: BTreeSet<i64> = ids(&all).into_iter().filter(|id| id % 2 == 0).collect();
    let doomed: Vec<i64> = ids(&all).into_iter().filter(|id| id % 2 == 1).collect();
    let writer = {
        let app = app.clone();
        tokio::spawn(async move {
            for id in doomed {
                app.create(json!({"title": format!("new {id}"), "priority": 1 + id % 5}))
                    .await;
                assert_eq!(
                    app.delete(&format!("/api/todo/{id}")).await.status,
                    StatusCode::NO_CONTENT
                );
                tokio::task::yield_now().await;
            }
        })
    };
    for sort in ["-created_at", "priority", "-due_date", "id"] {
        let mut seen = HashSet::new();
        let mut next = Some(format!("/api/todo?sort={sort}&limit=5"));
        while let Some(uri) = next {
            let response = app.get(&uri).await;
            assert_eq!(response.status, StatusCode::OK);
            for id in ids(response.json().as_array().unwrap()) {
                assert!(seen.insert(id), "todo {id} seen twice walking sort={sort}");
            }
            next = response.header("link").map(next_link);
        }
        let missed: Vec<_> = stable.iter().filter(|id| !seen.contains(id)).collect();
        assert!(missed.is_empty(), "walking sort={sort} missed {missed:?}");
    }
    writer.await.unwrap();
}

async fn a_cursor_is_refused_with_offset_when_altered_or_for_other_filters(backend: Backend) {
    let app = TestApp::new(backend).await;
    seed(&app).await;
    let first = app.get("/api/todo?completed=false&limit=3").await;
    let link = next_link(first.header("link").unwrap());
    let cursor = link.split("cursor=").nth(1).unwrap().to_owned();
    assert_eq!(app.get(&link).await.status, StatusCode::OK);
    let refused = [
        format!("/api/todo?completed=false&cursor={cursor}&offset=0"),
        format!("/api/todo?completed=true&cursor={cursor}"),
        format!("/api/todo?cursor={cursor}"),
        format!("/api/todo?completed=false&sort=id&cursor={cursor}"),
        format!("/api/todo?completed=false&cursor={}x", cursor),
        format!("/api/todo?completed=false&cursor=B{}", &cursor[1..]),
    ];
    for uri in refused {
        let response = app.get(&uri).await;
        assert_eq!(
            response.faults(),
            vec![(r#"["query","cursor"]"#.to_owned(), "value_error".to_owned())],
            "{uri}"
        );
    }
}
