//! A target's row as the result files give it, before it is judged; made
//! by `figures.rs` and `feed_figures.rs`.

use super::Figure;

/// A row as the result files give it, before it is judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub target: String,
    pub measured: String,
    pub reference: String,
    pub ratio: Option<f64>,
    /// What the goal judges; none when the part has not been run.
    pub figures: Vec<Figure>,
}

impl Reading {
    pub(super) fn not_measured(target: String) -> Reading {
        Reading {
            target,
            measured: "not measured".to_owned(),
            reference: "–".to_owned(),
            ratio: None,
            figures: Vec::new(),
        }
    }
}
