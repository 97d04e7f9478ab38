//! PgBouncer of the local cluster: transaction mode, in front of every
//! database of one PostgreSQL server, trusting loopback as that server
//! does. It refuses to run as root, so as root it runs as the `postgres`
//! user, like the throwaway cluster's server.

use std::path::Path;
use std::process::Stdio;

use tempfile::TempDir;
use todo_store_postgres::testing::{SERVER_USER, is_root};
use tokio::process::{Child, Command};

use super::{find_program, wait_listening};
use crate::error::BenchError;

/// Server connections per database and user: enough for three instances'
/// transactions at a time, well under the server's `max_connections`.
const POOL_SIZE: u32 = 40;

#[derive(Debug)]
pub(super) struct PgBouncer {
    child: Child,
    port: u16,
    /// Its configuration, readable by the user it runs as; removed on drop.
    _config: TempDir,
}

impl PgBouncer {
    pub(super) async fn start(
        dir: &Path,
        database: &tokio_postgres::Config,
        port: u16,
    ) -> Result<PgBouncer, BenchError> {
        let server_port = database.get_ports().first().copied().unwrap_or(5432);
        let user = database.get_user().unwrap_or(SERVER_USER);
        let run_as = if is_root() {
            Some(user_ids(SERVER_USER)?)
        } else {
            None
        };
        // Under /tmp, not in `dir`: the user it runs as must reach it.
        let config = tempfile::Builder::new()
            .prefix("todo-pgbouncer-")
            .tempdir_in("/tmp")
            .map_err(BenchError::Io)?;
        let userlist = config.path().join("userlist.txt");
        // `trust` still looks the user up in the auth file.
        std::fs::write(&userlist, format!("\"{user}\" \"\"\n")).map_err(BenchError::Io)?;
        let ini = config.path().join("pgbouncer.ini");
        std::fs::write(
            &ini,
            format!(
                "[databases]\n\
                 * = host=127.0.0.1 port={server_port}\n\
                 \n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = trust\n\
                 auth_file = {userlist}\n\
                 pool_mode = transaction\n\
                 default_pool_size = {POOL_SIZE}\n\
                 max_client_conn = 4000\n",
                userlist = userlist.display(),
            ),
        )
        .map_err(BenchError::Io)?;
        let log_path = dir.join("pgbouncer.log");
        let log = std::fs::File::create(&log_path).map_err(BenchError::Io)?;
        let mut command =
            Command::new(find_program("pgbouncer").unwrap_or_else(|| "pgbouncer".into()));
        command
            .arg(&ini)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        if let Some((uid, gid)) = run_as {
            for path in [config.path(), &userlist, &ini] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(BenchError::Io)?;
            }
            command.uid(uid).gid(gid);
        }
        let child = command.spawn().map_err(|error| {
            BenchError::Setup(format!(
                "cannot start pgbouncer ({error}): install Debian's `pgbouncer` package"
            ))
        })?;
        wait_listening(port, "PgBouncer", &log_path).await?;
        Ok(PgBouncer {
            child,
            port,
            _config: config,
        })
    }

    /// `direct`, a URL of the server itself, through PgBouncer instead.
    pub(super) fn url_for(&self, direct: &str) -> Result<String, BenchError> {
        let config: tokio_postgres::Config = direct
            .parse()
            .map_err(|_| BenchError::Setup("the database URL does not parse".to_owned()))?;
        Ok(format!(
            "postgres://{}@127.0.0.1:{}/{}?sslmode=disable",
            config.get_user().unwrap_or(SERVER_USER),
            self.port,
            config.get_dbname().unwrap_or("postgres"),
        ))
    }

    pub(super) async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// The user id and group id of `name`, from `/etc/passwd`.
fn user_ids(name: &str) -> Result<(u32, u32), BenchError> {
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(BenchError::Io)?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&name))
        .and_then(|fields| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))
        .ok_or_else(|| {
            BenchError::Setup(format!(
                "running as root, PgBouncer runs as the `{name}` user, which does not exist \
                 (installing postgresql creates it)"
            ))
        })
}
