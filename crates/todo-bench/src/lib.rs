//! todo-bench: the project's own benchmark harness. It starts a throwaway
//! PostgreSQL cluster, the release `todo-api` binary and `pgbench` as
//! processes, drives the service over HTTP with `todo-load`, and sets each
//! figure beside its reference measured in the same run: pgbench running
//! the statements the service issued, or a bare rusqlite loop running the
//! SQLite store's own statements. The result files become `report.md`, with
//! the performance targets judged first, and a plot.
//!
//! From the top down: `bench` runs the chosen `parts`, which share
//! `measure`; they use the processes and references (`cluster`, `service`,
//! `proxy`, `pgbench`, `sqlite_loop`, `generated_rows`) and write `results`.
//! `report` and `plot` read the results back; `targets` judges them.

pub mod bench;
pub mod cluster;
pub mod error;
#[cfg(test)]
mod fixtures;
pub mod generated_rows;
pub mod local_cluster;
pub mod measure;
pub mod parts;
pub mod pgbench;
pub mod plot;
pub mod proxy;
pub mod report;
pub mod results;
pub mod rolling_restart;
pub mod service;
pub mod sqlite_loop;
pub mod targets;
