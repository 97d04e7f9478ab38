//! todo-bench: the project's own benchmark harness. It starts a throwaway
//! PostgreSQL cluster, the release `todo-api` binary and `pgbench` as
//! processes, drives the service over HTTP with `todo-load`, and sets each
//! figure beside its reference measured in the same run. The result files
//! become `report.md` and a plot.

pub mod bench;
pub mod plot;
pub mod report;
