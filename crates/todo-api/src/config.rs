//! The service's settings: every one a command-line flag with an environment
//! variable of the same meaning and the contract's default.

mod changes;
mod users;

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

pub use changes::ChangeFeedSettings;
pub use users::{JwtKeySource, UserSettings, UserSettingsError};

/// The todo-api service: the TODO REST API over PostgreSQL or embedded SQLite.
#[derive(Debug, Parser)]
#[command(name = "todo-api", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; serving is the default.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending schema migrations, then exit.
    Migrate,
    /// Print an HS256 token for a user, signed with `JWT_SECRET` (for
    /// self-hosting and tests).
    Token {
        /// The user: the token's `sub`.
        #[arg(long)]
        sub: String,
        /// How long the token is valid: `30d`, `12h`, `15m`, `90s`.
        #[arg(long, default_value = "30d", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
    /// Exit 0 when the service on `HOST:PORT` is ready (`/ready` answers
    /// 200), for container health checks.
    Healthcheck,
    /// Print the shell completion script for SHELL (bash, zsh, fish,
    /// elvish, powershell), e.g. `todo-api completions bash >
    /// /etc/bash_completion.d/todo-api`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
}

/// Every setting of the service.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database to serve from: `postgres://` or `postgresql://` for
    /// PostgreSQL, `sqlite://PATH` for an SQLite file (created if missing).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://todo.db",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub database_url: SecretString,

    /// PostgreSQL itself, for the connection that listens for other
    /// instances' changes, when `DATABASE_URL` goes through PgBouncer
    /// (transaction pooling cannot carry `LISTEN`); default `DATABASE_URL`.
    #[arg(long, env = "DATABASE_LISTEN_URL", hide_env_values = true, value_parser = parse_secret)]
    pub database_listen_url: Option<SecretString>,

    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 8000)]
    pub port: u16,

    /// Database connections in the pool (for SQLite: reader threads; there
    /// is always exactly one writer).
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub pool_size: u32,

    /// PostgreSQL connections shared by many requests at once, their
    /// statements pipelined: reads and batched creates go through them,
    /// beside the pool's exclusive connections (which carry transactions,
    /// updates and deletes). 0 sends everything through the pool.
    #[arg(long, env = "DB_SHARED_CONNECTIONS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub shared_connections: u32,

    /// How long a request may wait for a free database connection before it
    /// is answered 503, in milliseconds.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_MS", default_value_t = 5000)]
    pub acquire_timeout_ms: u64,

    /// How long opening a database connection may take, in milliseconds.
    #[arg(long, env = "DB_CONNECT_TIMEOUT_MS", default_value_t = 5000)]
    pub connect_timeout_ms: u64,

    /// Most todos one bulk request may create or change.
    #[arg(long, env = "MAX_BULK_ITEMS", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_bulk_items: u32,

    /// Serve the bulk endpoints (`POST` and `PATCH /api/todo/bulk`); when
    /// false they answer 404.
    #[arg(long, env = "BULK_ENDPOINTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub bulk_endpoints: bool,

    /// Largest request body, in bytes; a larger one is answered 413.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Longest time a request may take from arrival to answer, waiting for
    /// a slot and for the database included, in milliseconds; past it the
    /// answer is 503.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,

    /// Most requests handled at once; more wait for a slot (see
    /// `MAX_QUEUED_REQUESTS`).
    #[arg(long, env = "MAX_IN_FLIGHT", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: u32,

    /// Most requests waiting for a slot; past that, requests are answered
    /// 503 at once instead of piling up.
    #[arg(long, env = "MAX_QUEUED_REQUESTS", default_value_t = 16_384)]
    pub max_queued_requests: u32,

    /// Pending connections the listening socket holds (capped by the
    /// kernel's `net.core.somaxconn`), so a burst of new clients is not
    /// refused.
    #[arg(long, env = "LISTEN_BACKLOG", default_value_t = 4096)]
    pub listen_backlog: u32,

    /// Longest time a client may take to send a request's headers, in
    /// milliseconds (against clients that trickle them).
    #[arg(long, env = "HEADER_READ_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_ms: u64,

    /// Largest request head (request line and headers), in bytes.
    #[arg(long, env = "MAX_HEADER_BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u32).range(8192..))]
    pub max_header_bytes: u32,

    /// Longest request target (path and query), in bytes; longer is 414.
    #[arg(long, env = "MAX_URI_BYTES", default_value_t = 8 * 1024)]
    pub max_uri_bytes: usize,

    /// On SIGTERM or Ctrl-C, how long `/ready` answers 503 while requests
    /// are still served, so a load balancer stops sending new ones, in
    /// milliseconds.
    #[arg(long, env = "SHUTDOWN_DRAIN_MS", default_value_t = 0)]
    pub shutdown_drain_ms: u64,

    /// After that, how long requests in flight may take to finish before
    /// the service exits anyway, in milliseconds.
    #[arg(long, env = "SHUTDOWN_GRACE_MS", default_value_t = 30_000)]
    pub shutdown_grace_ms: u64,

    /// How long idempotency keys are kept, in hours (API.md asks for at
    /// least 24).
    #[arg(long, env = "IDEMPOTENCY_TTL_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(24..))]
    pub idempotency_ttl_hours: u64,

    /// Longest a database statement may run before PostgreSQL cancels it,
    /// in milliseconds; 0 for no limit. Not sent with
    /// `--statement-cache=false`: set it on the database role instead.
    #[arg(long, env = "DB_STATEMENT_TIMEOUT_MS", default_value_t = 30_000)]
    pub statement_timeout_ms: u64,

    /// Prepare each PostgreSQL statement once per connection and reuse it.
    /// Set false behind PgBouncer in transaction mode before version 1.21,
    /// which cannot keep per-connection prepared statements.
    #[arg(long, env = "DB_STATEMENT_CACHE", default_value_t = true, action = clap::ArgAction::Set)]
    pub statement_cache: bool,

    /// Log line format: `text` for people, `json` for one JSON object per
    /// line. Which lines are written is set by `RUST_LOG`.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Origins a browser front end may call the API from, comma-separated
    /// (`https://app.example,https://admin.example`), or `*` for any. Empty,
    /// the default, allows no other origin (no CORS headers are sent).
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    #[command(flatten)]
    pub users: UserSettings,

    #[command(flatten)]
    pub changes: ChangeFeedSettings,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

fn parse_secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value.to_owned()))
}

impl Config {
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The statement timeout, `None` when switched off.
    pub fn statement_timeout(&self) -> Option<Duration> {
        (self.statement_timeout_ms > 0).then(|| Duration::from_millis(self.statement_timeout_ms))
    }

    /// The CORS origins given, without empty entries.
    pub fn cors_origins(&self) -> Vec<&str> {
        self.cors_origins
            .iter()
            .map(|origin| origin.trim())
            .filter(|origin| !origin.is_empty())
            .collect()
    }

    /// Logs every setting in force, the database URL with its password
    /// masked, so an operator can see what the service runs with.
    pub fn log_effective(&self) {
        tracing::info!(
            database_url = %self.database_url_for_logs(),
            database_listen_url = ?self
                .database_listen_url
                .as_ref()
                .map(|url| mask_password(url.expose_secret())),
            host = %self.host,
            port = self.port,
            pool_size = self.pool_size,
            shared_connections = self.shared_connections,
            acquire_timeout_ms = self.acquire_timeout_ms,
            connect_timeout_ms = self.connect_timeout_ms,
            statement_timeout_ms = self.statement_timeout_ms,
            statement_cache = self.statement_cache,
            max_bulk_items = self.max_bulk_items,
            bulk_endpoints = self.bulk_endpoints,
            max_body_bytes = self.max_body_bytes,
            log_format = ?self.log_format,
            cors_origins = ?self.cors_origins(),
            request_timeout_ms = self.request_timeout_ms,
            max_in_flight = self.max_in_flight,
            max_queued_requests = self.max_queued_requests,
            listen_backlog = self.listen_backlog,
            header_read_timeout_ms = self.header_read_timeout_ms,
            max_header_bytes = self.max_header_bytes,
            max_uri_bytes = self.max_uri_bytes,
            shutdown_drain_ms = self.shutdown_drain_ms,
            shutdown_grace_ms = self.shutdown_grace_ms,
            api_tokens = self.users.tokens().len(),
            jwt = self.jwt_mode_for_logs(),
            jwt_issuer = ?self.users.jwt_claims().0,
            jwt_audience = ?self.users.jwt_claims().1,
            rate_limit = ?self.users.rate_limit(),
            trusted_proxies = ?self.users.trusted_proxies,
            idempotency_ttl_hours = self.idempotency_ttl_hours,
            changes_retention_days = self.changes.changes_retention_days,
            max_event_streams = self.changes.max_event_streams,
            events_heartbeat_ms = self.changes.events_heartbeat_ms,
            events_poll_ms = self.changes.events_poll_ms,
            events_send_timeout_ms = self.changes.events_send_timeout_ms,
            "configuration"
        );
    }

    /// The listen address, resolving a host name if one is given.
    pub async fn listen_addr(&self) -> std::io::Result<SocketAddr> {
        tokio::net::lookup_host((self.host.as_str(), self.port))
            .await?
            .next()
            .ok_or_else(|| std::io::Error::other(format!("{} resolves to no address", self.host)))
    }

    /// Where JWT keys come from, for logs: never the secret itself.
    fn jwt_mode_for_logs(&self) -> String {
        match self.users.jwt_key_source() {
            Ok(None) => "off".to_owned(),
            Ok(Some(JwtKeySource::Secret(_))) => "HS256 secret".to_owned(),
            Ok(Some(JwtKeySource::PublicKeyFile(path))) => format!("public key {}", path.display()),
            Ok(Some(JwtKeySource::JwksUrl(url))) => format!("JWKS {url}"),
            Err(error) => error.to_string(),
        }
    }

    /// The database URL with any password masked, for logs.
    pub fn database_url_for_logs(&self) -> String {
        mask_password(self.database_url.expose_secret())
    }
}

/// Replaces the password of a URL's userinfo with `***`.
fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cors_origins_are_read_comma_separated_and_empty_means_none() {
        let config = Cli::parse_from([
            "todo-api",
            "--cors-origins",
            "https://a.example, https://b.example",
        ])
        .config;
        assert_eq!(
            config.cors_origins(),
            ["https://a.example", "https://b.example"]
        );
        let config = Cli::parse_from(["todo-api"]).config;
        assert!(config.cors_origins().is_empty());
        let config = Cli::parse_from(["todo-api", "--cors-origins", ""]).config;
        assert!(config.cors_origins().is_empty());
    }

    #[test]
    fn a_zero_statement_timeout_switches_it_off() {
        let config = Cli::parse_from(["todo-api", "--statement-timeout-ms", "0"]).config;
        assert_eq!(config.statement_timeout(), None);
        let config = Cli::parse_from(["todo-api"]).config;
        assert_eq!(config.statement_timeout(), Some(Duration::from_secs(30)));
    }

    #[test]
    fn passwords_are_masked_in_logged_urls() {
        assert_eq!(
            mask_password("postgres://todo:s3cret@db:5432/todo?sslmode=require"),
            "postgres://todo:***@db:5432/todo?sslmode=require"
        );
        assert_eq!(mask_password("sqlite://todo.db"), "sqlite://todo.db");
        assert_eq!(
            mask_password("postgres://todo@db/todo"),
            "postgres://todo@db/todo"
        );
    }
}
