//! What production connections need: TLS as `sslmode` asks, a statement
//! timeout on every connection, and unnamed statements for PgBouncer in
//! transaction mode. In a test binary of its own, since it turns TLS on
//! in its cluster.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use todo_core::{ListQuery, Loc, NewTodo, Owner, TodoPatch, TodoStore};
use todo_store_postgres::testing::{TEST_OPTIONS, TestCluster};
use todo_store_postgres::{ConnectError, PgOptions, PgStore};
use tokio::sync::OnceCell;

/// The cluster of this binary with TLS on, with a certificate for
/// `localhost` only, and the file that certificate is in (the trusted root
/// of the tests that verify).
async fn tls_cluster() -> (&'static TestCluster, &'static PathBuf) {
    static ROOT: OnceCell<PathBuf> = OnceCell::const_new();
    let cluster = TestCluster::shared().await;
    let root = ROOT
        .get_or_init(|| async {
            let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
            let certificate = issued.cert.pem();
            cluster
                .enable_tls(&certificate, &issued.signing_key.serialize_pem())
                .await;
            let dir = tempfile::tempdir().unwrap().keep();
            let root = dir.join("root.pem");
            std::fs::write(&root, certificate).unwrap();
            root
        })
        .await;
    (cluster, root)
}

/// A fresh database's URL with `host` in place of 127.0.0.1 and `query`.
async fn url_with(cluster: &TestCluster, host: &str, query: &str) -> String {
    let url = cluster.fresh_database_url().await;
    format!("{}?{query}", url.replacen("127.0.0.1", host, 1))
}

#[tokio::test]
async fn sslmode_require_encrypts_without_verifying_the_certificate() {
    let (cluster, _) = tls_cluster().await;
    let url = url_with(cluster, "127.0.0.1", "sslmode=require").await;
    let store = PgStore::connect(&url, TEST_OPTIONS).await.unwrap();
    assert!(store.connection_is_encrypted().await);
    store.ping().await.unwrap();
}

#[tokio::test]
async fn sslmode_disable_connects_in_plain_text() {
    let (cluster, _) = tls_cluster().await;
    let url = url_with(cluster, "127.0.0.1", "sslmode=disable").await;
    let store = PgStore::connect(&url, TEST_OPTIONS).await.unwrap();
    assert!(!store.connection_is_encrypted().await);
}

#[tokio::test]
async fn verify_full_accepts_a_trusted_certificate_that_names_the_host() {
    let (cluster, root) = tls_cluster().await;
    let query = format!("sslmode=verify-full&sslrootcert={}", root.display());
    let url = url_with(cluster, "localhost", &query).await;
    let store = PgStore::connect(&url, TEST_OPTIONS).await.unwrap();
    assert!(store.connection_is_encrypted().await);
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_for_another_host() {
    let (cluster, root) = tls_cluster().await;
    let query = format!("sslmode=verify-full&sslrootcert={}", root.display());
    // The certificate names `localhost`, not `127.0.0.1`.
    let url = url_with(cluster, "127.0.0.1", &query).await;
    let error = PgStore::connect(&url, TEST_OPTIONS).await.unwrap_err();
    assert!(
        matches!(error, ConnectError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(
        format!("{error:?}").contains("NotValidForName"),
        "{error:?}"
    );
}

#[tokio::test]
async fn verify_ca_accepts_a_trusted_certificate_for_another_host() {
    let (cluster, root) = tls_cluster().await;
    let query = format!("sslmode=verify-ca&sslrootcert={}", root.display());
    let url = url_with(cluster, "127.0.0.1", &query).await;
    let store = PgStore::connect(&url, TEST_OPTIONS).await.unwrap();
    assert!(store.connection_is_encrypted().await);
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_no_trusted_root_signed() {
    let (cluster, _) = tls_cluster().await;
    // Without `sslrootcert` only the public web roots are trusted.
    let url = url_with(cluster, "localhost", "sslmode=verify-full").await;
    let error = PgStore::connect(&url, TEST_OPTIONS).await.unwrap_err();
    assert!(format!("{error:?}").contains("UnknownIssuer"), "{error:?}");
}

#[tokio::test]
async fn a_missing_root_certificate_file_is_reported() {
    let url = "postgres://u@127.0.0.1:1/x?sslmode=verify-full&sslrootcert=/no/such/root.pem";
    let error = PgStore::connect(url, TEST_OPTIONS).await.unwrap_err();
    assert!(matches!(error, ConnectError::Tls(_)), "{error:?}");
}

#[tokio::test]
async fn every_connection_gets_the_statement_timeout() {
    let store = TestCluster::shared()
        .await
        .fresh_store_with(PgOptions {
            statement_timeout: Some(Duration::from_millis(1500)),
            ..TEST_OPTIONS
        })
        .await;
    assert_eq!(store.setting("statement_timeout").await, "1500ms");
}

#[tokio::test]
async fn without_the_statement_cache_no_statement_stays_prepared() {
    // One connection in all, so the count below sees every statement.
    let store = on_one_connection(false).await;
    use_every_kind_of_statement(&store).await;
    assert_eq!(store.prepared_statements().await, 0);

    let cached = on_one_connection(true).await;
    use_every_kind_of_statement(&cached).await;
    assert!(cached.prepared_statements().await > 0);
}

/// A fresh store on one connection in all, so that what one connection
/// holds is what the store holds.
async fn on_one_connection(statement_cache: bool) -> PgStore {
    let options = PgOptions {
        pool_size: 1,
        shared_connections: 0,
        statement_cache,
        ..TEST_OPTIONS
    };
    TestCluster::shared().await.fresh_store_with(options).await
}

fn new_todo(title: &str) -> NewTodo {
    NewTodo::from_json(&json!({ "title": title }), &Loc::body()).unwrap()
}

async fn use_every_kind_of_statement(store: &PgStore) {
    let new = || NewTodo::from_json(&json!({"title": "Buy milk"}), &Loc::body()).unwrap();
    let todo = store.create(Owner::ANONYMOUS, new()).await.unwrap();
    store
        .create_many(Owner::ANONYMOUS, vec![new(), new()])
        .await
        .unwrap();
    store.get(Owner::ANONYMOUS, todo.id).await.unwrap();
    store
        .list(
            Owner::ANONYMOUS,
            &ListQuery::from_params(&[], Owner::ANONYMOUS).unwrap(),
        )
        .await
        .unwrap();
    let patch = TodoPatch::from_json(&json!({"completed": true}), &Loc::body()).unwrap();
    store
        .update(Owner::ANONYMOUS, todo.id, patch, None)
        .await
        .unwrap();
    store.delete(Owner::ANONYMOUS, todo.id, None).await.unwrap();
}

/// The whole storage contract holds with unnamed statements too.
mod without_the_statement_cache {
    use todo_store_postgres::PgOptions;
    use todo_store_postgres::testing::{TEST_OPTIONS, TestCluster};

    todo_core::conformance_suite!(async {
        TestCluster::shared()
            .await
            .fresh_store_with(PgOptions {
                statement_cache: false,
                ..TEST_OPTIONS
            })
            .await
    });
}

#[tokio::test]
async fn a_connection_keeps_a_bounded_number_of_prepared_listings() {
    let store = on_one_connection(true).await;
    let todos = (0..5).map(|n| new_todo(&format!("todo {n}"))).collect();
    store.create_many(Owner::ANONYMOUS, todos).await.unwrap();
    // Every page size is a statement of its own.
    for limit in 1..=300 {
        let query = ListQuery {
            limit,
            ..ListQuery::default()
        };
        let page = store.list(Owner::ANONYMOUS, &query).await.unwrap();
        assert_eq!(page.todos.len(), (limit as usize).min(5), "limit {limit}");
    }
    let prepared = store.prepared_statements().await;
    assert!((1..=200).contains(&prepared), "{prepared} prepared");
}

#[tokio::test]
async fn a_bulk_change_of_a_large_share_of_the_table_analyzes_it() {
    let store = TestCluster::shared().await.fresh_store().await;
    store
        .execute_batch("alter table todos set (autovacuum_enabled = false)")
        .await;
    let todos = (0..1000).map(|n| new_todo(&format!("todo {n}"))).collect();
    store.create_many(Owner::ANONYMOUS, todos).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let analyzed = store
            .query_count("select count(*) from pg_stat_user_tables where relname = 'todos' and analyze_count > 0")
            .await;
        if analyzed == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "todos was not analyzed after a bulk create of every row"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
