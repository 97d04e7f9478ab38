//! The real `todo-api` binary as a child process: started on port 0 and
//! waited for with a bound, signalled, and its stderr kept for the report
//! of a failed test.

use std::net::SocketAddr;
use std::ops::Deref;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::oneshot;

use super::client::Client;
use super::cluster::Database;

/// The binary under test, built by cargo for this test target.
const BIN: &str = env!("CARGO_BIN_EXE_todo-api");

/// How long the binary may take from spawn to logging its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long `/health` may take to answer 200 once the address is logged.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a child's stderr is kept for a failure report.
const LOG_LIMIT: usize = 1 << 20;

/// The real `todo-api` binary, running as a child process on a port of its
/// own. Killed when dropped; its stderr is printed when the test fails.
#[derive(Debug)]
pub struct Service {
    child: Child,
    pid: Pid,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
    client: Client,
}

impl Service {
    /// Starts the binary on `database` with extra `args`, waits until it
    /// logs its address and `/health` answers 200.
    pub async fn start(database: &Database, args: &[&str]) -> Service {
        Service::start_at(database, 0, args).await
    }

    /// As [`Service::start`], on `port` (0: any free one), for a test that
    /// starts the service again where its clients expect it.
    pub async fn start_at(database: &Database, port: u16, args: &[&str]) -> Service {
        let mut child = Command::new(BIN)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--database-url", database.url()])
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("could not start todo-api");
        let raw_pid = child.id().expect("a running child has a pid");
        let pid = Pid::from_raw(i32::try_from(raw_pid).expect("a pid fits in i32"));
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (listening_tx, listening_rx) = oneshot::channel();
        tokio::spawn(drain_stderr(stderr, Arc::clone(&log), listening_tx));

        let addr = match tokio::time::timeout(START_TIMEOUT, listening_rx).await {
            Ok(Ok(addr)) => addr,
            Ok(Err(_)) => {
                // Stderr closed before the line: the process ended.
                let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                panic!(
                    "todo-api {args:?} exited before listening ({status:?}):\n{}",
                    log.lock().expect("log lock")
                );
            }
            Err(_) => panic!(
                "todo-api {args:?} logged no `listening on` within {START_TIMEOUT:?}:\n{}",
                log.lock().expect("log lock")
            ),
        };
        let mut service = Service {
            child,
            pid,
            addr,
            log,
            client: Client::new(addr),
        };
        service.wait_until_healthy().await;
        service
    }

    /// Polls `/health` until it answers 200, within [`HEALTH_TIMEOUT`].
    async fn wait_until_healthy(&mut self) {
        let deadline = Instant::now() + HEALTH_TIMEOUT;
        for _ in 0..1000 {
            let request = self
                .request(Method::GET, "/health")
                .timeout(Duration::from_secs(1));
            let outcome = self.client.send(request).await;
            if matches!(&outcome, Ok(reply) if reply.status == StatusCode::OK) {
                return;
            }
            assert!(
                self.is_running(),
                "todo-api exited before /health answered:\n{}",
                self.log()
            );
            assert!(
                Instant::now() < deadline,
                "/health did not answer 200 within {HEALTH_TIMEOUT:?} ({outcome:?}):\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("/health did not answer 200:\n{}", self.log());
    }

    /// A client for this service, to move into tasks.
    /// Where the service listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Everything the process wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Whether the process has not exited yet.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` to the process, unless it has already exited (its pid
    /// might belong to another process by now).
    pub fn signal(&mut self, signal: Signal) {
        if self.is_running() {
            kill(self.pid, signal).unwrap_or_else(|error| panic!("kill -{signal}: {error}"));
        }
    }

    /// Waits for the process to exit, within `bound`, and returns its status.
    pub async fn wait_for_exit(&mut self, bound: Duration) -> ExitStatus {
        match tokio::time::timeout(bound, self.child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(error)) => panic!("could not wait for todo-api: {error}"),
            Err(_) => panic!("todo-api did not exit within {bound:?}:\n{}", self.log()),
        }
    }
}

impl Deref for Service {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- stderr of todo-api (pid {}, {}) ---\n{}--- end ---",
                self.pid,
                self.addr,
                self.log()
            );
        }
        // `kill_on_drop` ends the process if it still runs.
    }
}

/// Copies the child's stderr into `log` until the pipe closes (the child
/// exited), so the child never blocks on a full pipe; reports the address
/// of the `listening on http://ADDR` line.
async fn drain_stderr(
    stderr: ChildStderr,
    log: Arc<Mutex<String>>,
    listening: oneshot::Sender<SocketAddr>,
) {
    let mut reader = BufReader::new(stderr);
    let mut listening = Some(listening);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = strip_ansi(&String::from_utf8_lossy(&line));
        if let Some(addr) = listening_addr(&text)
            && let Some(sender) = listening.take()
        {
            let _ = sender.send(addr);
        }
        let mut log = log.lock().expect("log lock");
        if log.len() < LOG_LIMIT {
            log.push_str(&text);
        }
    }
}

/// The address of a `listening on http://ADDR` log line.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("listening on http://")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The text without ANSI colour sequences, should the log have them.
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // `ESC [ params letter`: skip through the final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_read_from_a_plain_or_coloured_log_line() {
        let plain = "2026-01-01T00:00:00Z  INFO todo_api: listening on http://127.0.0.1:4321\n";
        assert_eq!(
            listening_addr(plain),
            Some("127.0.0.1:4321".parse().unwrap())
        );
        let coloured = "\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[2mtodo_api\u{1b}[0m: listening on http://127.0.0.1:4321\n";
        assert_eq!(
            listening_addr(&strip_ansi(coloured)),
            Some("127.0.0.1:4321".parse().unwrap())
        );
        assert_eq!(listening_addr("opening the store"), None);
    }
}
