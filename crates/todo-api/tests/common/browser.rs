//! A real headless Chromium driven through chromedriver (WebDriver, with
//! `fantoccini`), shared by the test targets that open pages.
//!
//! Chromium and chromedriver come from Debian (`chromium`,
//! `chromium-driver`); `.ci/run` installs them, and so does
//! [`browser_and_driver`] when it runs as root and finds them missing. Only
//! where they are missing and cannot be installed does a test pass as
//! skipped, saying why.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// How long a page may take to render, and a request to come back.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// A headless Chromium driven through its driver, until closed.
pub struct Session {
    pub client: fantoccini::Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Session {
    pub async fn open(browser: &Path, driver: &Path) -> Session {
        Session::open_with(browser, driver, &[]).await
    }

    /// A session whose browser also gets `extra_args`.
    pub async fn open_with(browser: &Path, driver: &Path, extra_args: &[&str]) -> Session {
        let profile = tempfile::tempdir().unwrap();
        let driver = Driver::start(driver).await;
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.extend(extra_args.iter().map(|arg| (*arg).to_owned()));
        let capabilities = json!({
            "goog:chromeOptions": {"binary": browser, "args": args},
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

    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// Clicks the element `css` matches, once it is there.
pub async fn click(client: &fantoccini::Client, css: &str) {
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

/// Says a browser test is skipped, where the person running the tests sees
/// it: straight to the process's stderr, which the test harness does not
/// capture (it captures `println!` and `eprintln!` of passing tests).
fn report_skipped(reason: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED browser test {}: {reason}",
        std::thread::current().name().unwrap_or("?")
    );
}

pub fn browser_and_driver() -> Option<(PathBuf, PathBuf)> {
    if let Some(found) = find_browser_and_driver() {
        return Some(found);
    }
    if let Err(reason) = install_browser() {
        report_skipped(&format!(
            "no Chromium and chromedriver, and they cannot be installed: {reason}"
        ));
        return None;
    }
    let found = find_browser_and_driver();
    if found.is_none() {
        report_skipped("Chromium or chromedriver still missing after installing them");
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
