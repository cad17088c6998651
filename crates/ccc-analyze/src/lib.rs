//! # ccc-analyze: classifications, trajectories and scores
//!
//! Placeholder overview; filled in by the analysis work.
#![deny(missing_docs)]

pub mod error;
pub mod score;
pub mod trajectory;

pub use error::AnalyzeError;
pub use score::{flow_field, score, FlowField, Scores};
pub use trajectory::{trajectories, Aggregation, Trajectories};
