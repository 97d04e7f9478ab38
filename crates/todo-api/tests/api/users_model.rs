//! A model-based property test of isolation over HTTP: three users signed
//! in with JWTs do random creates, reads, updates, deletes, bulk updates,
//! listings walked by cursor with filters and sorts, and deletes by filter,
//! each reaching for any id, theirs or not. No response ever contains or
//! changes another user's todo, and each user's view equals a model of
//! their own todos.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::jwt::{JWT_ARGS, token_for};
use crate::support::{AsCaller, Backend, TestApp, next_link, on_both_backends};

on_both_backends!(users_doing_random_requests_each_see_exactly_their_own_todos);

const USERS: [&str; 3] = ["alice", "bob", "carol"];

#[derive(Debug, Clone)]
enum Action {
    Create {
        priority: u8,
        completed: bool,
    },
    Get(usize),
    Patch(usize, Value),
    Delete(usize),
    BulkPatch(Vec<usize>),
    List {
        filter: &'static str,
        sort: &'static str,
        limit: u32,
    },
    DeleteByFilter(&'static str),
}

fn action() -> impl Strategy<Value = Action> {
    let pick = any::<usize>();
    let patch = prop_oneof![
        (1u8..=5).prop_map(|priority| json!({"priority": priority})),
        any::<bool>().prop_map(|completed| json!({"completed": completed})),
        Just(json!({"title": "renamed", "due_date": "2027-01-01"})),
    ];
    prop_oneof![
        3 => ((1u8..=5), any::<bool>())
            .prop_map(|(priority, completed)| Action::Create { priority, completed }),
        2 => pick.prop_map(Action::Get),
        2 => (pick, patch).prop_map(|(pick, patch)| Action::Patch(pick, patch)),
        1 => pick.prop_map(Action::Delete),
        1 => prop::collection::vec(any::<usize>(), 1..4).prop_map(Action::BulkPatch),
        2 => (
            prop::sample::select(vec!["", "completed=true", "completed=false", "priority=3", "min_priority=4", "q=todo"]),
            prop::sample::select(vec!["-created_at", "priority", "-due_date", "id"]),
            1u32..4,
        )
            .prop_map(|(filter, sort, limit)| Action::List { filter, sort, limit }),
        1 => prop::sample::select(vec!["completed=true", "priority=5"]).prop_map(Action::DeleteByFilter),
    ]
}

fn steps() -> impl Strategy<Value = Vec<(usize, Action)>> {
    prop::collection::vec((0..USERS.len(), action()), 5..30)
}

/// One user's todos by id, as the model has them.
type Model = BTreeMap<i64, Value>;

/// Whether a todo of the model matches a filter of [`Action`].
fn matches(filter: &str, todo: &Value) -> bool {
    match filter {
        "" => true,
        "q=todo" => todo["title"].as_str().unwrap().contains("todo"),
        "completed=true" => todo["completed"] == true,
        "completed=false" => todo["completed"] == false,
        "priority=3" => todo["priority"] == 3,
        "priority=5" => todo["priority"] == 5,
        "min_priority=4" => todo["priority"].as_i64().unwrap() >= 4,
        other => panic!("no filter {other}"),
    }
}

/// The whole listing walked by `Link`, every page checked to hold only
/// the caller's todos.
async fn walk(caller: &AsCaller<'_>, first: String) -> Result<Vec<Value>, TestCaseError> {
    let mut seen = Vec::new();
    let mut next = Some(first);
    while let Some(uri) = next {
        let response = caller.get(&uri).await;
        prop_assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        seen.extend(response.json().as_array().unwrap().iter().cloned());
        next = response.header("link").map(next_link);
    }
    Ok(seen)
}

async fn run_case(backend: Backend, steps: Vec<(usize, Action)>) -> Result<(), TestCaseError> {
    let app = TestApp::with_args(backend, &JWT_ARGS).await;
    let tokens: Vec<String> = USERS.iter().map(|user| token_for(user)).collect();
    let callers: Vec<AsCaller<'_>> = tokens.iter().map(|token| app.as_caller(token)).collect();
    let mut models: Vec<Model> = vec![Model::new(); USERS.len()];
    for (step, (me, action)) in steps.into_iter().enumerate() {
        let caller = &callers[me];
        let every_id: Vec<i64> = models
            .iter()
            .flat_map(|model| model.keys().copied())
            .collect();
        let pick = |index: usize| every_id.get(index % every_id.len().max(1)).copied();
        let context = format!("step {step}, {} {action:?}", USERS[me]);
        match action {
            Action::Create {
                priority,
                completed,
            } => {
                let body = json!({"title": format!("todo of {}", USERS[me]), "priority": priority, "completed": completed});
                let created = caller.create(body).await;
                models[me].insert(created["id"].as_i64().unwrap(), created);
            }
            Action::Get(index) => {
                let Some(id) = pick(index) else { continue };
                let response = caller.get(&format!("/api/todo/{id}")).await;
                match models[me].get(&id) {
                    Some(todo) => prop_assert_eq!(&response.json(), todo, "{}", context),
                    None => prop_assert_eq!(response.status, StatusCode::NOT_FOUND, "{}", context),
                }
            }
            Action::Patch(index, patch) => {
                let Some(id) = pick(index) else { continue };
                let response = caller
                    .request(Method::PATCH, &format!("/api/todo/{id}"), Some(&patch), &[])
                    .await;
                match models[me].get(&id) {
                    Some(before) => {
                        prop_assert_eq!(response.status, StatusCode::OK, "{}", context);
                        let after = response.json();
                        for (field, value) in before.as_object().unwrap() {
                            let expected = match patch.get(field) {
                                Some(_) if field == "due_date" => {
                                    json!("2027-01-01T00:00:00.000000Z")
                                }
                                Some(set) => set.clone(),
                                None if field == "updated_at" => after[field].clone(),
                                None => value.clone(),
                            };
                            prop_assert_eq!(&after[field], &expected, "{}: {}", context, field);
                        }
                        models[me].insert(id, after);
                    }
                    None => prop_assert_eq!(response.status, StatusCode::NOT_FOUND, "{}", context),
                }
            }
            Action::Delete(index) => {
                let Some(id) = pick(index) else { continue };
                let response = caller
                    .request(Method::DELETE, &format!("/api/todo/{id}"), None, &[])
                    .await;
                if models[me].remove(&id).is_some() {
                    prop_assert_eq!(response.status, StatusCode::NO_CONTENT, "{}", context);
                } else {
                    prop_assert_eq!(response.status, StatusCode::NOT_FOUND, "{}", context);
                }
            }
            Action::BulkPatch(indexes) => {
                let mut ids: Vec<i64> = indexes.into_iter().filter_map(pick).collect();
                ids.dedup();
                if ids.is_empty()
                    || ids.len() != ids.iter().collect::<std::collections::BTreeSet<_>>().len()
                {
                    continue;
                }
                let body: Vec<Value> = ids
                    .iter()
                    .map(|id| json!({"id": id, "priority": 1}))
                    .collect();
                let response = caller
                    .request(
                        Method::PATCH,
                        "/api/todo/bulk",
                        Some(&Value::from(body)),
                        &[],
                    )
                    .await;
                match ids.iter().find(|id| !models[me].contains_key(id)) {
                    Some(foreign) => {
                        prop_assert_eq!(response.status, StatusCode::NOT_FOUND, "{}", context);
                        prop_assert_eq!(
                            response.json(),
                            json!({"detail": format!("Todo {foreign} not found")}),
                            "{}",
                            context
                        );
                    }
                    None => {
                        prop_assert_eq!(response.status, StatusCode::OK, "{}", context);
                        for todo in response.json().as_array().unwrap() {
                            prop_assert_eq!(&todo["priority"], &json!(1));
                            models[me].insert(todo["id"].as_i64().unwrap(), todo.clone());
                        }
                    }
                }
            }
            Action::List {
                filter,
                sort,
                limit,
            } => {
                let seen = walk(
                    caller,
                    format!("/api/todo?{filter}&sort={sort}&limit={limit}"),
                )
                .await?;
                let mut seen_ids: Vec<i64> = seen
                    .iter()
                    .map(|todo| todo["id"].as_i64().unwrap())
                    .collect();
                for todo in &seen {
                    let id = todo["id"].as_i64().unwrap();
                    prop_assert_eq!(
                        models[me].get(&id),
                        Some(todo),
                        "{}: a todo not the caller's",
                        context
                    );
                }
                seen_ids.sort_unstable();
                let expected: Vec<i64> = models[me]
                    .iter()
                    .filter(|(_, todo)| matches(filter, todo))
                    .map(|(id, _)| *id)
                    .collect();
                prop_assert_eq!(seen_ids, expected, "{}", context);
            }
            Action::DeleteByFilter(filter) => {
                let response = caller
                    .request(Method::DELETE, &format!("/api/todo?{filter}"), None, &[])
                    .await;
                let doomed: Vec<i64> = models[me]
                    .iter()
                    .filter(|(_, todo)| matches(filter, todo))
                    .map(|(id, _)| *id)
                    .collect();
                prop_assert_eq!(
                    response.json(),
                    json!({"deleted": doomed.len()}),
                    "{}",
                    context
                );
                for id in doomed {
                    models[me].remove(&id);
                }
            }
        }
    }
    for (caller, model) in callers.iter().zip(&models) {
        let all = caller.all_todos().await;
        let expected: Vec<Value> = model.values().cloned().collect();
        prop_assert_eq!(all, expected);
    }
    Ok(())
}

async fn users_doing_random_requests_each_see_exactly_their_own_todos(backend: Backend) {
    let runtime = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    });
    #[allow(clippy::result_large_err)]
    let outcome = tokio::task::block_in_place(|| {
        runner.run(&steps(), |steps| runtime.block_on(run_case(backend, steps)))
    });
    if let Err(error) = outcome {
        panic!("{error}");
    }
}
