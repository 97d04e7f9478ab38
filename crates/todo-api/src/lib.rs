//! todo-api: the TODO REST API of `API.md`, served over PostgreSQL or
//! embedded SQLite. The binary only reads the configuration and serves;
//! everything else is here, so tests can drive the app in-process.

pub mod app;
pub mod change_hub;
pub mod commands;
pub mod config;
pub mod http;
pub mod maintenance;
pub mod metrics;
pub mod server;
pub mod storage;
pub mod telemetry;

pub use app::{App, build_app};
pub use http::state::AppState;
