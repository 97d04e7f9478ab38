//! The service's Prometheus metrics: their names, labels and help texts in
//! one place, recorded into a registry of this service's own and rendered
//! for `GET /metrics` (README, "Operating").
//!
//! The registry is not the process-wide `metrics` recorder: each router
//! (each test, in the test suite) counts on its own, so figures never mix.

mod feed;

pub use feed::{
    CHANGE_NOTIFICATION_LAG, EVENT_STREAM_LOG_READS, EVENT_STREAMS_DROPPED_SLOW,
    EVENT_STREAMS_OPEN, EVENTS_SENT, FeedMetrics,
};

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use metrics::{Counter, Gauge, Histogram, Recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};
use todo_core::{GroupKind, GroupObserver, PoolStatus};

/// Requests answered, by `method`, `route` and `status`.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// Time to answer, by `method`, `route` and `status`.
pub const HTTP_REQUEST_DURATION: &str = "http_request_duration_seconds";
/// Requests being answered right now.
pub const HTTP_REQUESTS_IN_FLIGHT: &str = "http_requests_in_flight";
/// Requests answered 503 because the database or its pool could not take
/// them (every `ApiError::Unavailable`), by `method` and `route`.
pub const HTTP_REQUESTS_SHED: &str = "http_requests_shed_total";
/// Todos created by `POST /api/todo/bulk`.
pub const BULK_ROWS_CREATED: &str = "todo_bulk_rows_created_total";
/// Open database connections, by `state`: `idle` or `in_use`.
pub const POOL_CONNECTIONS: &str = "todo_db_pool_connections";
/// Most database connections the pool may open.
pub const POOL_MAX_CONNECTIONS: &str = "todo_db_pool_max_connections";
/// Requests waiting for a free database connection.
pub const POOL_WAITING: &str = "todo_db_pool_waiting_requests";
/// Requests the store served together (one statement; for writes, one
/// commit), by `kind`: `create`, `read` or `update` on PostgreSQL, `write`
/// on SQLite, whose writer commits writes of every kind together.
pub const STORE_GROUP_SIZE: &str = "todo_store_group_size";
/// Always 1, labelled with the service's `version`.
pub const BUILD_INFO: &str = "todo_build_info";

/// The `route` label of requests no route matched: one fixed value, so
/// that scanners probing random paths cannot create endless series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The `method` label of a method outside HTTP's standard ones, for the
/// same reason.
const OTHER_METHOD: &str = "OTHER";

/// Upper bounds of the latency histogram's buckets, in seconds: fine below
/// 10 ms, where a healthy service answers, coarse up to the timeouts.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Upper bounds of the group size histogram's buckets, in requests: up to
/// the largest group a store forms (1,000 reads by id).
const GROUP_SIZE_BUCKETS: [f64; 11] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// The service's metrics registry. Cloning is cheap and shares it.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    in_flight: Gauge,
    answered: Arc<AnsweredSeries>,
    /// The group size histogram of each [`GroupKind`], by its index,
    /// registered when the store first reports that kind (so a backend's
    /// /metrics shows only the kinds it groups).
    group_sizes: Arc<[OnceLock<Histogram>; GroupKind::ALL.len()]>,
}

/// The request counter and latency histogram of each method, route and
/// status seen so far, registered once: recording through the handles
/// then costs an atomic add, where a lookup in the registry by labels
/// cost every request several allocations and hashes.
#[derive(Default)]
struct AnsweredSeries {
    by_route: RwLock<HashMap<String, Vec<Answered>>>,
}

/// The series of one method and status of a route.
#[derive(Clone)]
struct Answered {
    method: &'static str,
    status: StatusCode,
    count: Counter,
    duration: Histogram,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A new registry, holding only the build information.
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(HTTP_REQUEST_DURATION.into()),
                &LATENCY_BUCKETS,
            )
            // Only fails for an empty bucket list, which neither is.
            .expect("latency buckets are not empty")
            .set_buckets_for_metric(Matcher::Full(STORE_GROUP_SIZE.into()), &GROUP_SIZE_BUCKETS)
            .expect("group size buckets are not empty")
            .set_buckets_for_metric(
                Matcher::Full(CHANGE_NOTIFICATION_LAG.into()),
                &feed::LAG_BUCKETS,
            )
            .expect("lag buckets are not empty")
            .build_recorder();
        let in_flight =
            metrics::with_local_recorder(&recorder, || metrics::gauge!(HTTP_REQUESTS_IN_FLIGHT));
        let metrics = Metrics {
            recorder: Arc::new(recorder),
            in_flight,
            answered: Arc::default(),
            group_sizes: Arc::default(),
        };
        metrics.describe();
        metrics.record(|| {
            metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        });
        metrics
    }

    fn record<T>(&self, record: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(self.recorder.as_ref() as &dyn Recorder, record)
    }

    fn describe(&self) {
        self.record(|| {
            metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests answered");
            metrics::describe_histogram!(
                HTTP_REQUEST_DURATION,
                Unit::Seconds,
                "Time from receiving an HTTP request to sending its response head"
            );
            metrics::describe_gauge!(HTTP_REQUESTS_IN_FLIGHT, "HTTP requests being answered");
            metrics::describe_counter!(
                HTTP_REQUESTS_SHED,
                "Requests answered 503 because the database or its connection pool could not take them"
            );
            metrics::describe_counter!(BULK_ROWS_CREATED, "Todos created by bulk requests");
            metrics::describe_gauge!(POOL_CONNECTIONS, "Open database connections by state");
            metrics::describe_gauge!(POOL_MAX_CONNECTIONS, "Most database connections the pool may open");
            metrics::describe_gauge!(POOL_WAITING, "Requests waiting for a free database connection");
            metrics::describe_histogram!(
                STORE_GROUP_SIZE,
                Unit::Count,
                "Requests the store served with one statement, and for writes one commit, by kind"
            );
            metrics::describe_gauge!(BUILD_INFO, "Build information of the running service; always 1");
        });
    }

    /// Counts a request as in flight until the returned guard is dropped,
    /// which also covers requests whose client went away mid-answer.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.increment(1.0);
        InFlight(self.in_flight.clone())
    }

    /// Records an answered request; `shed` when it was a 503 for lack of
    /// database capacity.
    pub fn request_finished(
        &self,
        method: &Method,
        route: &str,
        status: StatusCode,
        latency: Duration,
        shed: bool,
    ) {
        let method = method_label(method);
        let recorded = {
            let by_route = self
                .answered
                .by_route
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            by_route
                .get(route)
                .and_then(|series| series.iter().find(|s| s.is(method, status)))
                .map(|series| series.record(latency))
                .is_some()
        };
        if !recorded {
            self.register_answered(method, route, status)
                .record(latency);
        }
        if shed {
            // Rare, so looked up in the registry each time.
            self.record(|| {
                metrics::counter!(HTTP_REQUESTS_SHED, "method" => method, "route" => route.to_owned())
                    .increment(1);
            });
        }
    }

    /// The series of a method, route and status seen for the first time.
    fn register_answered(&self, method: &'static str, route: &str, status: StatusCode) -> Answered {
        let labels = [
            ("method", method.to_owned()),
            ("route", route.to_owned()),
            ("status", status.as_u16().to_string()),
        ];
        let (count, duration) = self.record(|| {
            (
                metrics::counter!(HTTP_REQUESTS, &labels),
                metrics::histogram!(HTTP_REQUEST_DURATION, &labels),
            )
        });
        let mut by_route = self
            .answered
            .by_route
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let series = by_route.entry(route.to_owned()).or_default();
        let answered = Answered {
            method,
            status,
            count,
            duration,
        };
        // Another request may have registered it meanwhile; the handles
        // are the registry's either way, so keeping one copy is enough.
        if !series.iter().any(|s| s.is(method, status)) {
            series.push(answered.clone());
        }
        answered
    }

    /// Counts todos created by one bulk request.
    pub fn bulk_rows_created(&self, rows: usize) {
        self.record(|| metrics::counter!(BULK_ROWS_CREATED).increment(rows as u64));
    }

    /// Folds the latencies recorded since the last call into their
    /// histograms. The recorder keeps every sample until then, so without
    /// this (or a scrape, which does the same) its memory would grow with
    /// every request.
    pub fn fold_samples(&self) {
        self.recorder.handle().run_upkeep();
    }

    /// The registry in the Prometheus text format, with the pool figures
    /// read just now (they are a reading, not a count, so they are taken
    /// at scrape time rather than kept up to date).
    pub fn render(&self, pool: PoolStatus) -> String {
        self.record(|| {
            metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(pool.idle as f64);
            metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use").set(pool.in_use as f64);
            metrics::gauge!(POOL_MAX_CONNECTIONS).set(pool.max_size as f64);
            metrics::gauge!(POOL_WAITING).set(pool.waiting as f64);
        });
        self.recorder.handle().render()
    }
}

impl GroupObserver for Metrics {
    fn group_served(&self, kind: GroupKind, size: usize) {
        self.group_sizes[kind.index()]
            .get_or_init(|| {
                self.record(|| metrics::histogram!(STORE_GROUP_SIZE, "kind" => kind.label()))
            })
            .record(size as f64);
    }
}

impl Answered {
    fn is(&self, method: &str, status: StatusCode) -> bool {
        self.status == status && self.method == method
    }

    fn record(&self, latency: Duration) {
        self.count.increment(1);
        self.duration.record(latency.as_secs_f64());
    }
}

/// The `method` label of `method`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => OTHER_METHOD,
    }
}

/// A request in flight; dropping it ends that.
pub struct InFlight(Gauge);

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InFlight")
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_registry_holds_the_build_information() {
        let text = Metrics::new().render(PoolStatus::default());
        let line = format!(
            "{BUILD_INFO}{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.lines().any(|l| l == line), "{text}");
    }

    #[test]
    fn group_sizes_go_into_a_histogram_of_their_kind_only() {
        let metrics = Metrics::new();
        metrics.group_served(GroupKind::Read, 3);
        metrics.group_served(GroupKind::Read, 300);
        let text = metrics.render(PoolStatus::default());
        for line in [
            format!(r#"{STORE_GROUP_SIZE}_bucket{{kind="read",le="2"}} 0"#),
            format!(r#"{STORE_GROUP_SIZE}_bucket{{kind="read",le="4"}} 1"#),
            format!(r#"{STORE_GROUP_SIZE}_bucket{{kind="read",le="512"}} 2"#),
            format!(r#"{STORE_GROUP_SIZE}_sum{{kind="read"}} 303"#),
            format!(r#"{STORE_GROUP_SIZE}_count{{kind="read"}} 2"#),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        assert!(!text.contains(r#"kind="create""#), "{text}");
    }

    #[test]
    fn latencies_go_into_a_histogram_and_in_flight_requests_come_back_down() {
        let metrics = Metrics::new();
        let guard = metrics.in_flight();
        assert!(
            metrics
                .render(PoolStatus::default())
                .contains(&format!("{HTTP_REQUESTS_IN_FLIGHT} 1"))
        );
        drop(guard);
        metrics.request_finished(
            &Method::GET,
            "/api/todo/{id}",
            StatusCode::OK,
            Duration::from_millis(3),
            false,
        );
        let text = metrics.render(PoolStatus::default());
        assert!(
            text.contains(&format!("{HTTP_REQUESTS_IN_FLIGHT} 0")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "{HTTP_REQUEST_DURATION}_bucket{{method=\"GET\",route=\"/api/todo/{{id}}\",status=\"200\",le=\"0.005\"}} 1"
            )),
            "{text}"
        );
    }

    #[test]
    fn each_answer_is_counted_in_its_own_series_and_odd_methods_share_one() {
        let metrics = Metrics::new();
        let answer = |method: &Method, status| {
            metrics.request_finished(method, "/api/todo", status, Duration::from_millis(1), false)
        };
        answer(&Method::POST, StatusCode::CREATED);
        answer(&Method::POST, StatusCode::CREATED);
        answer(&Method::POST, StatusCode::UNPROCESSABLE_ENTITY);
        answer(
            &Method::from_bytes(b"BREW").unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        );
        answer(
            &Method::from_bytes(b"WHEN").unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        );
        let text = metrics.render(PoolStatus::default());
        for line in [
            "http_requests_total{method=\"POST\",route=\"/api/todo\",status=\"201\"} 2",
            "http_requests_total{method=\"POST\",route=\"/api/todo\",status=\"422\"} 1",
            "http_requests_total{method=\"OTHER\",route=\"/api/todo\",status=\"405\"} 2",
            "http_request_duration_seconds_count{method=\"POST\",route=\"/api/todo\",status=\"201\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
    }
}
