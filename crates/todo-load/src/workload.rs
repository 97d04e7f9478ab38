//! The requests of each sustained workload, as API.md defines them, and the
//! data they need (a range of existing ids).

use std::fmt;

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{ClientError, Connection};

/// The listing a `list` request asks for: one page of open todos, newest
/// first (the everyday view, and a filtered one).
pub const LIST_PATH: &str = "/api/todo?completed=false&limit=20";

/// The request mix of `mixed`, in percent: create, read, list, update.
pub const MIX: [(Op, u32); 4] = [
    (Op::Create, 20),
    (Op::Read, 50),
    (Op::List, 20),
    (Op::Update, 10),
];

/// A sustained workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    Create,
    Read,
    List,
    Update,
    Mixed,
}

impl Workload {
    pub const ALL: [Workload; 5] = [
        Workload::Create,
        Workload::Read,
        Workload::List,
        Workload::Update,
        Workload::Mixed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Create => "create",
            Workload::Read => "read",
            Workload::List => "list",
            Workload::Update => "update",
            Workload::Mixed => "mixed",
        }
    }

    /// The operation of one request.
    pub fn pick(self, rng: &mut Rng) -> Op {
        match self {
            Workload::Create => Op::Create,
            Workload::Read => Op::Read,
            Workload::List => Op::List,
            Workload::Update => Op::Update,
            Workload::Mixed => {
                let mut roll = (rng.next_u64() % 100) as u32;
                for (op, share) in MIX {
                    if roll < share {
                        return op;
                    }
                    roll -= share;
                }
                Op::Read
            }
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Create,
    Read,
    List,
    Update,
}

impl Op {
    /// Its name in reports, as serde spells it.
    pub fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Read => "read",
            Op::List => "list",
            Op::Update => "update",
        }
    }
}

/// A request ready to send, and the status that means success.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
    pub expect: StatusCode,
}

/// The ids of existing todos the reads and updates pick from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRange {
    pub min: i64,
    pub max: i64,
}

impl Op {
    /// The request of this op; `list_path` is the listing `List` asks for.
    pub fn request(self, rng: &mut Rng, ids: IdRange, list_path: &str) -> Request {
        let priority = 1 + (rng.next_u64() % 5) as i64;
        match self {
            Op::Create => Request {
                method: Method::POST,
                path: "/api/todo".to_owned(),
                body: Some(json!({
                    "title": "load test todo",
                    "description": "created by todo-load",
                    "priority": priority,
                    "due_date": "2030-01-01T00:00:00Z",
                })),
                expect: StatusCode::CREATED,
            },
            Op::Read => Request {
                method: Method::GET,
                path: format!("/api/todo/{}", ids.pick(rng)),
                body: None,
                expect: StatusCode::OK,
            },
            Op::List => Request {
                method: Method::GET,
                path: list_path.to_owned(),
                body: None,
                expect: StatusCode::OK,
            },
            Op::Update => Request {
                method: Method::PATCH,
                path: format!("/api/todo/{}", ids.pick(rng)),
                body: Some(json!({ "priority": priority })),
                expect: StatusCode::OK,
            },
        }
    }
}

impl IdRange {
    fn pick(self, rng: &mut Rng) -> i64 {
        let span = (self.max - self.min + 1).max(1) as u64;
        self.min + (rng.next_u64() % span) as i64
    }
}

/// A small, fast, seedable generator (SplitMix64): load needs spread, not
/// secrecy.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Why the data a workload needs could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{0}")]
    Answer(String),
}

/// Makes sure at least `count` todos exist, creating them in bulk (or one
/// by one where the bulk endpoint is off), and returns the id range.
pub async fn ensure_todos(
    connection: &mut Connection,
    count: u64,
) -> Result<IdRange, PrepareError> {
    let mut range = id_range(connection).await?;
    let existing = range.map_or(0, |r| (r.max - r.min + 1) as u64);
    let mut missing = count.saturating_sub(existing);
    let mut bulk = true;
    while missing > 0 {
        let batch = missing.min(1000);
        let todos: Vec<Value> = (0..batch)
            .map(|n| {
                json!({
                    "title": format!("seeded todo {n}"),
                    "priority": 1 + n % 5,
                    "completed": n % 3 == 0,
                })
            })
            .collect();
        if bulk {
            let response = connection
                .post("/api/todo/bulk", &Value::Array(todos.clone()))
                .await?;
            match response.status {
                StatusCode::CREATED => {
                    missing -= batch;
                    continue;
                }
                StatusCode::NOT_FOUND => bulk = false,
                status => {
                    return Err(PrepareError::Answer(format!(
                        "bulk create answered {status}"
                    )));
                }
            }
        }
        for todo in &todos {
            let response = connection.post("/api/todo", todo).await?;
            if response.status != StatusCode::CREATED {
                return Err(PrepareError::Answer(format!(
                    "create answered {}",
                    response.status
                )));
            }
        }
        missing -= batch;
    }
    range = id_range(connection).await?;
    range.ok_or_else(|| PrepareError::Answer("no todos after seeding".to_owned()))
}

async fn id_range(connection: &mut Connection) -> Result<Option<IdRange>, PrepareError> {
    let first = edge_id(connection, "id").await?;
    let last = edge_id(connection, "-id").await?;
    Ok(first.zip(last).map(|(min, max)| IdRange { min, max }))
}

async fn edge_id(connection: &mut Connection, sort: &str) -> Result<Option<i64>, PrepareError> {
    let response = connection
        .get(&format!("/api/todo?sort={sort}&limit=1"))
        .await?;
    if response.status != StatusCode::OK {
        return Err(PrepareError::Answer(format!(
            "listing answered {}",
            response.status
        )));
    }
    Ok(response
        .json()
        .and_then(|page| page.get(0)?.get("id")?.as_i64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_adds_up_to_a_hundred_percent() {
        assert_eq!(MIX.iter().map(|(_, share)| share).sum::<u32>(), 100);
        let mut rng = Rng::new(7);
        let reads = (0..10_000)
            .filter(|_| Workload::Mixed.pick(&mut rng) == Op::Read)
            .count();
        assert!((4_500..5_500).contains(&reads), "{reads}");
    }

    #[test]
    fn op_names_are_their_serde_names() {
        for op in [Op::Create, Op::Read, Op::List, Op::Update] {
            assert_eq!(serde_json::to_value(op).unwrap(), op.name());
        }
    }

    #[test]
    fn reads_and_updates_stay_in_the_id_range() {
        let mut rng = Rng::new(1);
        let ids = IdRange { min: 10, max: 12 };
        for _ in 0..100 {
            let id = ids.pick(&mut rng);
            assert!((10..=12).contains(&id));
        }
        let request = Op::Update.request(&mut rng, ids, LIST_PATH);
        assert_eq!(request.method, Method::PATCH);
        assert!(request.path.starts_with("/api/todo/1"));
    }
}
