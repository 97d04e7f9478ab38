//! todo-load: the load generator of the todo-api contract. It talks to a
//! service only over HTTP (API.md), so it measures any server of that
//! contract: the scenario table with its checks through the API afterwards
//! (`scenarios`), and sustained load of one workload (`sustained`), creates and updates that retry safely with idempotency keys
//! (`keyed_writes`), sent anonymously or as many users (`callers`), each
//! failure told apart by whose it was (`failure`).

pub mod callers;
pub mod client;
pub mod events;
pub mod failure;
pub mod keyed_writes;
pub mod limits;
pub mod progress;
pub mod scenarios;
pub mod service_url;
pub mod stats;
pub mod sustained;
pub mod workload;
