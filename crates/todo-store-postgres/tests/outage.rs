//! The store while its server is down or frozen. In a test binary of its
//! own, since stopping the cluster would fail the tests beside it.

use std::time::Duration;

use todo_core::{Owner, StoreError, TodoStore};
use todo_store_postgres::testing::TestCluster;

#[tokio::test]
async fn a_stopped_server_makes_the_store_unavailable_until_it_is_back() {
    let cluster = TestCluster::shared().await;
    let store = cluster.fresh_store().await;
    store.ping().await.unwrap();

    cluster.stop();
    assert_eq!(cluster.postmaster_pid(), None);
    let error = store.ping().await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    let error = store.get(Owner::ANONYMOUS, 1).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");

    cluster.start().await;
    assert!(cluster.postmaster_pid().is_some());
    store.ping().await.unwrap();
    assert!(matches!(
        store.get(Owner::ANONYMOUS, 1).await,
        Err(StoreError::NotFound(1))
    ));

    let paused = cluster.pause();
    let frozen = tokio::time::timeout(Duration::from_millis(500), store.ping()).await;
    assert!(frozen.is_err(), "a paused server answered: {frozen:?}");
    drop(paused);
    store.ping().await.unwrap();
}
