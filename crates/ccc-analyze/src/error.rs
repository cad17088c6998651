//! The error type of the analysis.

/// What can go wrong in an analysis.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// An option value that is out of range or unknown.
    #[error("{0}")]
    InvalidOption(String),
    /// The input tensor cannot be analyzed (e.g. NaN entries, no filled checkpoints).
    #[error("{0}")]
    BadInput(String),
    /// A groups record that does not fit the tensor.
    #[error("bad groups: {0}")]
    BadGroups(String),
    /// Writing the outputs failed.
    #[error("cannot write the analysis: {0}")]
    Output(String),
    /// Reading or writing an analysis file failed.
    #[error(transparent)]
    File(#[from] crate::files::FilesError),
    /// Reading a training log failed.
    #[error(transparent)]
    TrainLog(#[from] crate::timeline::TrainLogError),
    /// An error from the tensor layer.
    #[error(transparent)]
    Core(#[from] ccc_core::CoreError),
}
