//! Opens the store `DATABASE_URL` names, migrating it on the way.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use secrecy::ExposeSecret;
use todo_core::TodoStore;
use todo_store_postgres::{PgOptions, PgStore};
use todo_store_sqlite::{SqliteOptions, SqliteStore};

use crate::config::Config;

/// Where the data lives, as read from the database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Postgres(String),
    Sqlite(PathBuf),
}

impl Backend {
    pub fn from_url(url: &str) -> anyhow::Result<Backend> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres(url.to_owned()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                bail!("DATABASE_URL names no SQLite file: use sqlite://PATH");
            }
            return Ok(Backend::Sqlite(PathBuf::from(path)));
        }
        bail!("DATABASE_URL must start with postgres://, postgresql:// or sqlite://")
    }
}

/// Connects to the configured database and applies pending migrations,
/// except behind PgBouncer (`--statement-cache=false`), where `todo-api
/// migrate` must be run against PostgreSQL itself: the migration lock is a
/// session lock, which transaction pooling cannot hold.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn TodoStore>> {
    open(config, config.statement_cache).await
}

/// Connects to the configured database and applies pending migrations,
/// whatever the statement cache setting (`todo-api migrate`).
pub async fn migrate_store(config: &Config) -> anyhow::Result<Arc<dyn TodoStore>> {
    open(config, true).await
}

async fn open(config: &Config, migrate: bool) -> anyhow::Result<Arc<dyn TodoStore>> {
    match Backend::from_url(config.database_url.expose_secret())? {
        Backend::Postgres(url) => {
            let options = PgOptions {
                pool_size: config.pool_size as usize,
                acquire_timeout: config.acquire_timeout(),
                connect_timeout: config.connect_timeout(),
                // PgBouncer refuses the startup parameter that carries it.
                statement_timeout: config
                    .statement_timeout()
                    .filter(|_| config.statement_cache),
                statement_cache: config.statement_cache,
                shared_connections: config.shared_connections as usize,
            };
            if !config.statement_cache && config.statement_timeout().is_some() {
                tracing::info!(
                    "statement cache off (PgBouncer): DB_STATEMENT_TIMEOUT_MS is not sent; \
                     set statement_timeout on the database role instead"
                );
            }
            let listen_url = config
                .database_listen_url
                .as_ref()
                .map(|url| url.expose_secret().to_owned());
            let store = PgStore::connect_listening(&url, listen_url.as_deref(), options)
                .await
                .context("cannot connect to PostgreSQL")?;
            if migrate {
                store
                    .migrate()
                    .await
                    .context("cannot migrate the PostgreSQL database")?;
            } else {
                tracing::info!("statement cache off (PgBouncer): not migrating at start");
            }
            Ok(Arc::new(store))
        }
        Backend::Sqlite(path) => {
            let options = SqliteOptions {
                readers: config.pool_size as usize,
                acquire_timeout: config.acquire_timeout(),
            };
            let store = SqliteStore::open(&path, options)
                .await
                .with_context(|| format!("cannot open the SQLite database {}", path.display()))?;
            Ok(Arc::new(store))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_name_their_backend() {
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres("postgresql://u@h/db".into())
        );
        assert_eq!(
            Backend::from_url("sqlite://todo.db").unwrap(),
            Backend::Sqlite("todo.db".into())
        );
        assert_eq!(
            Backend::from_url("sqlite:///var/lib/todo.db").unwrap(),
            Backend::Sqlite("/var/lib/todo.db".into())
        );
        assert!(Backend::from_url("mysql://x").is_err());
        assert!(Backend::from_url("sqlite://").is_err());
    }
}
