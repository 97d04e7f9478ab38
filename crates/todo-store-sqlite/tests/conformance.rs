//! The storage conformance suite of `todo-core`, on a fresh SQLite file per
//! test.

use std::time::Duration;

use todo_store_sqlite::{SqliteOptions, SqliteStore};

todo_core::conformance_suite!(async {
    let options = SqliteOptions {
        readers: 4,
        acquire_timeout: Duration::from_secs(10),
    };
    SqliteStore::open_temporary(options)
        .await
        .expect("a temporary SQLite store")
});
