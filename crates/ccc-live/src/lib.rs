//! # ccc-live: following a training run as it writes checkpoints
//!
//! The CCC tensor of a run that is still training grows by one checkpoint at a time (in place, docs/tensor.md
//! §6.5). [`Live`] adds a checkpoint directory to a run's tensor, analyzes the tensor every few checkpoints and
//! says what changed since the previous analysis (coordinates newly outliers by consensus, components that
//! switched group; [`ccc_analyze::consensus`]), writing a self-reloading report when asked. [`follow`] watches a
//! run directory and feeds [`Live`] each checkpoint once it is complete ([`complete`]): `ccc watch` is this loop.
#![deny(missing_docs)]

pub mod complete;
mod error;
mod follow;
mod live;

pub use error::LiveError;
pub use follow::{follow, Event, FollowOptions, Stop};
pub use live::{Live, LiveOptions, Update};
