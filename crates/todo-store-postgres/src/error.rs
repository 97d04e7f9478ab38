//! The one place where driver and pool errors become [`StoreError`]s: a
//! lost or unreachable database is `Unavailable` (503, retry), anything
//! else is `Internal` (logged by the HTTP layer, never shown to clients).

use std::error::Error as _;

use deadpool_postgres::PoolError;
use todo_core::StoreError;
use tokio_postgres::error::SqlState;

/// SQLSTATEs that mean the server is going away or refusing connections,
/// beyond the whole class 08 (connection exception).
const UNAVAILABLE_STATES: [SqlState; 4] = [
    SqlState::ADMIN_SHUTDOWN,
    SqlState::CRASH_SHUTDOWN,
    SqlState::CANNOT_CONNECT_NOW,
    SqlState::TOO_MANY_CONNECTIONS,
];

/// Whether a statement lost a conflict with another transaction (a
/// deadlock, a serialization failure): it was rolled back whole, and run
/// again it may well succeed.
pub(crate) fn is_conflict(error: &tokio_postgres::Error) -> bool {
    error.code().is_some_and(|state| {
        *state == SqlState::T_R_DEADLOCK_DETECTED || *state == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// Maps a failure to get a connection from the pool.
pub(crate) fn from_pool(error: PoolError) -> StoreError {
    match error {
        PoolError::Timeout(_) | PoolError::Closed => StoreError::Unavailable(error.to_string()),
        PoolError::Backend(error) => from_pg(error),
        other => StoreError::internal(other),
    }
}

/// Maps a failure of a statement or of a new connection.
pub(crate) fn from_pg(error: tokio_postgres::Error) -> StoreError {
    // Two copies of a keyed create can only both reach the insert of the key
    // if the advisory lock was lost with a connection; the key's primary key
    // still keeps it to one, and the loser was racing a request in flight.
    if error
        .as_db_error()
        .is_some_and(|db| db.constraint() == Some("idempotency_keys_pkey"))
    {
        return StoreError::IdempotencyKeyInFlight;
    }
    if is_unavailable(&error) {
        StoreError::Unavailable(describe(&error))
    } else {
        StoreError::internal(error)
    }
}

fn is_unavailable(error: &tokio_postgres::Error) -> bool {
    if let Some(state) = error.code() {
        return state.code().starts_with("08") || UNAVAILABLE_STATES.contains(state);
    }
    // Without a server error, the socket is what failed (refused, reset,
    // timed out, closed). Conversion errors carry other sources and stay
    // internal: they are bugs, and retrying would not help.
    error.is_closed() || has_io_source(error)
}

fn has_io_source(error: &tokio_postgres::Error) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// The error and its causes on one line; a server error brings its own
/// message, never the statement's text.
fn describe(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use deadpool_postgres::TimeoutType;

    use super::*;

    #[test]
    fn a_pool_timeout_is_unavailable() {
        let error = from_pool(PoolError::Timeout(TimeoutType::Wait));
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    }

    #[test]
    fn a_closed_pool_is_unavailable() {
        let error = from_pool(PoolError::Closed);
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    }

    #[cfg(feature = "testing")]
    async fn session(url: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connected");
        tokio::spawn(connection);
        client
    }

    /// What makes a group of updates retry its updates one by one.
    #[cfg(feature = "testing")]
    #[tokio::test]
    async fn a_deadlock_is_a_conflict_and_a_bad_statement_is_not() {
        let cluster = crate::testing::TestCluster::shared().await;
        let url = cluster.empty_database_url().await;
        let (first, second) = (session(&url).await, session(&url).await);
        first
            .batch_execute("create table t (id int primary key); insert into t values (1), (2)")
            .await
            .expect("table made");
        first
            .batch_execute("begin; update t set id = id where id = 1")
            .await
            .expect("first row locked");
        second
            .batch_execute("begin; update t set id = id where id = 2")
            .await
            .expect("second row locked");
        let (one, other) = tokio::join!(
            first.batch_execute("update t set id = id where id = 2"),
            second.batch_execute("update t set id = id where id = 1"),
        );
        let victim = one
            .err()
            .or(other.err())
            .expect("the server chose a victim");
        assert!(is_conflict(&victim), "{victim:?}");
        let bad = second
            .batch_execute("rollback; select no_such_column from t")
            .await
            .expect_err("refused");
        assert!(!is_conflict(&bad), "{bad:?}");
    }
}
