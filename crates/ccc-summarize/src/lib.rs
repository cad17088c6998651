//! # ccc-summarize: checkpoints → the CCC tensor
//!
//! Placeholder overview; filled in by the summarize work.
#![deny(missing_docs)]

pub mod checkpoint;
pub mod error;
pub mod source;
pub mod torch;

pub use checkpoint::Checkpoint;
pub use error::SummarizeError;
pub use source::{DType, TensorInfo, TensorSink, WeightSource};
