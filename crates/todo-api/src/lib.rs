//! todo-api: the TODO REST API of `API.md`, served over PostgreSQL or
//! embedded SQLite. The binary only reads the configuration and serves;
//! everything else is here, so tests can drive the router in-process.

pub mod config;
pub mod http;
pub mod maintenance;
pub mod metrics;
pub mod server;
pub mod state;
pub mod storage;
pub mod telemetry;

pub use http::router;
pub use state::AppState;
