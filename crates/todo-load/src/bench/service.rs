//! The service as a child process: the release `todo-api` binary beside
//! this one, on a free port, stopped with SIGTERM like in production.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use super::BenchError;
use crate::client::wait_healthy;
use crate::target::Target;

/// How long the service may take to start listening and answer `/health`.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running service.
#[derive(Debug)]
pub struct Service {
    child: Child,
    pub target: Target,
    pub pid: u32,
}

/// The `todo-api` binary built beside this one.
pub fn service_binary() -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe().map_err(BenchError::Io)?;
    let binary = exe.with_file_name("todo-api");
    if !binary.is_file() {
        return Err(BenchError::Setup(format!(
            "{} is missing: build with `cargo build --release -p todo-api -p todo-load`",
            binary.display()
        )));
    }
    Ok(binary)
}

impl Service {
    /// Starts `todo-api` with `env` (DATABASE_URL, DB_POOL_SIZE, …) on a free
    /// loopback port; its log goes to `log`.
    pub async fn start(env: &[(&str, String)], log: &Path) -> Result<Service, BenchError> {
        let mut command = Command::new(service_binary()?);
        command
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().map_err(BenchError::Io)?;
        let pid = child
            .id()
            .ok_or_else(|| BenchError::Setup("the service exited at once".to_owned()))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| BenchError::Setup("no stderr".to_owned()))?;
        let mut lines = BufReader::new(stderr).lines();
        let mut file = tokio::fs::File::create(log).await.map_err(BenchError::Io)?;
        let addr = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                file.write_all(line.as_bytes()).await?;
                file.write_all(b"\n").await?;
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    return Ok(Some(rest.trim().to_owned()));
                }
            }
            Ok::<_, std::io::Error>(None)
        })
        .await
        .map_err(|_| BenchError::Setup("the service did not start listening in time".into()))?
        .map_err(BenchError::Io)?
        .ok_or_else(|| BenchError::Setup(format!("the service exited; see {}", log.display())))?;
        // Keep reading the log, or the service would block on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = file.write_all(line.as_bytes()).await;
                let _ = file.write_all(b"\n").await;
            }
        });
        let addr = addr
            .parse()
            .map_err(|_| BenchError::Setup(format!("unexpected address {addr}")))?;
        let target = Target::from_addr(addr).map_err(|e| BenchError::Setup(e.to_string()))?;
        wait_healthy(&target, START_TIMEOUT)
            .await
            .map_err(|e| BenchError::Setup(format!("the service is not healthy: {e}")))?;
        Ok(Service { child, target, pid })
    }

    /// SIGTERM, then waits for a clean exit (killing it after a bound).
    pub async fn stop(mut self) -> Result<(), BenchError> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .await;
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(_) => Ok(()),
            Err(_) => {
                let _ = self.child.kill().await;
                Err(BenchError::Setup(
                    "the service did not stop on SIGTERM".to_owned(),
                ))
            }
        }
    }
}
