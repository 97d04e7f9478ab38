//! The real `todo-api` binary as a process: its command line, its logs,
//! `/docs` in a real headless browser, and a Python client generated from
//! its `/openapi.json`.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

#[path = "../common/browser.rs"]
mod browser;
mod cli;
mod docs_page;
mod generated_client;
mod support;
mod users;
