//! Opening the database of a [`PgStore`](crate::PgStore): parsing the URL
//! and its TLS settings, building the connection pools, and trying one
//! connection so that startup fails with a clear message.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{
    BuildError, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime,
};
use tokio_postgres::config::Host;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::db::Db;
use crate::direct::DirectConnector;
use crate::shared::SharedConnections;
use crate::statement_mode::StatementMode;
use crate::tls::{TlsError, take_tls_params};

const KEEPALIVE_IDLE: Duration = Duration::from_secs(15);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEPALIVE_RETRIES: u32 = 3;
/// Longest time sent data may stay unacknowledged before the connection is
/// dropped (Linux `TCP_USER_TIMEOUT`).
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);

/// How the store's connection pool behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgOptions {
    /// Most connections open at once.
    pub pool_size: usize,
    /// Longest wait for a free connection before a request fails as
    /// unavailable.
    pub acquire_timeout: Duration,
    /// Longest wait for a new connection to be established.
    pub connect_timeout: Duration,
    /// Longest a statement may run before the server cancels it, set for
    /// every connection as it opens; `None` keeps the server's setting.
    /// PgBouncer refuses the startup parameter that carries it: behind
    /// PgBouncer, set `statement_timeout` on the database role instead.
    pub statement_timeout: Option<Duration>,
    /// Connections shared, pipelined, by the statements that stand alone
    /// (reads, single-row writes, batched creates), beside the pool's
    /// exclusive ones; 0 sends every statement through the pool.
    pub shared_connections: usize,
    /// Prepare each statement once per connection and reuse it; `false`
    /// sends unnamed statements instead, for PgBouncer in transaction mode
    /// before version 1.21.
    pub statement_cache: bool,
}

/// Why [`PgStore::connect`](crate::PgStore::connect) failed. No variant shows the URL, which may
/// hold a password.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("invalid PostgreSQL URL")]
    InvalidUrl(#[source] tokio_postgres::Error),
    #[error("invalid TLS settings in the PostgreSQL URL")]
    Tls(#[from] TlsError),
    #[error("could not set up the PostgreSQL connection pool")]
    Pool(#[source] BuildError),
    #[error("could not connect to PostgreSQL at {target}")]
    Unreachable {
        /// Hosts, ports, user and database, without the password.
        target: String,
        #[source]
        source: PoolError,
    },
}

/// Opens the pools on the database at `url` (`postgres://` or
/// `postgresql://`), and checks that one connection can be made.
pub(crate) async fn connect(
    url: &str,
    listen_url: Option<&str>,
    options: PgOptions,
) -> Result<Db, ConnectError> {
    let direct = match listen_url {
        Some(listen_url) => Some(direct_connector(listen_url, options)?),
        None => None,
    };
    let (url, tls) = take_tls_params(url)?;
    let mut config = tokio_postgres::Config::from_str(&url).map_err(ConnectError::InvalidUrl)?;
    config.connect_timeout(options.connect_timeout);
    // A server that vanishes without closing its connections (a crash of
    // its host, a cut network) is noticed within about half a minute,
    // not the hours of the kernel's defaults.
    config
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(KEEPALIVE_RETRIES)
        .tcp_user_timeout(TCP_USER_TIMEOUT);
    config.ssl_mode(tls.driver_mode());
    if let Some(timeout) = options.statement_timeout {
        // `options` may already carry settings from the URL; keep them.
        let earlier = config.get_options().unwrap_or_default().to_owned();
        config.options(
            format!("{earlier} -c statement_timeout={}", timeout.as_millis()).trim_start(),
        );
    }
    let target = describe_target(&config);
    let connector = tls.connector()?;
    let direct = direct.unwrap_or_else(|| DirectConnector::new(config.clone(), connector.clone()));
    let pool = build_pool(
        config.clone(),
        connector.clone(),
        options.pool_size,
        options,
    )
    .map_err(ConnectError::Pool)?;
    let shared_pool = build_pool(
        config,
        connector,
        options.shared_connections.max(1),
        options,
    )
    .map_err(ConnectError::Pool)?;
    // Without this, a wrong URL or a database that is down would only
    // show up as 503s on the first requests.
    let first = pool
        .get()
        .await
        .map_err(|source| ConnectError::Unreachable { target, source })?;
    drop(first);
    Ok(Db::new(
        pool,
        SharedConnections::new(shared_pool, options.shared_connections),
        StatementMode::new(options.statement_cache),
        direct,
    ))
}

/// The connector of the connection that listens for change notifications
/// when it must go elsewhere than the pools (to PostgreSQL itself while the
/// pools go through PgBouncer, whose transaction pooling cannot carry
/// `LISTEN`).
fn direct_connector(url: &str, options: PgOptions) -> Result<DirectConnector, ConnectError> {
    let (url, tls) = take_tls_params(url)?;
    let mut config = tokio_postgres::Config::from_str(&url).map_err(ConnectError::InvalidUrl)?;
    config
        .connect_timeout(options.connect_timeout)
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(KEEPALIVE_RETRIES)
        .tcp_user_timeout(TCP_USER_TIMEOUT)
        .ssl_mode(tls.driver_mode());
    Ok(DirectConnector::new(config, tls.connector()?))
}

fn build_pool(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    size: usize,
    options: PgOptions,
) -> Result<Pool, BuildError> {
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(options.acquire_timeout))
        .create_timeout(Some(options.connect_timeout))
        .recycle_timeout(Some(options.connect_timeout))
        .runtime(Runtime::Tokio1)
        .build()
}

/// Where the pool connects, for error messages: `user@host:port/dbname`.
fn describe_target(config: &tokio_postgres::Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let host = match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            // One port applies to every host; otherwise one per host.
            match ports.get(index).or(ports.first()) {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect();
    format!(
        "{}@{}/{}",
        config.get_user().unwrap_or_default(),
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_names_no_password() {
        let config =
            tokio_postgres::Config::from_str("postgresql://app:secret@db.example:6543/todos")
                .unwrap();
        assert_eq!(describe_target(&config), "app@db.example:6543/todos");
    }

    #[tokio::test]
    async fn a_malformed_url_is_refused() {
        let options = PgOptions {
            pool_size: 1,
            acquire_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            statement_timeout: None,
            statement_cache: true,
            shared_connections: 1,
        };
        let error = connect("postgres://host:notaport/db", None, options)
            .await
            .unwrap_err();
        assert!(matches!(error, ConnectError::InvalidUrl(_)), "{error:?}");
    }
}
