//! PyTorch `.bin` checkpoints (zip + pickle), read without executing anything.

/// What can go wrong while reading a PyTorch checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    /// The file is not in a supported format.
    #[error("{0}")]
    Unsupported(String),
}
