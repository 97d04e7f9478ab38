//! The real `todo-api` binary as a process: its command line, its logs,
//! and `/docs` in a real headless browser.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod browser;
mod cli;
mod support;
mod users;
