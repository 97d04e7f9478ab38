//! `/docs` in a real headless Chromium, driven through chromedriver
//! (WebDriver, with `fantoccini`): the page loads from the service alone,
//! and "Try it out" on the create endpoint gets a 201.

use std::process::Command;

use fantoccini::Locator;

use crate::browser::{PAGE_TIMEOUT, Session, browser_and_driver, click};
use crate::support::Service;

#[tokio::test]
async fn the_docs_page_creates_a_todo_with_try_it_out_in_a_real_browser() {
    let Some((browser, driver)) = browser_and_driver() else {
        return;
    };
    let service = Service::start(&[]).await;
    let session = Session::open(&browser, &driver).await;
    let client = &session.client;
    client
        .goto(&format!("{}/docs", service.base))
        .await
        .unwrap();
    assert_eq!(create_with_try_it_out(client).await, "201");

    let loaded = client
        .execute(
            "return performance.getEntriesByType('resource').map(entry => entry.name)",
            vec![],
        )
        .await
        .unwrap();
    let loaded: Vec<String> = serde_json::from_value(loaded).unwrap();
    assert!(!loaded.is_empty());
    for url in &loaded {
        assert!(
            url.starts_with(&service.base),
            "loaded from elsewhere: {url}"
        );
    }
    session.close().await;

    let todos: serde_json::Value = reqwest::get(format!("{}/api/todo", service.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(todos.as_array().unwrap().len(), 1, "{todos}");
}

/// With JWTs on, a person pastes a token into "Authorize" and tries a call
/// as that user.
#[tokio::test]
async fn the_docs_page_authorizes_with_a_pasted_token() {
    let Some((browser, driver)) = browser_and_driver() else {
        return;
    };
    const SECRET: &str = "a browser-test secret of 32 bytes or more";
    let token = String::from_utf8(
        Command::new(env!("CARGO_BIN_EXE_todo-api"))
            .args(["token", "--sub", "docs-user"])
            .env("JWT_SECRET", SECRET)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let service = Service::start(&["--jwt-secret", SECRET]).await;
    let session = Session::open(&browser, &driver).await;
    let client = &session.client;
    client
        .goto(&format!("{}/docs", service.base))
        .await
        .unwrap();
    // Without a token the call is refused.
    assert_eq!(create_with_try_it_out(client).await, "401");
    click(client, ".auth-wrapper .btn.authorize").await;
    client
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Css(".auth-container input"))
        .await
        .unwrap()
        .send_keys(&token)
        .await
        .unwrap();
    click(client, ".auth-btn-wrapper .modal-btn.authorize").await;
    click(client, ".auth-btn-wrapper .btn-done").await;
    click(client, "#operations-todos-create_todo .execute").await;
    let status = client
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::XPath(
            "//*[@id='operations-todos-create_todo']//tr[contains(@class,'response')]//td[contains(@class,'response-col_status') and normalize-space()='201']",
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(status.trim(), "201");
    session.close().await;

    let mine: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/todo", service.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
}

/// Opens "Create a todo", tries it out with its example body, and returns
/// the status the page shows.
async fn create_with_try_it_out(client: &fantoccini::Client) -> String {
    let operation = client
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Css("#operations-todos-create_todo"))
        .await
        .unwrap();
    operation
        .find(Locator::Css(".opblock-summary-control"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for button in ["try-out__btn", "execute"] {
        click(client, &format!("#operations-todos-create_todo .{button}")).await;
    }
    client
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Css(
            "#operations-todos-create_todo .live-responses-table tr.response .response-col_status",
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .trim()
        .to_owned()
}
