//! # ccc-summarize: checkpoints → the CCC tensor
//!
//! Reads training checkpoints (safetensors, single or sharded; PyTorch `.bin`, single or sharded) and reduces
//! every weight row indexed by a residual-stream coordinate to one number (docs/tensor.md), giving one column of the
//! CCC tensor `mags[coord, checkpoint, component]` per checkpoint, in full and compact mode at once, written
//! into resumable `ccc/1` files.
//!
//! ## The public API
//!
//! | to … | use |
//! |---|---|
//! | find checkpoints on disk | [`local::discover`] (a run directory or checkpoint directories) → [`local::Discovery`] of [`local::LocalCheckpoint`]s; [`local::parse_step`] |
//! | bring checkpoints from elsewhere | implement [`Checkpoint`] (the hub client does: `ccc_hub::HubCheckpoint`) |
//! | open a checkpoint's weights | [`Checkpoint::open`], [`local::WeightFiles`], [`SafetensorsFile`], [`SafetensorsStream`] (any `BufRead`, e.g. a download); each is a [`WeightSource`] of [`TensorInfo`]s, read by [`ReadMethod`] |
//! | read the weights yourself | implement [`TensorSink`] and call [`WeightSource::stream`] (whole rows, bounded memory; [`StoredRows`]) |
//! | summarize PEFT LoRA adapters against their base (merged or ΔW) | [`adapter::Base`], [`adapter::discover`] → [`adapter::AdapterCheckpoint`]s (each a [`Checkpoint`]) |
//! | say which tensors are which components | [`Mapping`]: built-in or a TOML mapping file (the [`arch`] module: its format and types) |
//! | plan and inspect | [`Plan::for_checkpoint`] → [`Plan`]: architecture, [`Dims`], components and lengths per mode, tensors used, [`Ignored`] ones |
//! | summarize into `ccc/1` files | [`run`] with [`RunOptions`] (one [`Output`] per mode, summary, jobs, memory budget, …) and a [`ccc_core::Progress`] → [`RunReport`]; resumable, duplicates recorded |
//! | summarize one source in memory | [`summarize_source`] → [`Column`] |
//! | split a run over cluster jobs | [`ShardSpec`] (`i/N`), [`shard`]; combine the files with [`ccc_core::merge`] |
//! | handle errors | [`SummarizeError`] (and the `.bin` reader's [`TorchError`], [`ZipError`], [`PickleError`]) |
//!
//! Everything else — the readers' internals, the kernels, the run engine's scheduling, memory model and write
//! policy — is private to the crate.
//!
//! ## Example
//!
//! ```
//! use std::path::Path;
//! use ccc_core::{file, Mode, NoProgress, StepSelection};
//! use ccc_summarize::{local, run, Checkpoint, Output, Plan, RunOptions};
//!
//! // Two checkpoints of a tiny Llama run (GQA: 2 key/value heads per layer).
//! let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fixtures/tiny-llama");
//! let found = local::discover(&[fixtures], &"0,400".parse::<StepSelection>()?)?;
//!
//! // What `ccc inspect` shows: the architecture detected and the components of each mode.
//! let first = &found.checkpoints[0];
//! let plan = Plan::for_checkpoint(&first.config()?, first.open()?.tensors(), None, true)?;
//! assert_eq!(plan.architecture(), "llama");
//! assert_eq!(plan.components(Mode::Full).len(), 2 + 8 + 4 + 8 + 2 + 2 + 4 + 2 + 2);
//!
//! // Both modes from one pass over the weights, into two files.
//! let checkpoints: Vec<Box<dyn Checkpoint>> =
//!     found.checkpoints.into_iter().map(|c| Box::new(c) as Box<dyn Checkpoint>).collect();
//! let dir = tempfile::tempdir()?;
//! let (full, compact) = (dir.path().join("llama.full.safetensors"), dir.path().join("llama.compact.safetensors"));
//! let outputs = vec![Output { mode: Mode::Full, path: full.clone() }, Output { mode: Mode::Compact, path: compact }];
//! let opts = RunOptions::new(outputs, "tiny-llama");
//! let report = run(&checkpoints, &opts, &NoProgress)?;
//! assert_eq!(report.computed, vec![0, 400]);
//! assert_eq!(file::read(&full)?.shape(), [64, 2, plan.components(Mode::Full).len()]);
//!
//! // Running again fills only what is missing: here, nothing.
//! assert_eq!(run(&checkpoints, &opts, &NoProgress)?.already, vec![0, 400]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod adapter;
pub mod arch;
mod checkpoint;
mod column;
mod engine;
mod error;
pub mod local;
pub mod outputs;
mod plan;
mod read_at;
mod safetensors;
mod shard;
mod sharded;
mod source;
mod tensor;
mod tensor_plan;
mod torch;

#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals;

pub use arch::Mapping;
pub use checkpoint::Checkpoint;
pub use column::Column;
pub use engine::{run, summarize_source, Output, RunOptions, RunReport, DEFAULT_CHUNK_BYTES, DEFAULT_MEMORY_BUDGET};
pub use error::{PickleError, SummarizeError, TorchError, ZipError};
pub use plan::{Dims, Ignored, Plan};
pub use read_at::ReadMethod;
pub use safetensors::{SafetensorsFile, SafetensorsStream};
pub use shard::{shard, ShardSpec};
pub use source::{StoredRows, TensorSink, WeightSource};
pub use tensor::{DType, TensorInfo};
