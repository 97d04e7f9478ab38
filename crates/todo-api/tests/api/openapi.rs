//! The OpenAPI description stays true: it is valid OpenAPI 3.1, it
//! describes exactly the endpoints of API.md, the router serves exactly
//! what it describes, and its examples are accepted.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp};

/// The endpoints of API.md's table, as `(method, path template)`.
const CONTRACT: [(&str, &str); 21] = [
    ("GET", "/api/me"),
    ("GET", "/api/todo/changes"),
    ("GET", "/api/todo/events"),
    ("POST", "/api/todo"),
    ("GET", "/api/todo"),
    ("DELETE", "/api/todo"),
    ("POST", "/api/todo/bulk"),
    ("PATCH", "/api/todo/bulk"),
    ("GET", "/api/todo/{id}"),
    ("PATCH", "/api/todo/{id}"),
    ("PUT", "/api/todo/{id}"),
    ("DELETE", "/api/todo/{id}"),
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/health/pool"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    // The scripts and styles `/docs` loads.
    ("GET", "/docs/{file}"),
    ("GET", "/"),
    // The scripts, styles and icon of the web app.
    ("GET", "/app/{asset}"),
];

/// Every method a route could be served for.
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

async fn description(app: &TestApp) -> Value {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status, StatusCode::OK);
    response.json()
}

/// `(METHOD, path)` of every operation described.
fn operations(description: &Value) -> BTreeSet<(String, String)> {
    description["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|key| METHODS.iter().any(|m| m.as_str().eq_ignore_ascii_case(key)))
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

#[tokio::test]
async fn the_description_is_valid_openapi_3_1() {
    let app = TestApp::new(Backend::Sqlite).await;
    let description = description(&app).await;
    assert!(
        description["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        description["openapi"]
    );
    let spec = oas3::from_json(description.to_string()).expect("parses as OpenAPI 3.1");
    assert_eq!(spec.info.title, "todo-api");
    assert_eq!(spec.info.version, env!("CARGO_PKG_VERSION"));

    let mut refs = Vec::new();
    collect_refs(&description, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("a reference outside the document: {reference}"));
        assert!(
            description.pointer(pointer).is_some(),
            "{reference} resolves to nothing"
        );
    }

    let mut operation_ids = BTreeSet::new();
    for (path, item) in description["paths"].as_object().unwrap() {
        let declared: BTreeSet<&str> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(operation_ids.insert(id.to_owned()), "{id} twice");
            assert!(
                !operation["responses"].as_object().unwrap().is_empty(),
                "{method} {path} has no responses"
            );
            // OpenAPI requires a description of every response; code
            // generators refuse a document without one.
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert!(
                    response.get("$ref").is_some() || response["description"].is_string(),
                    "{method} {path}: the {status} response has no description"
                );
            }
            let in_path: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|parameter| parameter["in"] == "path")
                .map(|parameter| parameter["name"].as_str().unwrap())
                .collect();
            assert_eq!(in_path, declared, "{method} {path}: path parameters");
        }
    }
}

#[tokio::test]
async fn only_what_api_md_requires_is_required_in_a_body() {
    let app = TestApp::new(Backend::Sqlite).await;
    let description = description(&app).await;
    let required = |schema: &str| -> Vec<String> {
        description["components"]["schemas"][schema]["required"]
            .as_array()
            .map(|names| {
                names
                    .iter()
                    .map(|name| name.as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    // A new todo needs a title (the rest have defaults); a partial update
    // sends only what changes, a bulk one its ids too.
    assert_eq!(required("NewTodo"), ["title"]);
    assert!(
        required("TodoPatch").is_empty(),
        "{:?}",
        required("TodoPatch")
    );
    assert_eq!(required("BulkPatch"), ["id"]);
}

#[tokio::test]
async fn request_bodies_say_that_unknown_fields_are_refused() {
    let app = TestApp::new(Backend::Sqlite).await;
    let description = description(&app).await;
    // API.md: a body with an unknown field is a 422, so a generated client
    // must not offer to send one.
    for schema in ["NewTodo", "TodoPatch", "BulkPatch"] {
        assert_eq!(
            description["components"]["schemas"][schema]["additionalProperties"],
            json!(false),
            "{schema}"
        );
    }
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => refs.push(reference.clone()),
                    _ => collect_refs(value, refs),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|value| collect_refs(value, refs)),
        _ => {}
    }
}

#[tokio::test]
async fn the_description_covers_exactly_the_endpoints_of_the_contract() {
    let app = TestApp::new(Backend::Sqlite).await;
    let described = operations(&description(&app).await);
    let contract: BTreeSet<(String, String)> = CONTRACT
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(described, contract);
}

#[tokio::test]
async fn every_described_route_is_served_and_every_other_method_is_405() {
    let app = TestApp::new(Backend::Sqlite).await;
    let description = description(&app).await;
    let described = operations(&description);
    for path in description["paths"].as_object().unwrap().keys() {
        let uri = path
            .replace("{id}", "1")
            .replace("{file}", "swagger-ui.css")
            .replace("{asset}", "main.js");
        for method in METHODS {
            if method == Method::GET && uri == "/api/todo/events" {
                // A stream never ends of itself: opening it is enough.
                assert!(app.open_stream(&uri, &[]).await.is_ok(), "GET {uri}");
                continue;
            }
            let response = app.request(method.clone(), &uri, None, &[]).await;
            let is_described = described.contains(&(method.to_string(), path.clone()));
            if is_described {
                assert_ne!(
                    response.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {uri} is described but not served"
                );
                let no_route = response.status == StatusCode::NOT_FOUND
                    && response.text().contains("\"Not Found\"");
                assert!(!no_route, "{method} {uri} is described but not served");
            } else {
                assert_eq!(
                    response.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {uri} is served but not described"
                );
            }
        }
    }
    let unknown = app.get("/api/todos").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json(), json!({"detail": "Not Found"}));
}

#[tokio::test]
async fn with_bulk_switched_off_the_description_leaves_the_bulk_endpoints_out() {
    let app = TestApp::with_args(Backend::Sqlite, &["--bulk-endpoints", "false"]).await;
    let described = operations(&description(&app).await);
    assert!(!described.iter().any(|(_, path)| path == "/api/todo/bulk"));
    assert!(described.contains(&("POST".to_owned(), "/api/todo".to_owned())));
    assert_eq!(
        app.post("/api/todo/bulk", json!([{"title": "x"}]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_examples_of_the_description_are_accepted_and_match_the_answers() {
    let app = TestApp::new(Backend::Sqlite).await;
    let description = description(&app).await;
    let schemas = &description["components"]["schemas"];
    let create = app
        .post("/api/todo", schemas["NewTodo"]["example"].clone())
        .await;
    assert_eq!(create.status, StatusCode::CREATED, "{}", create.text());
    let id = create.json()["id"].clone();
    let patch = app
        .patch(
            &format!("/api/todo/{id}"),
            schemas["TodoPatch"]["example"].clone(),
        )
        .await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.text());
    let put = app
        .put(
            &format!("/api/todo/{id}"),
            schemas["NewTodo"]["example"].clone(),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());

    // The described todo has exactly the fields of a real one.
    let field_names = |object: &Value| -> BTreeSet<String> {
        object.as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(
        field_names(&schemas["Todo"]["properties"]),
        field_names(&put.json())
    );
    assert_eq!(
        field_names(&schemas["Todo"]["example"]),
        field_names(&put.json())
    );
    let pool = app.get("/health/pool").await.json();
    assert_eq!(
        field_names(&schemas["PoolFigures"]["properties"]),
        field_names(&pool)
    );
}

#[tokio::test]
async fn the_docs_page_is_served_from_the_binary() {
    let app = TestApp::new(Backend::Sqlite).await;
    let page = app.get("/docs").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text();
    assert!(html.contains("<base href=\"/docs/\">"), "{html}");
    assert!(!html.contains("//cdn"), "no CDN: {html}");
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
    ] {
        let response = app.get(&format!("/docs/{asset}")).await;
        assert_eq!(response.status, StatusCode::OK, "{asset}");
    }
    let initializer = app.get("/docs/swagger-initializer.js").await.text();
    assert!(initializer.contains("/openapi.json"), "{initializer}");
    assert_eq!(
        app.get("/docs/no-such-file.js").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_api_operation_takes_the_bearer_scheme_and_may_answer_401_and_429() {
    for (args, required) in [
        (&[][..], false),
        (&["--jwt-secret", crate::jwt::SECRET][..], true),
    ] {
        let app = TestApp::with_args(Backend::Sqlite, args).await;
        let description = description(&app).await;
        let scheme = &description["components"]["securitySchemes"]["bearer"];
        assert_eq!(scheme["type"], "http");
        assert_eq!(scheme["scheme"], "bearer");
        for (path, item) in description["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let security = &operation["security"];
                if !path.starts_with("/api/") {
                    assert!(security.is_null(), "{method} {path} is open");
                    continue;
                }
                let expected = if required {
                    serde_json::json!([{"bearer": []}])
                } else {
                    serde_json::json!([{}, {"bearer": []}])
                };
                assert_eq!(security, &expected, "{method} {path}");
                for status in ["401", "429"] {
                    assert!(
                        operation["responses"][status]["description"].is_string(),
                        "{method} {path}: {status}"
                    );
                }
            }
        }
    }
}

/// `/docs` and generated clients show an operation's summary: it says
/// what the operation does ("List todos"), never repeats its path, and no
/// two operations share one.
#[tokio::test]
async fn every_operation_says_what_it_does() {
    let app = TestApp::new(Backend::Sqlite).await;
    let description = description(&app).await;
    let mut seen = BTreeSet::new();
    for (method, path) in operations(&description) {
        let operation = &description["paths"][&path][method.to_lowercase()];
        let summary = operation["summary"].as_str().unwrap_or_default();
        assert!(!summary.is_empty(), "{method} {path} has no summary");
        assert!(
            !summary.contains('/') && !summary.contains(&method),
            "{method} {path}: {summary:?} repeats the route"
        );
        assert!(seen.insert(summary.to_owned()), "{summary:?} twice");
    }
    let list = &description["paths"]["/api/todo"]["get"]["summary"];
    assert_eq!(list, "List todos");
}
