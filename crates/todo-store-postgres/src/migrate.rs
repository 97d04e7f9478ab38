//! Bringing the schema up to date with the embedded `migrations/`, safely
//! when several instances start at once.

use deadpool_postgres::{Object, Pool, PoolError};

use crate::statements::{ADVISORY_LOCK, ADVISORY_UNLOCK};

refinery::embed_migrations!("migrations");

/// The advisory lock key held while migrating ("todo_mig" in ASCII); any
/// fixed value works as long as every instance uses the same one.
const MIGRATION_LOCK: i64 = 0x746f_646f_5f6d_6967;

/// Why [`PgStore::migrate`](crate::PgStore::migrate) failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("could not get a connection to migrate the database")]
    Connection(#[source] PoolError),
    #[error("could not take the migration lock")]
    Lock(#[source] tokio_postgres::Error),
    #[error("could not migrate the database")]
    Migration(#[source] refinery::Error),
}

/// Applies the migrations the database lacks. Instances starting together
/// take turns on an advisory lock, so each migration runs once.
pub(crate) async fn migrate(pool: &Pool) -> Result<(), MigrateError> {
    migrate_to(pool, refinery::Target::Latest).await
}

/// Applies the migrations up to `target`, under the advisory lock.
pub(crate) async fn migrate_to(pool: &Pool, target: refinery::Target) -> Result<(), MigrateError> {
    let mut client = pool.get().await.map_err(MigrateError::Connection)?;
    client
        .execute(ADVISORY_LOCK, &[&MIGRATION_LOCK])
        .await
        .map_err(MigrateError::Lock)?;
    let migrated = migrations::runner()
        .set_target(target)
        .run_async(&mut **client)
        .await
        .map_err(MigrateError::Migration);
    let unlocked = client.execute(ADVISORY_UNLOCK, &[&MIGRATION_LOCK]).await;
    if unlocked.is_err() {
        // The lock belongs to the session: closing the connection instead
        // of returning it to the pool releases it.
        drop(Object::take(client));
    }
    let report = migrated?;
    for migration in report.applied_migrations() {
        tracing::info!(migration = %migration, "applied migration");
    }
    unlocked.map_err(MigrateError::Lock)?;
    Ok(())
}
