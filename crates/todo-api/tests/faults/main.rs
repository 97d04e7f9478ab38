//! Fault tests: the real `todo-api` binary, run as a process on port 0,
//! killed, stopped with requests in flight, cut off from its database, and
//! run several at once on one database, restarted one by one behind HAProxy
//! and PgBouncer under load; and the web app it serves, in a
//! real headless browser.
//!
//! A test binary of its own because some of these tests stop or freeze the
//! shared PostgreSQL cluster; within it, those tests take the cluster alone
//! (`support::ExclusiveCluster`) so the others never see the outage.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod support;

mod crash;
mod events;
mod instances;
mod outage;
mod rolling_restart;
mod shutdown;
mod slow_clients;
mod webapp;
