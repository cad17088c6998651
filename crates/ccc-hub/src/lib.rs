//! # ccc-hub: checkpoints straight from the Hugging Face hub
//!
//! Turns `hf:ORG/NAME[@REV]` inputs into [`ccc_summarize::Checkpoint`]s: revisions are chosen by step from the
//! repository's branches and tags, whose names are read by the step-name parser local run directories use too
//! ([`ccc_core::step_name`]; [`checkpoint::choose_revisions`]), and each checkpoint's weights are either streamed into
//! the summarizer as they download ([`stream::RemoteReader`]: verified by sha256, resumed with HTTP `Range` when the
//! connection breaks) or downloaded to disk one checkpoint at a time and deleted once summarized. Files already in
//! the user's hub cache are read there; [`fetch_snapshot`] keeps a revision there as a local directory (the base model
//! of an adapter run). The hub's conventions are followed: `HF_ENDPOINT`, `HF_TOKEN` or the token
//! file under `HF_HOME`, `HF_HUB_CACHE` ([`config::HubConfig`]). A listing without file sizes or hashes (some
//! mirrors) is completed from the `resolve` answers' headers ([`HubClient::file_meta`]).
//!
//! The tests run against a small hub on loopback with fault injection, `ccc_hub_testing::HubServer` (a
//! dev-only crate, so that no build of the library or of `ccc` compiles it):
//!
//! ```
//! use std::sync::Arc;
//! use ccc_hub_testing::{HubServer, TestRepo};
//! use ccc_hub::{HubClient, HubConfig};
//!
//! let mut repo = TestRepo::new("org/tiny");
//! repo.branch("step100", vec![("config.json".into(), b"{}".to_vec()), ("model.safetensors".into(), vec![0u8; 64])]);
//! let server = HubServer::start(vec![repo])?;
//! let env = |k: &str| (k == "HF_ENDPOINT").then(|| server.endpoint());
//! let client = Arc::new(HubClient::new(HubConfig::from_env(&env, None)?));
//! let branches = client.list_branches("org/tiny")?;
//! assert_eq!(branches[0].name, "step100");
//! let info = client.revision_info("org/tiny", "step100")?;
//! assert_eq!(info.siblings.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod adapters;
pub mod checkpoint;
pub mod client;
pub mod config;
pub mod download;
pub mod error;
pub mod files;
pub mod revision;
pub mod stream;

pub use adapters::fetch_adapter_run;
pub use checkpoint::{resolve, FetchMode, HubCheckpoint, HubOptions, Resolved, RevisionSelector};
pub use client::HubClient;
pub use config::{HubConfig, RetryPolicy, Token};
pub use download::fetch_snapshot;
pub use error::HubError;
pub use revision::{RepoSpec, RevisionTemplate};
