//! Local checkpoints: a directory with `config.json` and weights, and the discovery of step-named directories.

use std::path::{Path, PathBuf};

use ccc_core::StepSelection;

use crate::checkpoint::Checkpoint;
use crate::error::SummarizeError;
use crate::read_at::ReadMethod;
use crate::safetensors::SafetensorsFile;
use crate::sharded::open_index;
use crate::source::WeightSource;

/// Where a checkpoint directory keeps its weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightFiles {
    /// One safetensors file.
    Safetensors(PathBuf),
    /// Safetensors shards listed by an index (`model.safetensors.index.json`).
    SafetensorsIndex(PathBuf),
    /// One PyTorch file (`pytorch_model.bin`, `*.pt`).
    Torch(PathBuf),
    /// PyTorch shards listed by an index (`pytorch_model.bin.index.json`).
    TorchIndex(PathBuf),
}

impl WeightFiles {
    /// Find the weights of a checkpoint directory: `model.safetensors`, `model.safetensors.index.json`,
    /// `pytorch_model.bin`, `pytorch_model.bin.index.json` (in that order), else the only `*.safetensors`, else
    /// the only `*.bin`/`*.pt`.
    pub fn find(dir: &Path) -> Result<Self, SummarizeError> {
        let named = [
            ("model.safetensors", WeightFiles::Safetensors as fn(PathBuf) -> WeightFiles),
            ("model.safetensors.index.json", WeightFiles::SafetensorsIndex),
            ("pytorch_model.bin", WeightFiles::Torch),
            ("pytorch_model.bin.index.json", WeightFiles::TorchIndex),
        ];
        for (name, make) in named {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(make(p));
            }
        }
        let mut st = Vec::new();
        let mut pt = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|source| SummarizeError::Io { path: dir.into(), source })?;
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if !p.is_file() {
                continue;
            }
            if name.ends_with(".safetensors") {
                st.push(p);
            } else if (name.ends_with(".bin") || name.ends_with(".pt"))
                && !matches!(name.as_str(), "training_args.bin" | "optimizer.pt" | "scheduler.pt" | "rng_state.pth")
            {
                pt.push(p);
            }
        }
        match (st.len(), pt.len()) {
            (1, _) => Ok(WeightFiles::Safetensors(st.remove(0))),
            (0, 1) => Ok(WeightFiles::Torch(pt.remove(0))),
            (0, 0) => Err(SummarizeError::BadCheckpoint {
                path: dir.into(),
                reason:
                    "no weights found (expected model.safetensors, model.safetensors.index.json or pytorch_model.bin)"
                        .into(),
            }),
            _ => Err(SummarizeError::BadCheckpoint {
                path: dir.into(),
                reason: "several weight files and no index; expected model.safetensors or an *.index.json".into(),
            }),
        }
    }

    /// Open the weights as one source, mapped (see [`WeightFiles::open_with`]).
    pub fn open(&self) -> Result<Box<dyn WeightSource>, SummarizeError> {
        self.open_with(ReadMethod::default())
    }

    /// Open the weights as one source, read by `method`.
    pub fn open_with(&self, method: ReadMethod) -> Result<Box<dyn WeightSource>, SummarizeError> {
        let safetensors = move |f: &Path| Ok(Box::new(SafetensorsFile::open_with(f, method)?) as Box<dyn WeightSource>);
        let torch = move |f: &Path| crate::torch::open_source_with(f, method);
        match self {
            WeightFiles::Safetensors(p) => safetensors(p),
            WeightFiles::Torch(p) => torch(p),
            WeightFiles::SafetensorsIndex(p) => Ok(Box::new(open_index(p, &safetensors)?)),
            WeightFiles::TorchIndex(p) => Ok(Box::new(open_index(p, &torch)?)),
        }
    }

    /// The files holding weights (the index's shards for a sharded checkpoint, when readable).
    pub fn files(&self) -> Vec<PathBuf> {
        match self {
            WeightFiles::Safetensors(p) | WeightFiles::Torch(p) => vec![p.clone()],
            WeightFiles::SafetensorsIndex(p) | WeightFiles::TorchIndex(p) => {
                let dir = p.parent().unwrap_or(Path::new(".")).to_path_buf();
                let shards = std::fs::read_to_string(p)
                    .ok()
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .and_then(|v| {
                        v.get("weight_map").and_then(|m| m.as_object()).map(|m| {
                            let mut f: Vec<String> =
                                m.values().filter_map(|v| v.as_str().map(str::to_string)).collect();
                            f.sort();
                            f.dedup();
                            f
                        })
                    })
                    .unwrap_or_default();
                shards.into_iter().map(|f| dir.join(f)).collect()
            }
        }
    }
}

/// A checkpoint directory on local disk.
#[derive(Debug, Clone)]
pub struct LocalCheckpoint {
    dir: PathBuf,
    step: i64,
    config: serde_json::Value,
    weights: WeightFiles,
    size: u64,
    read: ReadMethod,
}

impl LocalCheckpoint {
    /// Open a checkpoint directory: read `config.json` and find the weights. `step` defaults to the number in the
    /// directory's name (see [`parse_step`]), or 0 when it has none.
    pub fn open(dir: &Path, step: Option<i64>) -> Result<Self, SummarizeError> {
        let bad = |reason: String| SummarizeError::BadCheckpoint { path: dir.into(), reason };
        if !dir.exists() {
            return Err(bad("no such directory".into()));
        }
        if !dir.is_dir() {
            return Err(bad("not a directory (give a checkpoint directory or a parent of step directories)".into()));
        }
        let cfg_path = dir.join("config.json");
        if !cfg_path.is_file() {
            return Err(bad("no config.json".into()));
        }
        let text = std::fs::read_to_string(&cfg_path)
            .map_err(|source| SummarizeError::Io { path: cfg_path.clone(), source })?;
        let config: serde_json::Value = serde_json::from_str(&text).map_err(|e| SummarizeError::BadCheckpoint {
            path: cfg_path.clone(),
            reason: format!("not valid JSON: {e}"),
        })?;
        if !config.is_object() {
            return Err(SummarizeError::BadCheckpoint { path: cfg_path, reason: "not a JSON object".into() });
        }
        let weights = WeightFiles::find(dir)?;
        let size = weights.files().iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
        let step = step.or_else(|| dir.file_name().and_then(|n| parse_step(&n.to_string_lossy()))).unwrap_or(0);
        Ok(LocalCheckpoint { dir: dir.to_path_buf(), step, config, weights, size, read: ReadMethod::default() })
    }

    /// Read the weights by `method` (mapped by default).
    pub fn with_read_method(mut self, method: ReadMethod) -> Self {
        self.read = method;
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the weights are.
    pub fn weights(&self) -> &WeightFiles {
        &self.weights
    }
}

impl Checkpoint for LocalCheckpoint {
    fn step(&self) -> i64 {
        self.step
    }

    fn label(&self) -> String {
        self.dir.display().to_string()
    }

    fn config(&self) -> Result<serde_json::Value, SummarizeError> {
        Ok(self.config.clone())
    }

    fn size_hint(&self) -> u64 {
        self.size
    }

    fn open(&self) -> Result<Box<dyn WeightSource>, SummarizeError> {
        self.weights.open_with(self.read)
    }
}

/// The training step in a checkpoint directory's name: `step1000`, `checkpoint-1000`, `global_step1000`,
/// `step1000-tokens4B`, `ckpt_010`, `iter_0001000` or a bare `1000`. `None` for names without one.
pub fn parse_step(name: &str) -> Option<i64> {
    let lower = name.to_ascii_lowercase();
    let rest = ["global_step", "checkpoint", "step", "ckpt", "iter", ""].iter().find_map(|p| {
        lower.strip_prefix(p).filter(|r| r.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '_'))
    })?;
    let rest = rest.strip_prefix(['-', '_']).unwrap_or(rest);
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    if digits == 0 {
        return None;
    }
    let tail = &rest[digits..];
    if !(tail.is_empty() || tail.starts_with(['-', '_', '.'])) {
        return None;
    }
    rest[..digits].parse().ok()
}

/// The checkpoints found under the inputs, and the subdirectories passed over.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Checkpoints, sorted by step.
    pub checkpoints: Vec<LocalCheckpoint>,
    /// Subdirectories without a step number in their name (e.g. `tokenizer/`).
    pub skipped: Vec<PathBuf>,
    /// Step directories left out by the step selection.
    pub unselected: Vec<PathBuf>,
}

/// Find the checkpoints under `inputs`: each is a checkpoint directory (it has `config.json`) or a parent of
/// step-named checkpoint directories. Keeps the steps `steps` selects; two checkpoints with the same step are an
/// error naming both.
pub fn discover(inputs: &[PathBuf], steps: &StepSelection) -> Result<Discovery, SummarizeError> {
    let mut out = Discovery::default();
    for input in inputs {
        if input.join("config.json").is_file() || !input.is_dir() {
            let c = LocalCheckpoint::open(input, None)?;
            if steps.contains(c.step) {
                out.checkpoints.push(c);
            } else {
                out.unselected.push(input.clone());
            }
            continue;
        }
        let entries = std::fs::read_dir(input).map_err(|source| SummarizeError::Io { path: input.clone(), source })?;
        let mut found = 0;
        let mut subdirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        subdirs.sort();
        for sub in subdirs {
            let name = sub.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let Some(step) = parse_step(&name) else {
                out.skipped.push(sub);
                continue;
            };
            found += 1;
            if steps.contains(step) {
                out.checkpoints.push(LocalCheckpoint::open(&sub, Some(step))?);
            } else {
                out.unselected.push(sub);
            }
        }
        if found == 0 {
            return Err(SummarizeError::BadCheckpoint {
                path: input.clone(),
                reason: "neither a checkpoint (no config.json) nor a parent of step directories (step1000, \
                         checkpoint-1000, …)"
                    .into(),
            });
        }
    }
    out.checkpoints.sort_by_key(|c| c.step);
    if let Some(w) = out.checkpoints.windows(2).find(|w| w[0].step == w[1].step) {
        return Err(SummarizeError::InvalidOption(format!(
            "two checkpoints have step {}: {} and {}; select one with --steps or pass them separately",
            w[0].step,
            w[0].dir.display(),
            w[1].dir.display()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names() {
        for (name, step) in [
            ("step1000", Some(1000)),
            ("checkpoint-1000", Some(1000)),
            ("global_step1000", Some(1000)),
            ("step1000-tokens4B", Some(1000)),
            ("ckpt_010", Some(10)),
            ("iter_0001000", Some(1000)),
            ("1500", Some(1500)),
            ("Step0", Some(0)),
            ("tokenizer", None),
            ("step", None),
            ("stepx1", None),
            ("step1000x", None),
            ("checkpoint-best", None),
        ] {
            assert_eq!(parse_step(name), step, "{name}");
        }
    }
}
