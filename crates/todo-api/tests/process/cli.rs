//! The command line and the logs of the binary.

use std::process::Command;

use serde_json::json;

use crate::support::Service;

#[test]
fn the_binary_reports_its_version() {
    let output = Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        format!("todo-api {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _todo__api"),
        ("zsh", "#compdef todo-api"),
        ("fish", "complete -c todo-api"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_todo-api"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {script}");
        // Every setting is offered, flags and subcommands alike.
        for word in ["database-url", "jwt-secret", "healthcheck", "token"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let unknown = Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .args(["completions", "cmd.exe"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
}

#[tokio::test]
async fn startup_logs_the_configuration_and_the_docs_url() {
    let mut service = Service::start(&["--max-bulk-items", "7"]).await;
    let configuration = service
        .wait_for_log(|line| line["message"] == "configuration")
        .await;
    assert_eq!(configuration["max_bulk_items"], json!(7));
    assert_eq!(configuration["statement_cache"], json!(true));
    assert!(
        configuration["database_url"]
            .as_str()
            .unwrap()
            .starts_with("sqlite://")
    );
    let docs = format!("interactive API documentation on {}/docs", service.base);
    service.wait_for_log(|line| line["message"] == docs).await;
}

#[tokio::test]
async fn each_request_is_one_json_line_with_route_status_latency_and_request_id() {
    let mut service = Service::start(&[]).await;
    let response = reqwest::Client::new()
        .get(format!("{}/api/todo/12345", service.base))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["x-request-id"].to_str().unwrap(),
        "trace-me-42"
    );
    let line = service
        .wait_for_log(|line| line["span"]["request_id"] == "trace-me-42")
        .await;
    assert_eq!(line["message"], "answered");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["status"], json!(404));
    assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(line["span"]["route"], "/api/todo/{id}");
    assert_eq!(line["span"]["path"], "/api/todo/12345");
}
