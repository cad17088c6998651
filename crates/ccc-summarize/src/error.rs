//! The error types of checkpoint loading and summarizing. They depend on no reader: a reader's errors are
//! defined here, beside the one they are wrapped into.

mod pytorch;

use std::path::PathBuf;

pub use pytorch::{PickleError, TorchError, ZipError};

/// What can go wrong while reading checkpoints and summarizing them.
#[derive(Debug, thiserror::Error)]
pub enum SummarizeError {
    /// An I/O error on a named file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A weight file that is truncated, corrupt or inconsistent.
    #[error("{}: {reason}", path.display())]
    BadWeights {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint directory that cannot be used (no config.json, no weights, …).
    #[error("{}: {reason}", path.display())]
    BadCheckpoint {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An architecture with no built-in mapping.
    #[error("{0}")]
    UnknownArchitecture(String),
    /// A mapping file (`--arch`) that is invalid.
    #[error("{}: {reason}", path.display())]
    BadMapping {
        /// The mapping file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A PEFT adapter that cannot be used (unsupported type, a target not in the base, shapes that do not fit).
    #[error("{}: {reason}", path.display())]
    BadAdapter {
        /// The adapter's directory or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Weights whose shapes contradict the config or the mapping.
    #[error("{0}")]
    Shape(String),
    /// NaN or Inf in a weight tensor.
    #[error("{}: tensor `{tensor}` has a non-finite value (use --allow-nonfinite to continue)", path.display())]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
    },
    /// An invalid option or option combination.
    #[error("{0}")]
    InvalidOption(String),
    /// A PyTorch `.bin` file that cannot be read safely.
    #[error("{}: {source}", path.display())]
    Torch {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: TorchError,
    },
    /// An error from the tensor file layer.
    #[error(transparent)]
    Core(#[from] ccc_core::CoreError),
}
