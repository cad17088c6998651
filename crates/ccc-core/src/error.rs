//! The error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading, writing or combining `ccc/1` data.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// An I/O error on a named file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid `ccc/1` safetensors file.
    #[error("{}: not a valid ccc/1 file: {reason}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A component name that does not follow the naming scheme of docs/tensor.md.
    #[error("bad component name `{0}`: expected e.g. `emb_in`, `L3.H5.Q`, `L0.mlp_in`, `L2.ln_1` or a compact name such as `Q`")]
    BadComponentName(String),
    /// An unknown option value given at an edge (CLI, metadata).
    #[error("unknown {what} `{value}`; expected one of: {expected}")]
    UnknownValue {
        /// What kind of value (e.g. `summary`).
        what: &'static str,
        /// The value given.
        value: String,
        /// The accepted values.
        expected: String,
    },
    /// A step selection that does not parse.
    #[error("bad step selection `{0}`: use a list `0,1000,2000`, a range `1000..5000` (or `1000..`, `..5000`), or a filter `%1000==0`, combined with commas")]
    BadStepSelection(String),
    /// Checkpoint names of several series whose steps repeat or restart (see [`crate::step_name::check_series`]).
    #[error(
        "the checkpoints found belong to {} series whose steps repeat or restart, so one file cannot hold them in \
         order: {}; choose one with `--revisions '{}'` (names or globs, comma-separated)",
        spans.len(),
        spans.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
        spans.first().map_or("*", |s| s.series.as_str())
    )]
    MixedSeries {
        /// Every series found, in (stage, first step) order.
        spans: Vec<crate::step_name::SeriesSpan>,
    },
    /// Tensors that cannot be combined or that disagree in shape.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// `merge` found two files with different values for the same filled step.
    #[error("conflict at step {step}: `{a}` and `{b}` both have it filled with different values")]
    MergeConflict {
        /// The step.
        step: i64,
        /// The first file.
        a: String,
        /// The second file.
        b: String,
    },
    /// A non-finite value where none is allowed.
    #[error("non-finite value {value} at coordinate {coord}, step {step}, component `{component}`")]
    NonFinite {
        /// Coordinate index.
        coord: usize,
        /// Training step.
        step: i64,
        /// Component name.
        component: String,
        /// The value.
        value: f32,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

impl CoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CoreError::Io { path: path.into(), source }
    }
    pub(crate) fn bad(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        CoreError::BadFile { path: path.into(), reason: reason.into() }
    }
}
