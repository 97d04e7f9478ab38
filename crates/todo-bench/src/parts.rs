//! The parts of the bench, each measuring one thing and writing its own
//! result file as it goes. Each uses the shared measuring of `measure.rs`;
//! none knows which others run (`bench.rs` chooses and orders them).

pub mod backends;
pub mod bulk_rows;
pub mod changes;
pub mod concurrency;
pub mod distant;
pub mod experiments;
pub mod lists_1m;
pub mod lists_after_bulk;
pub mod rolling_restart;
pub mod single_rows;
pub mod users;
