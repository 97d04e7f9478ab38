//! The errors of this crate, and the one place where SQLite's errors become
//! [`StoreError`]s.

use rusqlite::ErrorCode;
use todo_core::StoreError;

/// Why [`SqliteStore::open`](crate::SqliteStore::open) failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The options cannot make a working store.
    #[error("invalid SQLite store options: {0}")]
    Options(&'static str),
    /// The file could not be opened or configured.
    #[error("cannot open the SQLite database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file does not keep the journal mode the store needs (WAL).
    #[error("the SQLite database runs in journal mode {0:?}, not wal")]
    JournalMode(String),
    /// A migration failed; the database is as the last good one left it.
    #[error("cannot migrate the SQLite database: {0}")]
    Migrate(#[from] refinery::Error),
    /// The directory for the database could not be made.
    #[error("cannot prepare the SQLite database directory: {0}")]
    Directory(#[source] std::io::Error),
    /// A store thread could not be started.
    #[error("cannot start a SQLite store thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The opening task panicked or its runtime shut down.
    #[error("opening the SQLite store was interrupted: {0}")]
    Interrupted(#[source] tokio::task::JoinError),
}

/// Sorts a SQLite error into what the caller can do about it: a database
/// that is locked by another process or failing underneath us is an outage
/// (503, retry later); anything else is a fault of ours (500).
pub(crate) fn store_error(error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable("the database is locked".into())
        }
        Some(ErrorCode::SystemIoFailure | ErrorCode::CannotOpen) => {
            StoreError::Unavailable("the database file cannot be read or written".into())
        }
        _ => StoreError::internal(error),
    }
}

/// How an operation on a connection fails: SQLite failed, or the store
/// decided (not found, precondition failed). Lets the operations use `?` on
/// both and still sort SQLite's errors only in [`store_error`].
#[derive(Debug)]
pub(crate) enum Failure {
    Sqlite(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        Failure::Sqlite(error)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::Store(error)
    }
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Sqlite(error) => store_error(error),
            Failure::Store(error) => error,
        }
    }
}

/// The answer when a store thread is gone: after `close`, or if it died.
pub(crate) fn closed() -> StoreError {
    StoreError::Unavailable("the SQLite store is closed".into())
}

/// The answer to a job that no thread started before its deadline.
pub(crate) fn timed_out() -> StoreError {
    StoreError::Unavailable("no SQLite connection freed up within the acquire timeout".into())
}

#[cfg(test)]
mod tests {
    use rusqlite::ffi;

    use super::*;

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn a_locked_or_failing_database_is_unavailable() {
        for code in [
            ffi::SQLITE_BUSY,
            ffi::SQLITE_LOCKED,
            ffi::SQLITE_IOERR,
            ffi::SQLITE_CANTOPEN,
        ] {
            assert!(
                matches!(store_error(failure(code)), StoreError::Unavailable(_)),
                "{code}"
            );
        }
    }

    #[test]
    fn other_failures_are_internal() {
        assert!(matches!(
            store_error(failure(ffi::SQLITE_CONSTRAINT)),
            StoreError::Internal(_)
        ));
        assert!(matches!(
            store_error(rusqlite::Error::QueryReturnedNoRows),
            StoreError::Internal(_)
        ));
    }
}
