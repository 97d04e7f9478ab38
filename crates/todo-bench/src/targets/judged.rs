//! The targets judged from made-up result records: each row's figures,
//! texts and verdict as the report shows them.

use todo_load::stats::LatencySummary;
use todo_load::workload::Workload;

use super::{TargetInputs, TargetRow, judge};
use crate::fixtures::{ceiling, point, report};
use crate::parts::bulk_rows::BulkRowsPoint;
use crate::parts::concurrency::{ConcurrencyPart, IdleMemory};
use crate::parts::lists_1m::ListPoint;
use crate::results::{Durability, Round};

fn list(query: &str, pages_in: u32, api: f64, ceil: f64) -> ListPoint {
    ListPoint {
        rows: 1_000_000,
        users: 0,
        query: query.to_owned(),
        pages_in,
        url: query.to_owned(),
        api: report(Workload::List, 64, api),
        ceiling: ceiling("pgbench", ceil),
        ratio: api / ceil,
        hand_written: None,
        statement_is_builders: true,
        rounds: Vec::new(),
    }
}

fn row<'a>(rows: &'a [TargetRow], target: &str) -> &'a TargetRow {
    rows.iter()
        .find(|row| row.target.starts_with(target))
        .unwrap_or_else(|| panic!("no row {target}: {rows:#?}"))
}

#[test]
fn ratios_against_the_reference_are_met_at_the_goal_and_missed_below() {
    let inputs = TargetInputs {
        reads: vec![
            point(Workload::Read, 64, 600.0, 1000.0),
            point(Workload::Read, 256, 599.0, 1000.0),
        ],
        creates: vec![point(Workload::Create, 64, 3000.0, 2000.0)],
        ..TargetInputs::default()
    };
    let rows = judge(&inputs);
    let reads_64 = row(&rows, "Reads, 64");
    assert_eq!(reads_64.met, Some(true));
    assert_eq!(reads_64.ratio, Some(0.6));
    assert_eq!(row(&rows, "Reads, 256").met, Some(false));
    assert_eq!(row(&rows, "Creates (PostgreSQL), 64").met, Some(true));
    // Parts not run are listed, neither met nor missed.
    assert_eq!(row(&rows, "Updates").met, None);
    assert_eq!(row(&rows, "Bulk").met, None);
}

#[test]
fn a_point_measured_in_rounds_shows_their_spread() {
    let mut reads = point(Workload::Read, 64, 700.0, 1000.0);
    reads.rounds = [(800.0, 1000.0), (700.0, 1000.0), (500.0, 1000.0)]
        .map(|(api, ceiling)| Round::of(api, ceiling))
        .to_vec();
    let rows = judge(&TargetInputs {
        reads: vec![reads],
        ..TargetInputs::default()
    });
    let row = row(&rows, "Reads, 64");
    assert_eq!(
        row.measured,
        "700 req/s, median of 3 rounds (ratios 0.50–0.80×)"
    );
    assert_eq!(row.ratio, Some(0.7));
}

#[test]
fn durability_needs_every_answered_create_committed() {
    let mut create = point(Workload::Create, 64, 3000.0, 2000.0);
    create.durability = Some(Durability {
        acked: 100,
        rows_added: 99,
        synchronous_commit: "on".to_owned(),
        fsync: "on".to_owned(),
        commit_settings_changed: false,
    });
    let rows = judge(&TargetInputs {
        creates: vec![create.clone()],
        ..TargetInputs::default()
    });
    assert_eq!(row(&rows, "Creates (PostgreSQL): every").met, Some(false));
    if let Some(durability) = create.durability.as_mut() {
        durability.rows_added = 100;
    }
    let rows = judge(&TargetInputs {
        creates: vec![create],
        ..TargetInputs::default()
    });
    assert_eq!(row(&rows, "Creates (PostgreSQL): every").met, Some(true));
}

#[test]
fn lists_report_their_worst_query_and_deep_pages_against_first_pages() {
    let inputs = TargetInputs {
        lists: vec![
            list("/api/todo?priority=5", 0, 800.0, 1000.0),
            list("/api/todo?priority=5", 50, 790.0, 1000.0),
            list("/api/todo?q=urgent", 0, 900.0, 1000.0),
            list("/api/todo?q=urgent", 9, 300.0, 1000.0),
        ],
        ..TargetInputs::default()
    };
    let rows = judge(&inputs);
    let first = row(&rows, "Filtered lists on 1M rows, first");
    assert_eq!(first.met, Some(true));
    assert_eq!(first.ratio, Some(0.8));
    let deep = row(&rows, "Filtered lists on 1M rows, deep");
    assert_eq!(deep.met, Some(false));
    assert!(deep.measured.contains("q=urgent"), "{}", deep.measured);
    let cost = row(&rows, "Filtered lists: a deep page");
    assert_eq!(cost.met, Some(false));
    assert_eq!(cost.ratio, Some(300.0 / 900.0));
    assert!(
        cost.measured
            .starts_with("1 of 2 met; worst `q=urgent` page 10: 300 req/s"),
        "{}",
        cost.measured
    );
}

#[test]
fn a_deep_page_is_judged_against_what_the_database_charges_for_the_same_two_statements() {
    // (API, pgbench) req/s of the first page, then of the deep page.
    let deep_page_met = |first: (f64, f64), deep: (f64, f64)| {
        let lists = vec![
            list("/api/todo?sort=id", 0, first.0, first.1),
            list("/api/todo?sort=id", 50, deep.0, deep.1),
        ];
        let rows = judge(&TargetInputs {
            lists,
            ..TargetInputs::default()
        });
        row(&rows, "Filtered lists: a deep page").met
    };
    assert_eq!(deep_page_met((1000.0, 1250.0), (750.0, 1000.0)), Some(true));
    assert_eq!(
        deep_page_met((1000.0, 1250.0), (700.0, 1000.0)),
        Some(false)
    );
    assert_eq!(
        deep_page_met((1000.0, 1000.0), (880.0, 1200.0)),
        Some(false)
    );
}

#[test]
fn idle_memory_counts_only_when_every_connection_was_held() {
    let idle = IdleMemory {
        connections: 10_000,
        answered: 10_000,
        open_when_read: 10_000,
        rss_before_kib: 20_000,
        rss_idle_kib: 150_000,
        rss_peak_kib: 160_000,
    };
    let memory_met = |idle: IdleMemory| {
        let rows = judge(&TargetInputs {
            concurrency: Some(ConcurrencyPart {
                idle: Some(idle),
                scale: None,
            }),
            ..TargetInputs::default()
        });
        row(&rows, "Service RSS").met
    };
    assert_eq!(memory_met(idle.clone()), Some(true));
    let dropped = IdleMemory {
        open_when_read: 9_000,
        ..idle
    };
    assert_eq!(memory_met(dropped), Some(false));
}

#[test]
fn bulk_takes_the_best_concurrency_against_the_absolute_goal() {
    let bulk = |clients: u64, rows_per_second: f64| BulkRowsPoint {
        clients,
        items_per_request: 1000,
        requests: 10,
        failed_requests: 0,
        rows: 10_000,
        seconds: 1.0,
        rows_per_second,
        latency: LatencySummary::default(),
        reference: ceiling("pgbench", 200_000.0),
    };
    let bulk_row = |points: Vec<BulkRowsPoint>| {
        let rows = judge(&TargetInputs {
            bulk_rows: points,
            ..TargetInputs::default()
        });
        row(&rows, "Bulk").clone()
    };
    let best = bulk_row(vec![
        bulk(2, 60_000.0),
        bulk(4, 120_000.0),
        bulk(8, 90_000.0),
    ]);
    assert_eq!(best.met, Some(true));
    assert_eq!(best.ratio, Some(0.6));
    assert!(
        best.measured.starts_with("best 120000 rows/s at 4 clients"),
        "{}",
        best.measured
    );
    assert_eq!(bulk_row(vec![bulk(8, 99_999.0)]).met, Some(false));
}

#[test]
fn users_get_a_row_per_backend_and_workload_against_open_mode() {
    let open = |workload, jwt: f64, open: f64, backend: &str| {
        let mut point = point(workload, 64, jwt, open);
        point.ceiling = ceiling("open mode", open);
        point.backend = backend.to_owned();
        point
    };
    let rows = judge(&TargetInputs {
        users: vec![
            open(Workload::Read, 900.0, 1000.0, "postgres"),
            open(Workload::Create, 890.0, 1000.0, "sqlite"),
        ],
        ..TargetInputs::default()
    });
    let reads = row(&rows, "JWT on, 1000 users: read (postgres), 64 connections");
    assert_eq!(reads.met, Some(true));
    assert_eq!(reads.reference, "open mode 1000/s");
    assert_eq!(reads.goal, "≥ 0.9× open mode");
    let creates = row(&rows, "JWT on, 1000 users: create (sqlite)");
    assert_eq!(creates.met, Some(false));
}

#[test]
fn listings_are_judged_against_the_hand_written_statement_where_it_was_measured() {
    let mut slow = list("/api/todo?priority=5", 0, 700.0, 800.0);
    slow.hand_written = Some(ceiling("pgbench", 1000.0));
    let mut fast = list("/api/todo?completed=false", 0, 900.0, 900.0);
    fast.hand_written = Some(ceiling("pgbench", 1000.0));
    let older = list("/api/todo?q=urgent", 0, 10.0, 1000.0);
    let rows = judge(&TargetInputs {
        lists: vec![slow, fast, older],
        ..TargetInputs::default()
    });
    let row = row(&rows, "Filtered lists on 1M rows, against the hand-written");
    assert_eq!(row.met, Some(false));
    assert_eq!(row.ratio, Some(0.7));
    assert!(
        row.measured.starts_with("1 of 2 met; worst"),
        "{}",
        row.measured
    );
    assert_eq!(row.reference, "hand-written 1000/s");
}
