//! How the store sends its statements: prepared once per connection and
//! cached (the default, fastest), or as unnamed statements whose
//! parameter types travel with them, for PgBouncer in transaction mode
//! before version 1.21, where a statement prepared on one server
//! connection is gone when the next transaction runs on another.

use deadpool_postgres::{ClientWrapper, Transaction};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Error, Row};

/// A statement's parameters with their types. The types are what lets an
/// unnamed statement run in one round trip without asking the server.
pub(crate) type Typed<'a> = [(&'a (dyn ToSql + Sync), Type)];

/// Prepared and cached, or unnamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatementMode {
    Cached,
    Unnamed,
}

impl StatementMode {
    pub(crate) fn new(cache: bool) -> Self {
        if cache {
            StatementMode::Cached
        } else {
            StatementMode::Unnamed
        }
    }

    /// Runs `sql` on a pooled connection; returns its rows.
    pub(crate) async fn query(
        self,
        client: &ClientWrapper,
        sql: &str,
        params: &Typed<'_>,
    ) -> Result<Vec<Row>, Error> {
        match self {
            StatementMode::Cached => {
                let statement = client.prepare_cached(sql).await?;
                client.query(&statement, &values(params)).await
            }
            StatementMode::Unnamed => client.query_typed(sql, params).await,
        }
    }

    /// Runs `sql` on a pooled connection; returns the rows it changed.
    pub(crate) async fn execute(
        self,
        client: &ClientWrapper,
        sql: &str,
        params: &Typed<'_>,
    ) -> Result<u64, Error> {
        match self {
            StatementMode::Cached => {
                let statement = client.prepare_cached(sql).await?;
                client.execute(&statement, &values(params)).await
            }
            StatementMode::Unnamed => client.execute_typed(sql, params).await,
        }
    }

    /// Runs `sql` in a transaction; returns its rows.
    pub(crate) async fn query_in(
        self,
        transaction: &Transaction<'_>,
        sql: &str,
        params: &Typed<'_>,
    ) -> Result<Vec<Row>, Error> {
        match self {
            StatementMode::Cached => {
                let statement = transaction.prepare_cached(sql).await?;
                transaction.query(&statement, &values(params)).await
            }
            StatementMode::Unnamed => transaction.query_typed(sql, params).await,
        }
    }
}

impl StatementMode {
    /// Runs `sql` in a transaction; returns the rows it changed.
    pub(crate) async fn execute_in(
        self,
        transaction: &Transaction<'_>,
        sql: &str,
        params: &Typed<'_>,
    ) -> Result<u64, Error> {
        match self {
            StatementMode::Cached => {
                let statement = transaction.prepare_cached(sql).await?;
                transaction.execute(&statement, &values(params)).await
            }
            StatementMode::Unnamed => transaction.execute_typed(sql, params).await,
        }
    }
}

fn values<'a>(params: &Typed<'a>) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|(value, _)| *value).collect()
}
