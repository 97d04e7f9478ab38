//! A rolling restart under load at a small size (BENCHMARKS.md has the full
//! size): PgBouncer in transaction mode, two instances of the real binary
//! and HAProxy checking `/ready` (todo-bench's local cluster, the topology
//! of compose.yaml without containers); keyed create/update clients and the
//! scenario table run through HAProxy while each instance gets SIGTERM and
//! starts again, then one is killed with SIGKILL. Every answer the keyed
//! clients get either succeeds or may be retried safely, no retry creates
//! twice, and the database ends with exactly the todos they were told were
//! created, each with its last acknowledged update.

use std::time::Duration;

use todo_bench::local_cluster::{LocalCluster, LocalClusterSpec, missing_programs};
use todo_bench::rolling_restart::{RollingRestartPlan, run_rolling_restart};
use todo_load::scenarios;

use crate::support::{Backend, Database};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_and_a_kill_under_load_lose_and_duplicate_nothing() {
    let missing = missing_programs();
    if !missing.is_empty() {
        use std::io::Write;
        // Straight to stderr, past the harness's capture: a skip is seen.
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED rolling-restart test: {missing:?} not found (install Debian's packages of \
             those names; .ci/run does as root)"
        );
        return;
    }
    let database = Database::new(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = LocalCluster::start(LocalClusterSpec {
        binary: env!("CARGO_BIN_EXE_todo-api").into(),
        database_url: database.url().to_owned(),
        instances: 2,
        port: 0,
        dir: dir.path().to_owned(),
        // Small pools: the test cluster's connections are shared with
        // the other tests of this binary.
        service_env: vec![
            ("DB_POOL_SIZE".to_owned(), "4".to_owned()),
            ("DB_SHARED_CONNECTIONS".to_owned(), "1".to_owned()),
        ],
    })
    .await
    .unwrap();

    let plan = RollingRestartPlan {
        clients: 8,
        steady: Duration::from_secs(1),
        scenarios: scenarios::small(),
    };
    let result = tokio::time::timeout(
        Duration::from_secs(180),
        run_rolling_restart(&mut cluster, &plan),
    )
    .await
    .expect("the rolling restart did not end within 3 minutes")
    .unwrap_or_else(|error| panic!("{error}; logs in {}", cluster.dir().display()));
    cluster.stop().await.unwrap();

    let problems = result.problems();
    assert!(
        problems.is_empty(),
        "{problems:#?}\nwhole result: {result:#?}"
    );
    assert!(
        result.writes.operations >= 50 && result.check.acknowledged > 0,
        "too little load to tell anything: {:?}",
        result.writes
    );
    assert_eq!(result.exit_codes, [Some(0), Some(0)]);
}
