//! Errors of figure rendering.

use std::path::PathBuf;

/// What can go wrong while drawing or writing figures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FigureError {
    /// An analysis file (`experiments.json`, `summary.json`, …) cannot be read, or is not of its format.
    #[error(transparent)]
    File(#[from] ccc_analyze::FilesError),
    /// An output directory could not be created.
    #[error("cannot create `{path}`: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing an output file failed.
    #[error("cannot write `{path}`: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The analysis output does not match the tensor (shape, steps, components).
    #[error("analysis output does not match the tensor: {0}")]
    Mismatch(String),
    /// A requested experiment, component or option does not exist or is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The drawing library failed.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// Encoding a PNG failed.
    #[error("cannot encode `{path}`: {message}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// The encoder's message.
        message: String,
    },
    /// Writing an output file failed.
    #[error(transparent)]
    Core(#[from] ccc_core::CoreError),
}

/// Turn a plotters drawing error into a [`FigureError`].
pub(crate) trait DrawResult<T> {
    fn d(self) -> Result<T, FigureError>;
}

impl<T, E: std::fmt::Display> DrawResult<T> for Result<T, E> {
    fn d(self) -> Result<T, FigureError> {
        self.map_err(|e| FigureError::Draw(e.to_string()))
    }
}
