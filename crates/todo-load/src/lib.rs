//! todo-load: the load generator and benchmark harness of todo-api. It
//! talks to a service only over HTTP (API.md), so it measures any server
//! of that contract; its `bench` command also starts PostgreSQL, the
//! service and `pgbench` as processes to measure ours against the ceiling
//! of the database beneath it.

pub mod bench;
pub mod client;
pub mod failure;
pub mod limits;
pub mod plot;
pub mod progress;
pub mod report;
pub mod scenarios;
pub mod service_url;
pub mod stats;
pub mod sustained;
pub mod workload;
