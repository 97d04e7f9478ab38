//! Opening the store's connections: the settings every connection gets, and
//! the migrations, run once on the write connection.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::OpenError;

refinery::embed_migrations!("migrations");

/// The settings a connection runs with, as SQLite reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// `PRAGMA journal_mode`: `wal`.
    pub journal_mode: String,
    /// `PRAGMA synchronous`: 2, which is `FULL`.
    pub synchronous: i64,
    /// `PRAGMA foreign_keys`.
    pub foreign_keys: bool,
    /// `PRAGMA busy_timeout`, in milliseconds.
    pub busy_timeout_ms: i64,
}

/// Opens the write connection, creating the file if missing, and brings the
/// schema up to date. Readers open after this, so they never see an older
/// schema.
pub(crate) fn open_writer(path: &Path, busy_timeout: Duration) -> Result<Connection, OpenError> {
    let mut connection = Connection::open(path)?;
    configure(&connection, busy_timeout)?;
    // Many users' creates land on many index pages (each index leads with
    // the owner), which the writer reads and rewrites at every group commit:
    // a cache of 16 MiB keeps them (the 2 MiB default had the writer reading
    // pages back from the file), and a checkpoint every 10,000 WAL pages
    // rather than 1,000 copies a page rewritten by many commits back to the
    // file once. Measured with 1,000 users' creates: 8.7k/s to 12k/s (and
    // open mode's 18k/s to 20k/s). Readers keep the default cache and read
    // through the operating system's.
    connection.pragma_update(None, "cache_size", "-16384")?;
    connection.pragma_update(None, "wal_autocheckpoint", "10000")?;
    migrations::runner().run(&mut connection)?;
    Ok(connection)
}

/// Applies the migrations up to `version` only to the file at `path`: a
/// database as an older release left it, for the tests of upgrading in
/// place.
#[cfg(feature = "testing")]
pub fn migrate_to_version(path: &Path, version: i32) -> Result<(), OpenError> {
    let mut connection = Connection::open(path)?;
    migrations::runner()
        .set_target(refinery::Target::Version(version))
        .run(&mut connection)?;
    Ok(())
}

/// Opens a read connection. It is read-only so that no bug in a read path
/// can write around the single writer.
pub(crate) fn open_reader(path: &Path, busy_timeout: Duration) -> Result<Connection, OpenError> {
    // No mutex: each connection is owned by one thread.
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    configure(&connection, busy_timeout)?;
    Ok(connection)
}

fn configure(connection: &Connection, busy_timeout: Duration) -> Result<(), OpenError> {
    // Wait for a lock another process holds rather than failing at once.
    connection.busy_timeout(busy_timeout)?;
    // WAL lets the readers go on while the writer commits. The mode lives in
    // the file; a file system that cannot do WAL keeps another mode, and
    // the readers would then block the writer, so that is refused.
    let mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::JournalMode(mode));
    }
    // FULL syncs the WAL at every commit, so a success means durable, as
    // `TodoStore` promises; durability is never traded for speed.
    connection.pragma_update(None, "synchronous", "full")?;
    connection.pragma_update(None, "foreign_keys", "on")?;
    Ok(())
}

/// Reads the settings of `connection`.
pub(crate) fn settings(connection: &Connection) -> rusqlite::Result<ConnectionSettings> {
    let pragma = |name: &str| connection.pragma_query_value(None, name, |row| row.get::<_, i64>(0));
    Ok(ConnectionSettings {
        journal_mode: connection.pragma_query_value(None, "journal_mode", |row| row.get(0))?,
        synchronous: pragma("synchronous")?,
        foreign_keys: pragma("foreign_keys")? != 0,
        busy_timeout_ms: pragma("busy_timeout")?,
    })
}
