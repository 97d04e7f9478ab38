//! The storage conformance suite of `todo-core`, on a fresh database of the
//! test binary's throwaway PostgreSQL cluster per test.

use todo_store_postgres::testing::TestCluster;

todo_core::conformance_suite!(async { TestCluster::shared().await.fresh_store().await });
