//! Users through the real binary: `todo-api token` mints what the service
//! takes, the access log names the user, and no token ever reaches the log.

use std::process::Command;

use serde_json::json;

use crate::support::Service;

const SECRET: &str = "a process-test secret of 32 bytes or more";

fn mint(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .arg("token")
        .args(args)
        .env("JWT_SECRET", SECRET)
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_minted_token_signs_its_user_in_and_the_access_log_names_the_user() {
    let output = mint(&["--sub", "alice", "--ttl", "1h"]);
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "{token}");
    let mut service = Service::start(&["--jwt-secret", SECRET]).await;
    let me = reqwest::Client::new()
        .get(format!("{}/api/me", service.base))
        .bearer_auth(&token)
        .header("x-request-id", "whoami-1")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<serde_json::Value>().await.unwrap(),
        json!({"user": "alice", "auth": "jwt"})
    );
    let line = service
        .wait_for_log(|line| line["span"]["request_id"] == "whoami-1")
        .await;
    assert_eq!(line["span"]["user"], "alice");
}

#[test]
fn minting_needs_the_secret_and_a_subject_that_names_a_user() {
    let output = Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .args(["token", "--sub", "alice"])
        .env_remove("JWT_SECRET")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("JWT_SECRET"));
    assert!(!mint(&["--sub", ""]).status.success());
    assert!(!mint(&["--sub", "alice", "--ttl", "soon"]).status.success());
}

#[tokio::test]
async fn no_token_ever_reaches_the_log() {
    let output = mint(&["--sub", "bob"]);
    let good = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let forged = format!("{}x", &good[..good.len() - 1]);
    let access = "an-access-token-of-the-ops-team";
    let wrong = "a-wrong-access-token";
    // Debug lines too, where the reasons for refusals are logged.
    let mut service =
        Service::start_logging(&["--jwt-secret", SECRET, "--api-tokens", access], "debug").await;
    let client = reqwest::Client::new();
    for (index, token) in [&good, &forged, &access.to_owned(), &wrong.to_owned()]
        .into_iter()
        .enumerate()
    {
        client
            .post(format!("{}/api/todo", service.base))
            .bearer_auth(token)
            .header("x-request-id", format!("secret-{index}"))
            .json(&json!({"title": "t"}))
            .send()
            .await
            .unwrap();
        service
            .wait_for_log(|line| {
                line["span"]["request_id"] == format!("secret-{index}")
                    && line["message"] == "answered"
            })
            .await;
    }
    let log = service.log();
    for token in [good.as_str(), forged.as_str(), access, wrong, SECRET] {
        assert!(!log.contains(token), "{token} is in the log");
    }
    // Nor any part of a JWT long enough to matter (its signature).
    let signature = good.rsplit('.').next().unwrap();
    assert!(!log.contains(signature));
}

#[tokio::test]
async fn the_healthcheck_command_tells_a_ready_service_from_none() {
    let service = Service::start(&[]).await;
    let port = service.base.rsplit(':').next().unwrap().to_owned();
    let ready = Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .args(["--host", "127.0.0.1", "--port", &port, "healthcheck"])
        .output()
        .unwrap();
    assert!(ready.status.success(), "{ready:?}");
    drop(service);
    let gone = Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .args(["--host", "127.0.0.1", "--port", &port, "healthcheck"])
        .output()
        .unwrap();
    assert!(!gone.status.success());
}
