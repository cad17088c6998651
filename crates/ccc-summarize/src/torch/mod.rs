//! PyTorch `.bin` checkpoints (zip + pickle), read without executing anything.

/// What can go wrong while reading a PyTorch checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    /// The file is not in a supported format.
    #[error("{0}")]
    Unsupported(String),
}

use std::path::Path;

use crate::error::SummarizeError;
use crate::source::WeightSource;

/// Open one PyTorch `.bin` file as a weight source.
pub fn open_source(path: &Path) -> Result<Box<dyn WeightSource>, SummarizeError> {
    Err(SummarizeError::Torch {
        path: path.to_path_buf(),
        source: TorchError::Unsupported("PyTorch .bin checkpoints are not supported by this build yet".into()),
    })
}
