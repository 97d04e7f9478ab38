//! The original service's concurrency test table, rerun over HTTP against
//! any server of API.md: each client on its own connection, all clients
//! connected before any sends (a barrier), outcomes checked through the API
//! afterwards. See `table.rs` for how results are printed and `verify.rs`
//! for the checks.

mod run;
mod table;
mod verify;

use serde::{Deserialize, Serialize};

use crate::failure::Failures;
use crate::stats::LatencySummary;

pub use run::{ScenarioError, run_scenario};
pub use table::{limit_notes, render_table};
pub use verify::UNACKNOWLEDGED_CREATES;

/// What each client of a scenario does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create one todo (the old "Bulk Create" and "Scale Test").
    CreateOne,
    /// Update its own todo this many times in a row.
    Update(u32),
    /// Read todos this many times in a row.
    Read(u32),
}

/// One row of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub clients: u64,
    pub action: Action,
    /// What the old service's analysis reported, for comparison.
    pub old_actual: Option<String>,
}

impl Scenario {
    pub fn new(name: &str, clients: u64, action: Action, old_actual: Option<&str>) -> Scenario {
        Scenario {
            name: name.to_owned(),
            clients,
            action,
            old_actual: old_actual.map(str::to_owned),
        }
    }

    /// Operations a perfect run completes.
    pub fn expected(&self) -> u64 {
        let per_client = match self.action {
            Action::CreateOne => 1,
            Action::Update(n) | Action::Read(n) => u64::from(n),
        };
        self.clients * per_client
    }
}

/// The old service's table, plus the two larger scale tests.
pub fn standard() -> Vec<Scenario> {
    vec![
        Scenario::new("Bulk Create (50)", 50, Action::CreateOne, Some("50")),
        Scenario::new(
            "Bulk Create (200)",
            200,
            Action::CreateOne,
            Some("113 (56.5%)"),
        ),
        Scenario::new("Concurrent Updates", 10, Action::Update(10), Some("100")),
        Scenario::new("Parallel Reads", 20, Action::Read(10), Some("198 (99%)")),
        Scenario::new(
            "Scale Test (500)",
            500,
            Action::CreateOne,
            Some("404 (80.8%)"),
        ),
        Scenario::new("Scale Test (5000)", 5000, Action::CreateOne, None),
        Scenario::new("Scale Test (10000)", 10_000, Action::CreateOne, None),
    ]
}

/// The same shapes at small sizes, for the test suite.
pub fn small() -> Vec<Scenario> {
    vec![
        Scenario::new("Bulk Create (5)", 5, Action::CreateOne, None),
        Scenario::new("Concurrent Updates", 4, Action::Update(5), None),
        Scenario::new("Parallel Reads", 5, Action::Read(4), None),
        Scenario::new("Scale Test (20)", 20, Action::CreateOne, None),
    ]
}

/// The outcome of one scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub expected: u64,
    /// Operations answered as the contract says.
    pub actual: u64,
    pub success_percent: f64,
    /// Successful operations per second, from the moment every client had
    /// connected to the last answer.
    pub ops_per_second: f64,
    pub latency: LatencySummary,
    /// Time to open each client's connection.
    pub connect: LatencySummary,
    pub failures: Failures,
    /// Failures that were the client's or the machine's limit.
    pub failures_not_the_server: u64,
    pub verification: Verification,
    /// Cores this process used while the clients ran.
    pub client_cpu_cores: Option<f64>,
    /// Connections the kernel dropped on a full listen backlog meanwhile.
    pub listen_overflows: Option<u64>,
    /// Limits that the scenario's size exceeds, known before it ran.
    pub warnings: Vec<String>,
}

/// What the API showed afterwards.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Verification {
    pub ok: bool,
    pub checked: u64,
    pub problems: Vec<String>,
}

/// A tag unique to this run, so its todos can be told from any others.
pub fn run_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("tl{:x}", nanos % (1 << 40))
}
