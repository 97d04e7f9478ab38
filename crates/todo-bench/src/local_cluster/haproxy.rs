//! HAProxy of the local cluster, configured as `deploy/compose/haproxy.cfg`
//! for its instances: `/ready` checked every 500 ms, an instance out after
//! one failed check, back after two good ones, a refused connection tried
//! on another instance. Its stats socket tells which instances are up.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};

use super::{find_program, wait_listening};
use crate::error::BenchError;

/// The backend's name in the configuration and the stats.
const BACKEND: &str = "todo_api";

#[derive(Debug)]
pub(super) struct HaProxy {
    child: Child,
    socket: PathBuf,
}

impl HaProxy {
    pub(super) async fn start(
        dir: &Path,
        port: u16,
        instance_ports: &[u16],
    ) -> Result<HaProxy, BenchError> {
        let socket = dir.join("haproxy.sock");
        let servers: String = instance_ports
            .iter()
            .enumerate()
            .map(|(index, instance)| {
                format!("    server api{} 127.0.0.1:{instance} check\n", index + 1)
            })
            .collect();
        let config = dir.join("haproxy.cfg");
        std::fs::write(
            &config,
            format!(
                "global\n\
                 \x20   log stdout format raw local0 notice\n\
                 \x20   maxconn 8000\n\
                 \x20   stats socket {socket} mode 600 level user\n\
                 \n\
                 defaults\n\
                 \x20   mode http\n\
                 \x20   timeout connect 2s\n\
                 \x20   timeout client 60s\n\
                 \x20   timeout server 60s\n\
                 \x20   timeout http-request 10s\n\
                 \x20   retries 3\n\
                 \x20   retry-on conn-failure\n\
                 \x20   option redispatch 1\n\
                 \n\
                 frontend todo\n\
                 \x20   bind 127.0.0.1:{port}\n\
                 \x20   default_backend {BACKEND}\n\
                 \n\
                 backend {BACKEND}\n\
                 \x20   balance leastconn\n\
                 \x20   option httpchk GET /ready\n\
                 \x20   http-check expect status 200\n\
                 \x20   default-server inter 500ms fall 1 rise 2\n\
                 {servers}",
                socket = socket.display(),
            ),
        )
        .map_err(BenchError::Io)?;
        let log_path = dir.join("haproxy.log");
        let log = std::fs::File::create(&log_path).map_err(BenchError::Io)?;
        let child = Command::new(find_program("haproxy").unwrap_or_else(|| "haproxy".into()))
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(BenchError::Io)?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| {
                BenchError::Setup(format!(
                    "cannot start haproxy ({error}): install Debian's `haproxy` package"
                ))
            })?;
        wait_listening(port, "HAProxy", &log_path).await?;
        Ok(HaProxy { child, socket })
    }

    /// How many instances HAProxy has in rotation now.
    pub(super) async fn servers_up(&self) -> std::io::Result<usize> {
        let mut stream = UnixStream::connect(&self.socket).await?;
        stream.write_all(b"show stat\n").await?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await?;
        Ok(count_up(&text))
    }

    pub(super) async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// Servers of the backend whose status is `UP` in `show stat`'s CSV.
fn count_up(stat: &str) -> usize {
    let mut lines = stat.lines();
    let Some(header) = lines.next() else {
        return 0;
    };
    let columns: Vec<&str> = header.trim_start_matches("# ").split(',').collect();
    let column = |name: &str| columns.iter().position(|column| *column == name);
    let (Some(proxy), Some(server), Some(status)) =
        (column("pxname"), column("svname"), column("status"))
    else {
        return 0;
    };
    lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|fields| {
            fields.get(proxy) == Some(&BACKEND)
                && !matches!(fields.get(server), Some(&("BACKEND" | "FRONTEND")))
                && fields.get(status) == Some(&"UP")
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::count_up;

    #[test]
    fn only_servers_of_the_backend_that_are_up_count() {
        let stat = "# pxname,svname,qcur,status,weight\n\
                    todo,FRONTEND,,OPEN,\n\
                    todo_api,api1,0,UP,1\n\
                    todo_api,api2,0,DOWN,1\n\
                    todo_api,api3,0,DOWN 1/2,1\n\
                    todo_api,BACKEND,0,UP,1\n";
        assert_eq!(count_up(stat), 1);
        assert_eq!(count_up(""), 0);
    }
}
