//! # ccc-core: the CCC tensor, its file format and shared types
//!
//! ccc shows how a network's weights evolve over training as a tensor `mags[c, t, k]`: residual-stream
//! **c**oordinates × **c**heckpoints × **c**omponents (docs/tensor.md). This crate holds that tensor
//! ([`CccTensor`]), the `ccc/1` safetensors file ([`file`](mod@file)), component names and order ([`Component`]), the row
//! summaries ([`Summary`]), step selections ([`StepSelection`]), groups records ([`Groups`]), merging
//! ([`merge()`]) and atomic file writing ([`atomic`]). Every other ccc crate builds on it.
//!
//! ```
//! use ccc_core::{file, CccMeta, CccTensor, Component, ComponentKind, Mode, Summary};
//! use ccc_core::ComponentKind::*;
//!
//! let components = Component::full_list(1, 2, 2, &[EmbIn, Q, K, V, O, MlpIn, MlpOut]);
//! let meta = CccMeta {
//!     model: "toy".into(), architecture: "gpt_neox".into(), mode: Mode::Full,
//!     n_layer: 1, n_head: 2, n_kv_head: 2, summary: Summary::MeanSq,
//!     components, duplicates: vec![], extra: Default::default(),
//! };
//! let lengths = vec![512, 8, 8, 8, 8, 8, 8, 8, 8, 32, 32];
//! let mut t = CccTensor::empty(meta, 16, vec![0, 1000], lengths)?;
//! t.set_column(1, &vec![0.5; 16 * 11])?;
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("toy.safetensors");
//! file::write(&path, &t)?;
//! let back = file::read(&path)?;
//! assert_eq!(back, t);
//! assert_eq!(back.filled_only().steps, vec![1000]);
//! # Ok::<(), ccc_core::CoreError>(())
//! ```
#![deny(missing_docs)]

pub mod atomic;
pub mod component;
pub mod error;
pub mod file;
pub mod groups;
pub mod layout;
mod merge;
pub mod meta;
pub mod progress;
pub mod step_name;
pub mod steps;
pub mod summary;
pub mod tensor;

pub use component::{Component, ComponentKind, ComponentPattern, Mode};
pub use error::{CoreError, Result};
pub use groups::Groups;
pub use merge::{merge, merge_files};
pub use meta::{CccMeta, Duplicate, FORMAT};
pub use progress::{NoProgress, Progress};
pub use step_name::{NameFilter, StepName};
pub use steps::StepSelection;
pub use summary::Summary;
pub use tensor::CccTensor;
