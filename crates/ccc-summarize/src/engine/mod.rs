//! The run driver: summarize many checkpoints (any [`Checkpoint`]) into `ccc/1` files, resumably.
//!
//! - Output files are filled in place ([`ccc_core::file::CccFile`]): each checkpoint's column is written and
//!   synced, then its `filled` flag; a run killed at any point leaves valid files that lose at most the
//!   checkpoints in flight. Running again fills only the missing steps; steps not yet in an existing file are
//!   added (the file is rewritten atomically once, then filled in place).
//! - Both modes come from one pass over the weights.
//! - Checkpoints are processed by several jobs when there are several cores and the memory budget holds their
//!   columns, each streaming with bounded memory; one writer thread writes the finished columns.
//! - Identical checkpoints (same [`Checkpoint::content_id`], or the same summarized column) are reported as
//!   warnings and recorded in the files' `duplicates` metadata.
//!
//! The parts: `outputs` (the files, checked, created or extended), `memory` (the memory model: what a job holds,
//! how many jobs and finished columns the budget allows), `schedule` (the jobs and the writer thread), `job` (one
//! checkpoint, summarized), `write` (the write policy: what is written when, and synced in which order) and
//! `duplicates` (column hashes and the duplicates they find).

mod duplicates;
mod job;
mod memory;
mod outputs;
mod schedule;
mod write;

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Instant;

use ccc_core::{Duplicate, Mode, Progress, Summary};

pub use job::summarize_source;
pub use memory::DEFAULT_MEMORY_BUDGET;

use crate::arch::Mapping;
use crate::checkpoint::Checkpoint;
use crate::error::SummarizeError;
use crate::plan::Plan;
use crate::source::WeightSource;
use crate::tensor::TensorInfo;

/// Default bytes per chunk handed to the summarizer.
pub const DEFAULT_CHUNK_BYTES: usize = 32 << 20;

/// One output file of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Full or compact.
    pub mode: Mode,
    /// Where it is written.
    pub path: PathBuf,
}

/// Options of a run, validated by the caller (the CLI) before any work starts.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The files to write (one per mode; both modes come from one pass).
    pub outputs: Vec<Output>,
    /// The row summary.
    pub summary: Summary,
    /// Whether to summarize the norm gains.
    pub norms: bool,
    /// Continue (recording the tensor) when a weight is NaN or Inf.
    pub allow_nonfinite: bool,
    /// A mapping to use instead of detecting the architecture from config.json.
    pub mapping: Option<Mapping>,
    /// The `model` metadata (free text, e.g. a hub id or a directory name).
    pub model: String,
    /// Bytes per chunk read at a time (memory per job is about this).
    pub chunk_bytes: usize,
    /// Checkpoints summarized at once; `None`: as many as cores, at most 4, within `memory_budget`.
    pub jobs: Option<NonZeroUsize>,
    /// Bytes the checkpoints in flight may hold together when `jobs` is automatic, by the engine's estimate of
    /// what one checkpoint in flight holds (its column in both modes, the components being read, the mapped
    /// chunks); at least one checkpoint is always summarized, whatever its size.
    pub memory_budget: u64,
}

impl RunOptions {
    /// Options with defaults (`mean_sq`, norms, chunk size, automatic jobs) for the given outputs.
    pub fn new(outputs: Vec<Output>, model: impl Into<String>) -> Self {
        RunOptions {
            outputs,
            summary: Summary::MeanSq,
            norms: true,
            allow_nonfinite: false,
            mapping: None,
            model: model.into(),
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            jobs: None,
            memory_budget: DEFAULT_MEMORY_BUDGET,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunReport {
    /// The architecture used (empty when nothing had to be computed).
    pub architecture: String,
    /// Steps summarized in this run.
    pub computed: Vec<i64>,
    /// Steps already filled in every output (skipped).
    pub already: Vec<i64>,
    /// Duplicates found in this run (also recorded in the files).
    pub duplicates: Vec<Duplicate>,
    /// Tensors with NaN/Inf, by step (only with `allow_nonfinite`).
    pub nonfinite: Vec<(i64, String)>,
    /// Weight bytes read.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

/// Summarize `checkpoints` into the output files of `opts`.
///
/// Steps must be distinct. Steps already filled in every output are skipped; if all are, nothing is opened. The
/// architecture is detected from the first checkpoint to compute (or taken from `opts.mapping`); every other
/// checkpoint must give the same components. On error, files created by this run that have no filled column
/// are removed; filled columns are kept (run again to resume).
pub fn run(
    checkpoints: &[Box<dyn Checkpoint>],
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport, SummarizeError> {
    let t0 = Instant::now();
    if opts.outputs.is_empty() {
        return Err(SummarizeError::InvalidOption("no output file given".into()));
    }
    if checkpoints.is_empty() {
        return Err(SummarizeError::InvalidOption("no checkpoints to summarize".into()));
    }
    let mut by_step: BTreeMap<i64, usize> = BTreeMap::new();
    for (i, c) in checkpoints.iter().enumerate() {
        if let Some(j) = by_step.insert(c.step(), i) {
            return Err(SummarizeError::InvalidOption(format!(
                "two checkpoints have step {}: {} and {}",
                c.step(),
                checkpoints[j].label(),
                c.label()
            )));
        }
    }
    let done = outputs::filled_in_all(&opts.outputs)?;
    let mut report = RunReport::default();
    let todo: Vec<&dyn Checkpoint> = by_step
        .values()
        .map(|&i| checkpoints[i].as_ref())
        .filter(|c| {
            let skip = done.contains(&c.step());
            if skip {
                report.already.push(c.step());
            }
            !skip
        })
        .collect();
    if todo.is_empty() {
        report.seconds = t0.elapsed().as_secs_f64();
        return Ok(report);
    }

    // The plan, from the first checkpoint to compute.
    let first = todo[0];
    let config = first.config()?;
    let first_source = first.open()?;
    let plan = first
        .plan(&config, first_source.tensors(), opts.mapping.as_ref(), opts.norms)
        .map_err(|e| context(first, e))?;
    report.architecture = plan.architecture.clone();

    let steps: Vec<i64> = by_step.keys().copied().collect();
    let mut outputs = outputs::Outputs::prepare(&plan, opts, &steps, &first.provenance())?;
    let run_plan = RunPlan { plan, config, tensors: first_source.tensors().to_vec() };
    let result = run_inner(&todo, first_source, &run_plan, opts, &mut outputs, progress, &mut report);
    progress.finish();
    if let Err(e) = result {
        outputs.cleanup();
        return Err(e);
    }
    report.seconds = t0.elapsed().as_secs_f64();
    Ok(report)
}

/// Summarize `todo` (checkpoints with the same content id as an earlier one are copied, not read again), then
/// find and record the duplicates.
fn run_inner(
    todo: &[&dyn Checkpoint],
    first_source: Box<dyn WeightSource>,
    plan: &RunPlan,
    opts: &RunOptions,
    outputs: &mut outputs::Outputs,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), SummarizeError> {
    let (primary, copies) = duplicates::by_content_id(todo);
    let total: u64 = primary.iter().map(|c| c.size_hint()).sum();
    progress.start("summarize", total, "bytes");
    let written = schedule::summarize_all(&primary, first_source, plan, opts, outputs, progress)?;
    duplicates::record(outputs.get()?, written, &copies, progress, report)
}

/// The run's plan, with the config and tensor list it was built from: a checkpoint with the same ones gets the
/// same plan, so it is not built again.
pub(super) struct RunPlan {
    pub(super) plan: Plan,
    config: serde_json::Value,
    tensors: Vec<TensorInfo>,
}

impl RunPlan {
    /// Whether a checkpoint with this config and these tensors (names, dtypes, shapes, in order) has this plan.
    pub(super) fn fits(&self, config: &serde_json::Value, tensors: &[TensorInfo]) -> bool {
        self.tensors.as_slice() == tensors && &self.config == config
    }
}

/// `e` with the checkpoint named, for errors that do not name a file.
fn context(c: &dyn Checkpoint, e: SummarizeError) -> SummarizeError {
    match e {
        SummarizeError::Shape(m) => SummarizeError::Shape(format!("{}: {m}", c.label())),
        SummarizeError::UnknownArchitecture(m) => SummarizeError::UnknownArchitecture(format!("{}: {m}", c.label())),
        other => other,
    }
}

/// The error of a thread that failed without one of its own (it panicked, or a lock was poisoned).
fn poisoned() -> SummarizeError {
    SummarizeError::InvalidOption("internal error: a worker failed".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::DType;

    /// The run's plan is reused only for the same config and the same tensors (names, dtypes, shapes, in order).
    #[test]
    fn run_plan_fits_only_the_same_config_and_tensors() {
        let cfg = serde_json::json!({"model_type": "gpt_neox", "hidden_size": 8, "num_attention_heads": 2,
            "num_hidden_layers": 1, "vocab_size": 16, "tie_word_embeddings": false});
        let t = |name: &str, shape: Vec<usize>| TensorInfo { name: name.into(), dtype: DType::F32, shape };
        let tensors = vec![
            t("gpt_neox.embed_in.weight", vec![16, 8]),
            t("embed_out.weight", vec![16, 8]),
            t("gpt_neox.layers.0.attention.query_key_value.weight", vec![24, 8]),
            t("gpt_neox.layers.0.attention.dense.weight", vec![8, 8]),
            t("gpt_neox.layers.0.mlp.dense_h_to_4h.weight", vec![32, 8]),
            t("gpt_neox.layers.0.mlp.dense_4h_to_h.weight", vec![8, 32]),
        ];
        let plan = Plan::for_checkpoint(&cfg, &tensors, None, true).unwrap();
        let rp = RunPlan { plan, config: cfg.clone(), tensors: tensors.clone() };
        assert!(rp.fits(&cfg, &tensors));
        let mut other = tensors.clone();
        other[3].shape = vec![8, 4];
        assert!(!rp.fits(&cfg, &other), "a different shape");
        other = tensors.clone();
        other[0].dtype = DType::BF16;
        assert!(!rp.fits(&cfg, &other), "a different dtype");
        assert!(!rp.fits(&cfg, &tensors[..5]), "a tensor fewer");
        let mut cfg2 = cfg.clone();
        cfg2["num_attention_heads"] = 4.into();
        assert!(!rp.fits(&cfg2, &tensors), "a different config");
    }
}
