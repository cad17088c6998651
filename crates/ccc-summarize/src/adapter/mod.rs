//! PEFT LoRA adapter runs: a run directory of `checkpoint-N/` folders, each with `adapter_config.json` and
//! `adapter_model.safetensors` (or `.bin`), summarized against the base model they were trained from (`--base`).
//!
//! - **merged** ([`AdapterMode::Merged`]): `W0 + ΔW` for every component of the base (its architecture and head
//!   layout); the base is streamed with ΔW added to the rows of the adapted weights.
//! - **delta** ([`AdapterMode::Delta`]): ΔW alone, for the components the adapter changes (the base's names; a
//!   component with unadapted tensors too counts their ΔW as zeros, so its length is the base's). The base's
//!   weights are not read at all, only its tensor list. For `mean_sq`, `l2sq` and `l2` the rows of
//!   `ΔW = s·B·A` are never built: a row's sum of squares is `s² bᵢᵀ (A Aᵀ) bᵢ` (or `s² aⱼᵀ (BᵀB) aⱼ` for a
//!   column), an `r × r` Gram matrix per head or component and `r²` per coordinate. `l1` and `max_abs` need the
//!   entries, so ΔW is built a chunk of rows at a time.
//!
//! `ΔW = s·B·A` with `s = lora_alpha / r` (`lora_alpha / √r` with `use_rslora`), per module from `rank_pattern` /
//! `alpha_pattern`, transposed for `fan_in_fan_out` weights (GPT-2 `Conv1D`) and embeddings. A DoRA adapter
//! (`use_dora`) has a magnitude vector `m` per module: its weight is `m · (W0 + ΔW) / ‖W0 + ΔW‖` row by row
//! (PEFT's merge), so its delta mode (that weight less W0) streams the base too, and has no fast path.

mod batch;
mod config;
mod source;
mod weights;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ccc_core::{NameFilter, StepName, StepSelection};

pub use batch::{summarize_batch, Member};
pub use config::{AdapterConfig, PeftType, TargetModules};
#[cfg(feature = "internals")]
pub(crate) use {source::sums_sq, weights::Delta};

use crate::arch::Mapping;
use crate::checkpoint::Checkpoint;
use crate::error::SummarizeError;
use crate::local::LocalCheckpoint;
use crate::plan::Plan;
use crate::read_at::ReadMethod;
use crate::source::WeightSource;
use crate::tensor::{DType, TensorInfo};
use crate::tensor_plan::TensorPlan;

/// The file that makes a directory a PEFT adapter.
pub const ADAPTER_CONFIG: &str = "adapter_config.json";

/// What is summarized of a LoRA checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdapterMode {
    /// `W0 + ΔW`, every component of the base.
    Merged,
    /// `ΔW` alone, the adapted components.
    Delta,
}

impl AdapterMode {
    /// `merged` or `delta`.
    pub fn name(self) -> &'static str {
        match self {
            AdapterMode::Merged => "merged",
            AdapterMode::Delta => "delta",
        }
    }
}

impl fmt::Display for AdapterMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AdapterMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "merged" => Ok(AdapterMode::Merged),
            "delta" => Ok(AdapterMode::Delta),
            _ => Err(format!("unknown adapter mode `{s}` (expected merged or delta)")),
        }
    }
}

/// Whether `dir` is a PEFT adapter checkpoint (it has `adapter_config.json`), or a run directory whose
/// subdirectories are.
pub fn is_adapter_run(dir: &Path) -> bool {
    first_adapter_config(dir).is_some()
}

/// The `adapter_config.json` of `dir`, or of its first subdirectory (by name) that has one.
pub fn first_adapter_config(dir: &Path) -> Option<PathBuf> {
    let own = dir.join(ADAPTER_CONFIG);
    if own.is_file() {
        return Some(own);
    }
    let mut found: Vec<PathBuf> =
        std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path().join(ADAPTER_CONFIG)).filter(|p| p.is_file()).collect();
    found.sort();
    found.into_iter().next()
}

/// The base model of an adapter run: its config, its tensor list and its plan, read once for the run.
#[derive(Debug)]
pub struct Base {
    checkpoint: LocalCheckpoint,
    tensors: Vec<TensorInfo>,
    plan: Plan,
    /// Passes over the weights so far (see [`Base::passes`]).
    passes: AtomicUsize,
}

impl Base {
    /// Open the base model's checkpoint directory (`config.json` and weights), with `mapping` instead of the
    /// detected architecture if given.
    pub fn open(dir: &Path, mapping: Option<&Mapping>, read: ReadMethod) -> Result<Arc<Base>, SummarizeError> {
        let checkpoint = LocalCheckpoint::open(dir, None)?.with_read_method(read);
        let tensors = checkpoint.open()?.tensors().to_vec();
        let config = checkpoint.config()?;
        let plan = Plan::for_checkpoint(&config, &tensors, mapping, true)
            .map_err(|e| SummarizeError::Shape(format!("base model {}: {e}", dir.display())))?;
        Ok(Arc::new(Base { checkpoint, tensors, plan, passes: AtomicUsize::new(0) }))
    }

    /// The base's directory.
    pub fn dir(&self) -> &Path {
        self.checkpoint.dir()
    }

    /// How many times the base's weights have been streamed for merged adapters: once per batch of them (see
    /// [`summarize_batch`]), once per checkpoint for an adapter summarized alone.
    pub fn passes(&self) -> usize {
        self.passes.load(Ordering::Relaxed)
    }

    fn count_pass(&self) {
        self.passes.fetch_add(1, Ordering::Relaxed);
    }

    /// Bytes of the base's weight files.
    pub fn weight_bytes(&self) -> u64 {
        self.checkpoint.size_hint()
    }

    /// The base model's plan (every component, as for the base itself).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
}

/// One adapted base weight, as `ccc inspect` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Adapted {
    /// The base weight's tensor name.
    pub weight: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// The adapter's rank for it.
    pub rank: usize,
    /// The scaling `s` of ΔW = s·B·A.
    pub scale: f64,
    /// The components of the base it feeds (none: it is not a summarized weight).
    pub components: Vec<String>,
    /// Whether it has a DoRA magnitude vector.
    pub dora: bool,
    /// Whether the adapter holds a whole trained copy of it (`modules_to_save`; `rank` is then 0).
    pub full_copy: bool,
}

/// One LoRA checkpoint of a run, summarized against its base.
#[derive(Debug, Clone)]
pub struct AdapterCheckpoint {
    dir: PathBuf,
    step: i64,
    base: Arc<Base>,
    mode: AdapterMode,
    config: AdapterConfig,
    size: u64,
    read: ReadMethod,
}

impl AdapterCheckpoint {
    /// Open an adapter directory: read and check `adapter_config.json` (a LoRA adapter) and find its weights.
    /// `step` defaults to the number in the directory's name, or 0.
    pub fn open(
        dir: &Path,
        step: Option<i64>,
        base: Arc<Base>,
        mode: AdapterMode,
    ) -> Result<AdapterCheckpoint, SummarizeError> {
        let bad = |reason: &str| SummarizeError::BadAdapter { path: dir.into(), reason: reason.into() };
        if !dir.is_dir() {
            return Err(bad("no such directory"));
        }
        let cfg = dir.join(ADAPTER_CONFIG);
        if !cfg.is_file() {
            return Err(bad("no adapter_config.json: not a PEFT adapter checkpoint"));
        }
        let config = AdapterConfig::load(&cfg)?;
        let file =
            weights::weights_file(dir).ok_or_else(|| bad("no adapter_model.safetensors or adapter_model.bin"))?;
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        let step = step.or_else(|| dir.file_name().and_then(|n| StepName::parse(&n.to_string_lossy())).map(|s| s.step));
        let read = ReadMethod::default();
        Ok(AdapterCheckpoint { dir: dir.into(), step: step.unwrap_or(0), base, mode, config, size, read })
    }

    /// Read the weights by `method` (mapped by default).
    pub fn with_read_method(mut self, method: ReadMethod) -> Self {
        self.read = method;
        self
    }

    /// The adapter's configuration.
    pub fn adapter_config(&self) -> &AdapterConfig {
        &self.config
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The base weights this adapter changes, with rank, scaling and the components they feed (reads the
    /// adapter's weights and checks them against the base).
    pub fn adapted(&self) -> Result<Vec<Adapted>, SummarizeError> {
        let w = weights::load(&self.dir, &self.config, &self.base.tensors, self.read)?;
        let plan = &self.base.plan;
        Ok(w.deltas
            .iter()
            .map(|(name, d)| {
                let shape = self.base.tensors.iter().find(|t| &t.name == name).map(|t| t.shape.clone());
                let components = slots_of(plan.tensors.get(name)).map(|s| plan.components[s].name()).collect();
                Adapted {
                    weight: name.clone(),
                    shape: shape.unwrap_or_default(),
                    rank: d.rank,
                    scale: d.scale,
                    components,
                    dora: d.magnitude.is_some(),
                    full_copy: d.full.is_some(),
                }
            })
            .collect())
    }

    fn deltas(&self) -> Result<weights::AdapterWeights, SummarizeError> {
        weights::load(&self.dir, &self.config, &self.base.tensors, self.read)
    }

    /// Delta mode's tensors: the adapted weights and the other weights feeding the same components, as f32.
    fn delta_infos(&self, adapted: &BTreeMap<String, weights::Delta>) -> Vec<TensorInfo> {
        let plan = &self.base.plan;
        let slots: BTreeSet<usize> = adapted.keys().flat_map(|n| slots_of(plan.tensors.get(n))).collect();
        self.base
            .tensors
            .iter()
            .filter(|t| {
                adapted.contains_key(&t.name) || slots_of(plan.tensors.get(&t.name)).any(|s| slots.contains(&s))
            })
            .map(|t| TensorInfo { dtype: DType::F32, ..t.clone() })
            .collect()
    }
}

fn slots_of(tp: Option<&TensorPlan>) -> impl Iterator<Item = usize> + '_ {
    let (segs, norm) = match tp {
        Some(TensorPlan::Matrix { segments, .. }) => (segments.as_slice(), None),
        Some(TensorPlan::Norm { slot }) => (&[][..], Some(*slot)),
        None => (&[][..], None),
    };
    segs.iter().map(|s| s.slot).chain(norm)
}

impl Checkpoint for AdapterCheckpoint {
    fn step(&self) -> i64 {
        self.step
    }

    fn label(&self) -> String {
        self.dir.display().to_string()
    }

    fn config(&self) -> Result<serde_json::Value, SummarizeError> {
        self.base.checkpoint.config()
    }

    fn size_hint(&self) -> u64 {
        match self.mode {
            AdapterMode::Delta if !self.config.use_dora && self.config.modules_to_save.is_empty() => self.size,
            _ => self.size + self.base.checkpoint.size_hint(),
        }
    }

    fn open(&self) -> Result<Box<dyn WeightSource>, SummarizeError> {
        let w = self.deltas()?;
        let label = format!("{} ({} of {})", self.dir.display(), self.mode, self.base.dir().display());
        let deltas = Arc::new(w.deltas);
        Ok(match self.mode {
            AdapterMode::Delta if deltas.values().any(|d| d.needs_base()) => {
                // DoRA's ΔW, and a whole trained copy's, is the merged weight less W0: the base is streamed, as
                // in merged mode.
                let infos = self.delta_infos(&deltas);
                let base = self.base.checkpoint.open()?;
                let mut src = source::MergedSource::new(base, self.base.clone(), label, deltas, w.bytes);
                src.infos = infos;
                src.delta_only = true;
                Box::new(src)
            }
            AdapterMode::Delta => {
                let infos = self.delta_infos(&deltas);
                Box::new(source::DeltaSource { label, infos, deltas, bytes: w.bytes })
            }
            AdapterMode::Merged => {
                let base = self.base.checkpoint.open()?;
                Box::new(source::MergedSource::new(base, self.base.clone(), label, deltas, w.bytes))
            }
        })
    }

    fn provenance(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("adapter".to_string(), self.mode.name().to_string()),
            ("adapter_base".to_string(), self.base.dir().display().to_string()),
        ])
    }

    fn merged_adapter(&self) -> Option<&AdapterCheckpoint> {
        (self.mode == AdapterMode::Merged).then_some(self)
    }

    fn plan(
        &self,
        config: &serde_json::Value,
        tensors: &[TensorInfo],
        mapping: Option<&Mapping>,
        norms: bool,
    ) -> Result<Plan, SummarizeError> {
        match self.mode {
            AdapterMode::Merged => Plan::for_checkpoint(config, tensors, mapping, norms),
            AdapterMode::Delta => {
                let detected;
                let m = match mapping {
                    Some(m) => m,
                    None => {
                        detected = Mapping::detect(config)?;
                        &detected
                    }
                };
                Plan::partial(m, config, tensors, norms)
            }
        }
    }
}

/// The adapter checkpoints found under the inputs.
#[derive(Debug, Default)]
pub struct AdapterDiscovery {
    /// Checkpoints, sorted by step.
    pub checkpoints: Vec<AdapterCheckpoint>,
    /// Step-named subdirectories that hold no adapter, and the reason.
    pub skipped: Vec<(PathBuf, &'static str)>,
    /// Step directories left out by the step selection or the name filter.
    pub unselected: Vec<PathBuf>,
}

/// Find the adapter checkpoints under `inputs`: each is an adapter directory (it has `adapter_config.json`) or a
/// run directory of step-named ones (`checkpoint-500`, …), chosen by `names` and `steps`, all summarized
/// against `base` in `mode`. Two checkpoints with the same step are an error.
pub fn discover(
    inputs: &[PathBuf],
    steps: &StepSelection,
    names: &NameFilter,
    base: &Arc<Base>,
    mode: AdapterMode,
) -> Result<AdapterDiscovery, SummarizeError> {
    let mut out = AdapterDiscovery::default();
    for input in inputs {
        if input.join(ADAPTER_CONFIG).is_file() || !input.is_dir() {
            let c = AdapterCheckpoint::open(input, None, base.clone(), mode)?;
            if steps.contains(c.step) {
                out.checkpoints.push(c);
            } else {
                out.unselected.push(input.clone());
            }
            continue;
        }
        let entries = std::fs::read_dir(input).map_err(|source| SummarizeError::Io { path: input.clone(), source })?;
        let mut subdirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        subdirs.sort();
        let mut found = 0;
        for sub in subdirs {
            let name = sub.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let Some(step) = StepName::parse(&name).map(|s| s.step) else { continue };
            if !sub.join(ADAPTER_CONFIG).is_file() {
                out.skipped.push((sub, "no adapter_config.json"));
            } else if !names.matches(&name) || !steps.contains(step) {
                out.unselected.push(sub);
            } else if weights::weights_file(&sub).is_none() {
                out.skipped.push((sub, "no adapter_model.safetensors or adapter_model.bin"));
            } else {
                out.checkpoints.push(AdapterCheckpoint::open(&sub, Some(step), base.clone(), mode)?);
                found += 1;
            }
        }
        if found == 0 && out.unselected.is_empty() {
            return Err(SummarizeError::BadAdapter {
                path: input.clone(),
                reason: "neither a PEFT adapter (no adapter_config.json) nor a run directory of adapter checkpoints \
                         (checkpoint-500/adapter_config.json, …)"
                    .into(),
            });
        }
    }
    out.checkpoints.sort_by_key(|c| c.step);
    if let Some(w) = out.checkpoints.windows(2).find(|w| w[0].step == w[1].step) {
        return Err(SummarizeError::InvalidOption(format!(
            "two adapter checkpoints have step {}: {} and {}",
            w[0].step,
            w[0].dir.display(),
            w[1].dir.display()
        )));
    }
    Ok(out)
}
