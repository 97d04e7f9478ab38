//! The scenario table at small sizes against a real service over HTTP.

mod support;

use support::Service;
use todo_load::failure::FailureKind;
use todo_load::scenarios::{self, Action, Scenario, render_table, run_scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_small_scenario_completes_and_its_outcome_is_visible_through_the_api() {
    let service = Service::start(&[]).await;
    let tag = scenarios::run_tag();
    let mut results = Vec::new();
    for (index, scenario) in scenarios::small().iter().enumerate() {
        let result = run_scenario(&service.url, scenario, &format!("{tag}s{index}"))
            .await
            .expect("the scenario runs");
        assert_eq!(result.actual, result.expected, "{result:#?}");
        assert!(result.verification.ok, "{:?}", result.verification);
        assert_eq!(result.failures.total(), 0, "{:?}", result.failures);
        assert!(result.latency.p99_ms > 0.0);
        results.push(result);
    }
    let table = render_table(&results);
    assert!(
        table.contains("| Concurrent Updates | 4 | 20 | 20 | 100.0 |"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_are_counted_per_client_and_each_exists_exactly_once() {
    let service = Service::start(&[]).await;
    let scenario = Scenario::new("Scale Test (12)", 12, Action::CreateOne, None);
    let result = run_scenario(&service.url, &scenario, &scenarios::run_tag())
        .await
        .expect("the scenario runs");
    assert_eq!(result.expected, 12);
    assert_eq!(result.actual, 12);
    assert_eq!(result.verification.checked, 12, "{:?}", result.verification);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_gone_is_reported_as_refused_connections_not_as_server_errors() {
    // Bind and drop, so the port is almost certainly closed.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let service =
        todo_load::service_url::ServiceUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let scenario = Scenario::new("Bulk Create (3)", 3, Action::CreateOne, None);
    let result = run_scenario(&service, &scenario, &scenarios::run_tag())
        .await
        .expect("create scenarios need no set-up");
    assert_eq!(result.actual, 0);
    assert_eq!(
        result.failures.0.get(&FailureKind::ConnectRefused),
        Some(&3)
    );
    assert_eq!(result.failures_not_the_server, 3);
    assert!(!result.verification.ok);
}
