//! The error type of this crate.

use std::path::PathBuf;

/// What can go wrong while following a run.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// Summarizing a checkpoint into the tensor failed.
    #[error(transparent)]
    Summarize(#[from] ccc_summarize::SummarizeError),
    /// Analyzing the tensor failed.
    #[error("analyzing {}: {source}", path.display())]
    Analyze {
        /// The tensor.
        path: PathBuf,
        /// The cause.
        #[source]
        source: ccc_analyze::AnalyzeError,
    },
    /// Writing the report or its figures failed.
    #[error("writing the report into {}: {reason}", dir.display())]
    Report {
        /// The report directory.
        dir: PathBuf,
        /// What failed.
        reason: String,
    },
    /// Reading the tensor failed.
    #[error(transparent)]
    Core(#[from] ccc_core::CoreError),
    /// The run directory cannot be read or watched.
    #[error("{}: {reason}", path.display())]
    RunDir {
        /// The run directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}
