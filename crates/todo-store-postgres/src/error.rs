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
}
