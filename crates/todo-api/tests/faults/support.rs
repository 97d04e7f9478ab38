//! The fault-test harness: the real `todo-api` binary as a child process on
//! port 0, a database for it on either backend, a small HTTP client, signals
//! to the child, and guards that put the shared PostgreSQL cluster back
//! however a test ends.

mod client;
mod cluster;
mod service;

pub use client::{Client, Reply, error_chain};
pub use cluster::{Backend, Database, ExclusiveCluster};
pub use service::Service;

#[path = "../common/both_backends.rs"]
mod both_backends;
pub(crate) use both_backends::on_both_backends;

#[path = "../common/browser.rs"]
#[allow(dead_code, reason = "shared with tests/process, which uses the rest")]
mod browser;
pub use browser::{PAGE_TIMEOUT, Session, browser_and_driver};

#[path = "../common/sse.rs"]
mod sse;
pub use sse::{SseEvent, SseParser};
