//! The service as a child process: the release `todo-api` binary beside
//! this one, on a free port, stopped with SIGTERM like in production.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use todo_load::client::wait_healthy;
use todo_load::service_url::ServiceUrl;
use tokio::process::{Child, Command};

use crate::error::BenchError;

/// How long the service may take to start listening and answer `/health`.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running service.
#[derive(Debug)]
pub struct Service {
    child: Child,
    pub url: ServiceUrl,
    pub pid: u32,
}

/// The `todo-api` binary built beside this one.
pub fn service_binary() -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe().map_err(BenchError::Io)?;
    let binary = exe.with_file_name("todo-api");
    if !binary.is_file() {
        return Err(BenchError::Setup(format!(
            "{} is missing: build with `cargo build --release -p todo-api -p todo-bench`",
            binary.display()
        )));
    }
    Ok(binary)
}

impl Service {
    /// Starts `todo-api` with `env` (DATABASE_URL, DB_POOL_SIZE, …) on a free
    /// loopback port; its log goes straight to the file `log`, so the
    /// service's log lines cost this process (the load generator) nothing.
    pub async fn start(env: &[(&str, String)], log: &Path) -> Result<Service, BenchError> {
        Service::start_binary(&service_binary()?, env, log).await
    }

    /// [`Service::start`] of another `todo-api` binary (a test's own build).
    /// A `PORT` in `env` replaces the free one.
    pub async fn start_binary(
        binary: &Path,
        env: &[(&str, String)],
        log: &Path,
    ) -> Result<Service, BenchError> {
        let file = std::fs::File::create(log).map_err(BenchError::Io)?;
        let mut command = Command::new(binary);
        command
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(file))
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().map_err(BenchError::Io)?;
        let pid = child
            .id()
            .ok_or_else(|| BenchError::Setup("the service exited at once".to_owned()))?;
        let addr = tokio::time::timeout(START_TIMEOUT, listening_address(&mut child, log))
            .await
            .map_err(|_| {
                BenchError::Setup("the service did not start listening in time".into())
            })??;
        let addr = addr
            .parse()
            .map_err(|_| BenchError::Setup(format!("unexpected address {addr}")))?;
        let url = ServiceUrl::from_addr(addr).map_err(|e| BenchError::Setup(e.to_string()))?;
        wait_healthy(&url, START_TIMEOUT)
            .await
            .map_err(|e| BenchError::Setup(format!("the service is not healthy: {e}")))?;
        Ok(Service { child, url, pid })
    }

    /// SIGTERM, then waits for a clean exit (killing it after a bound).
    pub async fn stop(self) -> Result<(), BenchError> {
        self.terminate().await.map(drop)
    }

    /// SIGKILL, as a crash would end it, and waits until it is gone.
    pub async fn kill(mut self) -> Result<(), BenchError> {
        self.child.kill().await.map_err(BenchError::Io)
    }

    /// SIGTERM, then waits for the exit (killing it after a bound); how it
    /// exited.
    pub async fn terminate(mut self) -> Result<ExitStatus, BenchError> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .await;
        match tokio::time::timeout(Duration::from_secs(45), self.child.wait()).await {
            Ok(status) => status.map_err(BenchError::Io),
            Err(_) => {
                let _ = self.child.kill().await;
                Err(BenchError::Setup(
                    "the service did not stop on SIGTERM".to_owned(),
                ))
            }
        }
    }
}

/// How often the log is read again while the service starts.
const LOG_POLL: Duration = Duration::from_millis(20);

/// The address of the service's `listening on http://ADDR` log line, read
/// from its log file as it is written.
async fn listening_address(child: &mut Child, log: &Path) -> Result<String, BenchError> {
    loop {
        let text = tokio::fs::read_to_string(log)
            .await
            .map_err(BenchError::Io)?;
        // Only a whole line: the file may be read mid-write.
        if let Some(rest) = text.split("listening on http://").nth(1)
            && let Some((line, _)) = rest.split_once('\n')
        {
            return Ok(line.trim().to_owned());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(BenchError::Setup(format!(
                "the service exited ({status}); see {}",
                log.display()
            )));
        }
        tokio::time::sleep(LOG_POLL).await;
    }
}
