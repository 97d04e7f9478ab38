//! Results made up for the tests of the bench's bookkeeping and report.

use todo_load::stats::LatencySummary;
use todo_load::sustained::RunReport;
use todo_load::workload::Workload;

use crate::results::{Ceiling, WorkloadPoint};

/// A run of 100 successful requests at `throughput`.
pub(crate) fn report(workload: Workload, connections: u64, throughput: f64) -> RunReport {
    RunReport {
        url: "http://127.0.0.1:1".to_owned(),
        workload,
        connections,
        duration_seconds: 3.0,
        rate: None,
        open_loop: false,
        requests: 100,
        successes: 100,
        success_percent: 100.0,
        throughput,
        latency: LatencySummary::default(),
        latency_by_op: Default::default(),
        failures: Default::default(),
        failures_not_the_server: 0,
        reconnects: 0,
        connect_failures: 0,
        client_cpu_cores: None,
        server_cpu_cores: None,
        listen_overflows: None,
        warnings: Vec::new(),
    }
}

pub(crate) fn ceiling(tool: &str, throughput: f64) -> Ceiling {
    Ceiling {
        tool: tool.to_owned(),
        clients: 64,
        throughput,
        latency: LatencySummary::default(),
        command: String::new(),
        scripts: Vec::new(),
    }
}

/// A PostgreSQL point measured once.
pub(crate) fn point(workload: Workload, connections: u64, api: f64, ceil: f64) -> WorkloadPoint {
    WorkloadPoint {
        backend: "postgres".to_owned(),
        workload,
        connections,
        api: report(workload, connections, api),
        ceiling: ceiling("pgbench", ceil),
        ratio: api / ceil,
        issued: Vec::new(),
        durability: None,
        rounds: Vec::new(),
    }
}
