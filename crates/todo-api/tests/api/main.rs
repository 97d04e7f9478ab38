//! The HTTP contract of API.md, every test run on both backends.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod jwks;
mod jwt;
mod support;

mod access;
mod bulk;
mod changes;
mod conditional;
mod create;
mod errors;
mod fuzz;
mod health;
mod idempotency;
mod limits;
mod listing;
mod openapi;
mod operations;
mod pagination;
mod rate_limits;
mod tokens;
mod update_delete;
mod users;
mod users_model;
mod web_app;
