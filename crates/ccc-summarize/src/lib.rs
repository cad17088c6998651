//! # ccc-summarize: checkpoints → the CCC tensor
//!
//! Reads training checkpoints (safetensors, single or sharded; PyTorch `.bin` through [`torch`]) and reduces
//! every weight row indexed by a residual-stream coordinate to one number (spec 01), giving one column of the
//! CCC tensor `mags[coord, checkpoint, component]` per checkpoint, in full and compact mode at once.
//!
//! The pieces, from the bottom up:
//! - [`source`]: the reader interface. A [`WeightSource`] streams a checkpoint's tensors to a [`TensorSink`] in
//!   chunks of whole rows, with memory bounded by the chunk size. [`SafetensorsFile`] (local, mapped a chunk at a
//!   time, see [`read_at`]), [`SafetensorsStream`] (any `Read`, e.g. a download), [`sharded::ChainSource`] (shards).
//! - [`arch`]: architecture mapping files (TOML) — which tensors are which components, with which layout. The
//!   built-in architectures are mapping files too. [`plan`] applies one to a checkpoint.
//! - [`column`](mod@column): the summarizing sink.
//! - [`checkpoint`] / [`local`]: where checkpoints come from; [`run`](mod@run): the resumable run driver writing
//!   `ccc/1` files; [`shard`](mod@shard): splitting a run over jobs.
//!
//! ```
//! use std::path::{Path, PathBuf};
//! use ccc_core::{file, Mode, NoProgress, StepSelection};
//! use ccc_summarize::{local, run, Checkpoint};
//!
//! let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fixtures/tiny-llama");
//! let found = local::discover(&[fixtures], &"0,400".parse::<StepSelection>()?)?;
//! let checkpoints: Vec<Box<dyn Checkpoint>> =
//!     found.checkpoints.into_iter().map(|c| Box::new(c) as Box<dyn Checkpoint>).collect();
//! let dir = tempfile::tempdir().unwrap();
//! let out = dir.path().join("llama.full.safetensors");
//! let opts = run::RunOptions::new(vec![run::Output { mode: Mode::Full, path: out.clone() }], "tiny-llama");
//! let report = run::run(&checkpoints, &opts, &NoProgress)?;
//! assert_eq!(report.computed, vec![0, 400]);
//! let t = file::read(&out)?;
//! assert_eq!(t.shape(), [64, 2, 2 + 8 + 4 + 8 + 2 + 2 + 4 + 2 + 2]); // GQA: 2 K and 2 V heads per layer
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod arch;
pub mod checkpoint;
pub mod column;
pub mod error;
pub mod local;
pub mod plan;
pub mod read_at;
pub mod run;
pub mod safetensors;
pub mod shard;
pub mod sharded;
pub mod source;
mod tensor;
mod tensor_plan;
pub mod torch;

pub use arch::Mapping;
pub use checkpoint::Checkpoint;
pub use error::SummarizeError;
pub use plan::Plan;
pub use read_at::{FileAt, Mapped, ReadAt, ReadMethod};
pub use run::{run, Output, RunOptions, RunReport};
pub use safetensors::{SafetensorsFile, SafetensorsHeader, SafetensorsStream};
pub use shard::{shard, ShardSpec};
pub use source::{StoredRows, TensorSink, WeightSource};
pub use tensor::{DType, TensorInfo};
