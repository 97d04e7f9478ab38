//! The embedded SQLite store of todo-api: [`SqliteStore`] implements
//! [`todo_core::TodoStore`] over one database file.
//!
//! SQLite allows one writer at a time, so the store is built around that:
//! one writer thread owns the only write connection and runs every change in
//! turn, and a few reader threads share the read jobs. No SQLite call ever
//! runs on the async runtime; callers wait on a oneshot answer, bounded by
//! the acquire timeout (API.md, "Errors", 503).

mod change_log;
mod change_numbers;
mod connection;
mod error;
mod idempotency;
mod queries;
mod row;
#[cfg(feature = "statements")]
pub mod statements;
#[cfg(not(feature = "statements"))]
mod statements;
mod store;
mod worker;

pub use connection::ConnectionSettings;
#[cfg(feature = "testing")]
pub use connection::migrate_to_version;
pub use error::OpenError;
pub use store::{SqliteOptions, SqliteStore};
