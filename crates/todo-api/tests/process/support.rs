//! Starting the binary on port 0 over a fresh SQLite file, learning its
//! address from its `listening on http://ADDR` log line, and waiting for
//! `/health` with a bound.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// How long the service may take to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The service running as a process; killed when dropped.
pub struct Service {
    child: Child,
    /// `http://ADDR`, without a trailing slash.
    pub base: String,
    lines: Arc<Mutex<Vec<String>>>,
    _dir: TempDir,
}

impl Service {
    /// Starts the binary with JSON logs and `args`.
    pub async fn start(args: &[&str]) -> Service {
        Service::start_logging(args, "info").await
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Starts the binary with JSON logs filtered by `rust_log` and `args`.
    pub async fn start_logging(args: &[&str], rust_log: &str) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite://{}", dir.path().join("todo.db").display());
        let mut child = Command::new(env!("CARGO_BIN_EXE_todo-api"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--database-url",
                &database,
            ])
            .args(args)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", rust_log)
            .env_remove("CORS_ORIGINS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut service = Service {
            child,
            base: String::new(),
            lines,
            _dir: dir,
        };
        let listening = service
            .wait_for_log(|line| {
                line["message"]
                    .as_str()
                    .is_some_and(|message| message.starts_with("listening on http://"))
            })
            .await;
        service.base = listening["message"]
            .as_str()
            .unwrap()
            .trim_start_matches("listening on ")
            .to_owned();
        service.wait_until_healthy().await;
        service
    }

    async fn wait_until_healthy(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let health = client.get(format!("{}/health", self.base)).send().await;
            if health.is_ok_and(|response| response.status().is_success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no healthy answer within {START_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The first JSON log line `wanted` accepts, waiting for it a bounded
    /// time; fails the test with the log when none comes, or when the
    /// process exits first.
    pub async fn wait_for_log(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let found = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|line| wanted(line));
            if let Some(line) = found {
                return line;
            }
            let exited = self.child.try_wait().unwrap();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "the awaited log line did not come (exit: {exited:?}):\n{}",
                self.lines.lock().unwrap().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // Our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
