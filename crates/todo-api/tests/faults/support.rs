//! The fault-test harness: the real `todo-api` binary as a child process on
//! port 0, a database for it on either backend, a small HTTP client, signals
//! to the child, and guards that put the shared PostgreSQL cluster back
//! however a test ends.

mod client;
mod cluster;
mod service;

pub use client::{Client, Reply, error_chain};
pub use cluster::{Backend, Database, ExclusiveCluster};
pub use service::Service;

/// Runs each named `async fn name(backend: Backend)` as a test on SQLite and
/// on PostgreSQL: `sqlite::name` and `postgres::name`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::support::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::support::Backend::Postgres).await;
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;
