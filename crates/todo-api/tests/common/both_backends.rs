//! Shared by the test targets: one test per backend from one test body.
//! Each target that includes this defines `crate::support::Backend` with
//! `Sqlite` and `Postgres` variants.

/// Declares each named test once per backend: `sqlite::NAME` and
/// `postgres::NAME`, both running the same `async fn NAME(backend: Backend)`.
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
