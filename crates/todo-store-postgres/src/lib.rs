//! The PostgreSQL store of todo-api: [`PgStore`] implements
//! [`todo_core::TodoStore`] over a `deadpool-postgres` pool, with its
//! schema in `migrations/` applied by [`PgStore::migrate`]. The listing and
//! delete-by-filter SQL comes from `todo-listing-sql`, shared with SQLite.

mod change_log;
mod connect;
mod db;
mod direct;
mod error;
mod grouping;
mod groups;
mod idempotency;
mod listing;
mod migrate;
mod notifications;
mod params;
mod row;
mod shared;
mod statement_mode;
#[cfg(feature = "statements")]
pub mod statements;
#[cfg(not(feature = "statements"))]
mod statements;
mod statistics;
mod store;
mod tls;

#[cfg(feature = "testing")]
pub mod testing;

pub use connect::{ConnectError, PgOptions};
pub use migrate::MigrateError;
pub use store::PgStore;
pub use tls::TlsError;
