//! One checkpoint to summarize, wherever it lives (a local directory, a hub revision being downloaded).

use crate::adapter::AdapterCheckpoint;
use crate::arch::Mapping;
use crate::error::SummarizeError;
use crate::plan::Plan;
use crate::source::WeightSource;
use crate::tensor::TensorInfo;

/// One checkpoint to summarize: its step, its config, and a way to open its weights.
///
/// Local directories and hub revisions both implement this, so the run driver never knows where weights live.
pub trait Checkpoint: Send + Sync {
    /// The training step.
    fn step(&self) -> i64;

    /// A label for messages: the directory, or `hf:org/name@rev`.
    fn label(&self) -> String;

    /// The parsed `config.json`.
    fn config(&self) -> Result<serde_json::Value, SummarizeError>;

    /// Approximate size of the weights in bytes (for sharding and progress); 0 when unknown.
    fn size_hint(&self) -> u64;

    /// Open the weights for streaming (a remote checkpoint may start downloading here).
    fn open(&self) -> Result<Box<dyn WeightSource>, SummarizeError>;

    /// A content identity known before reading the weights (e.g. the hub's sha256 of the weight files), used to
    /// detect duplicate checkpoints without reading or downloading them.
    fn content_id(&self) -> Option<String> {
        None
    }

    /// Whether to summarize the checkpoint again after summarizing it failed with `err` for the `attempt`-th time
    /// (1, 2, …), the failed attempt's column being discarded: e.g. weights streamed from the network whose
    /// checksum, known only at their end, did not match. By default nothing is retried.
    fn retry_after(&self, _err: &SummarizeError, _attempt: u32) -> bool {
        false
    }

    /// The plan of this checkpoint, from its `config` and the `tensors` of its opened source. By default
    /// [`Plan::for_checkpoint`] (every component of the architecture); a LoRA adapter in delta mode plans only the
    /// components it changes. It must depend only on its arguments: the run reuses the first checkpoint's plan for
    /// every checkpoint with the same config and tensors.
    fn plan(
        &self,
        config: &serde_json::Value,
        tensors: &[TensorInfo],
        mapping: Option<&Mapping>,
        norms: bool,
    ) -> Result<Plan, SummarizeError> {
        Plan::for_checkpoint(config, tensors, mapping, norms)
    }

    /// Metadata the checkpoint's values depend on beyond its plan, stored in the output file's `__metadata__`:
    /// an adapter's mode (`adapter`: `merged` or `delta`) and base (`adapter_base`). Empty by default.
    fn provenance(&self) -> std::collections::BTreeMap<String, String> {
        std::collections::BTreeMap::new()
    }

    /// A LoRA adapter in merged mode (`W0 + ΔW`): a run of adapters of one base is summarized in batches, each
    /// from one pass over the base (see [`crate::adapter::summarize_batch`]), instead of reading the base once per
    /// checkpoint.
    fn merged_adapter(&self) -> Option<&AdapterCheckpoint> {
        None
    }

    /// Called once the checkpoint has been summarized (e.g. to delete downloaded files).
    fn done(&self) -> Result<(), SummarizeError> {
        Ok(())
    }
}
