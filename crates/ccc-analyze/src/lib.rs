//! # ccc-analyze: classifications, trajectories and scores
//!
//! The analysis stage of ccc (docs/analysis.md). From a CCC tensor `mags[c, t, k]` it
//! 1. computes `prep`, the classifiers' input ([`prep`]), in `f32`;
//! 2. runs the 40 classification pipelines of docs/analysis.md §4 ([`pipeline`]) — typed chains of the building blocks of
//!    §3: reductions over checkpoints, matrix normalizations, foldings (one `f32` GEMM each, [`fold`]),
//!    clusterers ([`cluster`]), SVD signs, MAD splits ([`robust`]) — sharing every intermediate that has the same
//!    input ([`classify`]);
//! 3. turns them into the 301 experiments of §5, completing component-only groupings with the trajectory outlier
//!    methods of §6 ([`outliers`]), and scores each ([`score`](mod@score): irregularity of the inliers' 2-D flow, fraction of
//!    outliers) on the 2-D [`trajectories`];
//! 4. summarizes them (§8) and writes `experiments.json`, `scores.csv`, `summary.json` ([`output`]).
//!
//! The analysis files — those three and the figures' `figures/index.json` — are each defined once, by typed
//! Serialize + Deserialize owners in [`files`], which every writer and reader uses (schema in `docs/outputs.md`).
//!
//! Everything random draws from one seeded `ChaCha8Rng` (one stream per task), so the same input and seed give
//! the same result, whatever the number of threads.
//!
//! ```
//! use ccc_analyze::outliers::OutlierMethod;
//! use ccc_analyze::{score, Trajectories};
//! use rand::SeedableRng;
//!
//! // Five coordinates moving right in step, one of them (4) far off at the last checkpoint.
//! let (n_coord, n_ckpt) = (5, 4);
//! let mut x = Vec::new();
//! let mut y = Vec::new();
//! for c in 0..n_coord {
//!     for t in 0..n_ckpt {
//!         x.push(t as f64);
//!         y.push(c as f64 * 0.1 + if c == 4 && t == 3 { 9.0 } else { 0.0 });
//!     }
//! }
//! let tr = Trajectories { n_coord, n_ckpt, x, y };
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let out = OutlierMethod::LastDif.apply(&tr, &mut rng);
//! assert_eq!(out, vec![4]);
//! let s = score(&tr, &[0, 1, 2, 3], out.len(), 100);
//! assert!(s.irregularity.unwrap() < 1e-5); // parallel steps: a regular flow (0 up to the 1e-6 guard)
//! assert_eq!(s.fraction, 0.2);
//! ```
//!
//! [`analyze`] runs the whole analysis on a tensor; [`Analysis::write_to`] writes its files.
#![deny(missing_docs)]

pub mod analysis;
mod blockwise;
pub mod classify;
pub mod cluster;
pub mod consensus;
pub mod error;
pub mod experiments;
pub mod files;
pub mod fold;
mod matrix;
pub mod outliers;
pub mod output;
pub mod pipeline;
pub mod prep;
pub mod resume;
mod rng;
pub mod robust;
pub mod score;
pub mod search;
pub mod shard;
mod staged;
pub mod timeline;
mod timing;
pub mod trajectory;
pub mod view;

pub use analysis::{
    analysis_input, analyze, analyze_mapped, check_groups, score_groups, Analysis, AnalyzeOptions, ReadMode, Reading,
    IN_MEMORY_MAX_BYTES,
};
pub use blockwise::DEFAULT_BLOCK_BYTES;
pub use classify::PipelineResult;
pub use error::AnalyzeError;
pub use experiments::Experiment;
pub use files::{FilesError, Source, Status};
pub use outliers::OutlierMethod;
pub use pipeline::{Chain, Pipeline};
pub use score::{flow_field, score, FlowField, Scores};
pub use search::{search, Budget, NullMethod, SearchOptions, SearchResult};
pub use shard::Shard;
pub use trajectory::{trajectories, Aggregation, Trajectories};
pub use view::MappedTensor;
