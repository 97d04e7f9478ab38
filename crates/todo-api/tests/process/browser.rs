//! `/docs` in a real headless Chromium, driven through chromedriver
//! (WebDriver, with `fantoccini`): the page loads from the service alone,
//! and "Try it out" on the create endpoint gets a 201.
//!
//! Chromium and chromedriver come from Debian (`chromium`,
//! `chromium-driver`); `.ci/run` installs them, and so does this test when
//! it runs as root and finds them missing. Only where they are missing and
//! cannot be installed does it pass as skipped, saying why.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::support::Service;

/// How long the page may take to render, and the request to come back.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

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

/// A headless Chromium driven through its driver, until closed.
struct Session {
    client: fantoccini::Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Session {
    async fn open(browser: &Path, driver: &Path) -> Session {
        let profile = tempfile::tempdir().unwrap();
        let driver = Driver::start(driver).await;
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": browser,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.as_object().unwrap().clone())
            .connect(&driver.url)
            .await
            .unwrap();
        Session {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// Clicks the element `css` matches, once it is there.
async fn click(client: &fantoccini::Client, css: &str) {
    client
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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

fn browser_and_driver() -> Option<(PathBuf, PathBuf)> {
    if let Some(found) = find_browser_and_driver() {
        return Some(found);
    }
    if let Err(reason) = install_browser() {
        println!("SKIPPED: no Chromium and chromedriver, and they cannot be installed: {reason}");
        return None;
    }
    let found = find_browser_and_driver();
    if found.is_none() {
        println!("SKIPPED: Chromium or chromedriver still missing after installing them");
    }
    found
}

fn find_browser_and_driver() -> Option<(PathBuf, PathBuf)> {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| on_path(name))?;
    let driver = on_path("chromedriver").or_else(|| {
        Some(PathBuf::from("/usr/lib/chromium/chromedriver")).filter(|p| p.is_file())
    })?;
    Some((browser, driver))
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// Installs Debian's Chromium and chromedriver, as `.ci/run` does.
fn install_browser() -> Result<(), String> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0");
    if !is_root {
        return Err("not root, so apt-get cannot install them".to_owned());
    }
    if !Path::new("/usr/bin/apt-get").is_file() {
        return Err("no apt-get on this machine".to_owned());
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .map_err(|error| error.to_string())
            .and_then(|output| {
                if output.status.success() {
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&output.stderr).into_owned())
                }
            })
    };
    apt(&["update"])?;
    apt(&[
        "install",
        "-y",
        "--no-install-recommends",
        "chromium",
        "chromium-driver",
    ])
}

/// A running chromedriver; stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start(path: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // A process group of its own, which the browsers it starts join,
        // so that a failed test leaves no browser behind.
        let child = Command::new(path)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let status = reqwest::get(format!("{}/status", driver.url)).await;
            if status.is_ok_and(|response| response.status().is_success()) {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Our own child's process group, by its id.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
