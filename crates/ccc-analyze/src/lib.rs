//! # ccc-analyze: classifications, trajectories and scores
//!
//! Placeholder overview; filled in by the analysis work.
#![deny(missing_docs)]

pub mod analysis;
pub mod classify;
pub mod cluster;
pub mod error;
pub mod experiments;
pub mod fold;
pub mod outliers;
pub mod output;
pub mod pipeline;
pub mod prep;
pub mod robust;
pub mod score;
pub mod trajectory;

pub use analysis::{analysis_input, analyze, check_groups, score_groups, Analysis, AnalyzeOptions};
pub use classify::{PipelineResult, Status};
pub use error::AnalyzeError;
pub use experiments::Experiment;
pub use outliers::OutlierMethod;
pub use pipeline::{Chain, Pipeline};
pub use score::{flow_field, score, FlowField, Scores};
pub use trajectory::{trajectories, Aggregation, Trajectories};
