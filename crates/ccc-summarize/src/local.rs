//! Local checkpoints: a directory with `config.json` and weights, and the discovery of step-named directories.

use std::path::{Path, PathBuf};

use ccc_core::step_name::{check_series, SkipReason};
use ccc_core::{NameFilter, StepName, StepSelection};

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
        Self::locate(dir)?.ok_or_else(|| SummarizeError::BadCheckpoint {
            path: dir.into(),
            reason: "no weights found (expected model.safetensors, model.safetensors.index.json or pytorch_model.bin)"
                .into(),
        })
    }

    /// As [`WeightFiles::find`], with `None` for a directory without any weight file.
    fn locate(dir: &Path) -> Result<Option<Self>, SummarizeError> {
        let named = [
            ("model.safetensors", WeightFiles::Safetensors as fn(PathBuf) -> WeightFiles),
            ("model.safetensors.index.json", WeightFiles::SafetensorsIndex),
            ("pytorch_model.bin", WeightFiles::Torch),
            ("pytorch_model.bin.index.json", WeightFiles::TorchIndex),
        ];
        for (name, make) in named {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(Some(make(p)));
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
            (1, _) => Ok(Some(WeightFiles::Safetensors(st.remove(0)))),
            (0, 1) => Ok(Some(WeightFiles::Torch(pt.remove(0)))),
            (0, 0) => Ok(None),
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

/// The training step in a checkpoint directory's name (`step1000`, `stage1-step1000-tokens5B`, `checkpoint-1000`,
/// `1000`, …: every convention of [`ccc_core::step_name`], the parser hub revisions use too). `None` for names
/// without one.
pub fn parse_step(name: &str) -> Option<i64> {
    StepName::parse(name).map(|n| n.step)
}

/// A subdirectory of a run directory that is not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The subdirectory.
    pub path: PathBuf,
    /// Why it is not a checkpoint.
    pub reason: SkipReason,
}

/// The checkpoints found under the inputs, and the subdirectories passed over.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Checkpoints, sorted by step.
    pub checkpoints: Vec<LocalCheckpoint>,
    /// Subdirectories that are not checkpoints: no step number in their name (e.g. `tokenizer/`), or no
    /// `config.json` or weights in them.
    pub skipped: Vec<Skipped>,
    /// Step directories left out by the step selection.
    pub unselected: Vec<PathBuf>,
    /// Step directories whose names the name filter (`--revisions`) does not choose.
    pub unmatched: Vec<PathBuf>,
}

/// Find the checkpoints under `inputs` (see [`discover_with`]), every step directory's name chosen.
pub fn discover(inputs: &[PathBuf], steps: &StepSelection) -> Result<Discovery, SummarizeError> {
    discover_with(inputs, steps, &NameFilter::all())
}

/// Find the checkpoints under `inputs`: each is a checkpoint directory (it has `config.json`) or a parent of
/// step-named checkpoint directories, named in any convention of [`ccc_core::step_name`]. Of the step directories,
/// keeps those whose name `names` chooses and whose step `steps` selects; one without `config.json` or weights is
/// skipped (reported in [`Discovery::skipped`]). Step directories of several series must not repeat or restart
/// each other's steps ([`check_series`]: the error says how to choose one with `names`); two checkpoints with the
/// same step are an error naming both.
pub fn discover_with(
    inputs: &[PathBuf],
    steps: &StepSelection,
    names: &NameFilter,
) -> Result<Discovery, SummarizeError> {
    let mut out = Discovery::default();
    let mut series: Vec<StepName> = Vec::new();
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
        let mut empty = Vec::new();
        let mut subdirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        subdirs.sort();
        for sub in subdirs {
            let name = sub.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let Some(step_name) = StepName::parse(&name) else {
                out.skipped.push(Skipped { path: sub, reason: SkipReason::NoStep });
                continue;
            };
            found += 1;
            if !names.matches(&name) {
                out.unmatched.push(sub);
            } else if !steps.contains(step_name.step) {
                out.unselected.push(sub);
            } else if !sub.join("config.json").is_file() {
                empty.push(Skipped { path: sub, reason: SkipReason::NoConfig });
            } else if WeightFiles::locate(&sub)?.is_none() {
                empty.push(Skipped { path: sub, reason: SkipReason::NoWeights });
            } else {
                out.checkpoints.push(LocalCheckpoint::open(&sub, Some(step_name.step))?);
                series.push(step_name);
            }
        }
        if found == 0 {
            return Err(SummarizeError::BadCheckpoint {
                path: input.clone(),
                reason: "neither a checkpoint (no config.json) nor a parent of step directories (step1000, \
                         stage1-step1000-tokens5B, checkpoint-1000, …; see docs/summarize.md)"
                    .into(),
            });
        }
        if found == empty.len() {
            let list: Vec<String> = empty.iter().map(|s| format!("{} ({})", dir_name(&s.path), s.reason)).collect();
            return Err(SummarizeError::BadCheckpoint {
                path: input.clone(),
                reason: format!("none of its step directories holds a checkpoint: {}", list.join(", ")),
            });
        }
        out.skipped.extend(empty);
    }
    check_series(&series)?;
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

fn dir_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string())
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
            ("stage1-step1000-tokens5B", Some(1000)),
            ("stage2-ingredient1-step1000-tokens5B", Some(1000)),
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

    /// A run directory whose subdirectories are copies of tiny-neox checkpoints under other names (`None`: an
    /// empty directory; `Some("config")`: only a config.json).
    fn run_dir(names: &[(&str, Option<&str>)]) -> tempfile::TempDir {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fixtures/tiny-neox");
        let d = tempfile::tempdir().unwrap();
        for (name, from) in names {
            let to = d.path().join(name);
            std::fs::create_dir_all(&to).unwrap();
            let files: &[&str] = match from {
                None => &[],
                Some("config") => &["config.json"],
                Some(_) => &["config.json", "model.safetensors"],
            };
            let source = match from {
                Some("config") | None => "step0",
                Some(step) => step,
            };
            for f in files {
                std::fs::copy(fixtures.join(source).join(f), to.join(f)).unwrap();
            }
        }
        d
    }

    fn steps_of(d: &Discovery) -> Vec<i64> {
        d.checkpoints.iter().map(|c| c.step).collect()
    }

    /// Regression (issue 20): OLMo-2's `stage1-step…-tokens…` folders were "neither a checkpoint nor a parent of
    /// step directories" locally, though the same names were read on the hub.
    #[test]
    fn olmo2_run_directories_are_read() {
        let d = run_dir(&[
            ("stage1-step0-tokens0B", Some("step0")),
            ("stage1-step1000-tokens5B", Some("step1000")),
            ("stage1-step2000-tokens9B", Some("step2000")),
            ("tokenizer", None),
        ]);
        let found = discover(&[d.path().to_path_buf()], &StepSelection::all()).unwrap();
        assert_eq!(steps_of(&found), [0, 1000, 2000]);
        assert_eq!(found.skipped.len(), 1);
        assert_eq!(found.skipped[0].reason, SkipReason::NoStep);
    }

    #[test]
    fn series_that_repeat_steps_need_a_choice() {
        let d = run_dir(&[
            ("stage1-step0-tokens0B", Some("step0")),
            ("stage1-step2000-tokens9B", Some("step2000")),
            ("stage2-ingredient1-step0-tokens0B", Some("step1")),
            ("stage2-ingredient1-step1000-tokens5B", Some("step2")),
            ("stage2-ingredient2-step1000-tokens5B", Some("step4")),
        ]);
        let input = [d.path().to_path_buf()];
        let err = discover(&input, &StepSelection::all()).unwrap_err().to_string();
        for want in
            ["`stage1-step*-tokens*` (2 names, steps 0..2000)", "`stage2-ingredient1-step*-tokens*`", "--revisions"]
        {
            assert!(err.contains(want), "`{want}` in {err}");
        }
        let pick = |glob: &str| discover_with(&input, &StepSelection::all(), &glob.parse().unwrap());
        let found = pick("stage2-ingredient1-*").unwrap();
        assert_eq!(steps_of(&found), [0, 1000]);
        assert_eq!(found.unmatched.len(), 3);
        assert_eq!(steps_of(&pick("stage1-*").unwrap()), [0, 2000]);
        // A selection of steps that happens not to mix series is fine as it is.
        let found = discover(&input, &"2000".parse().unwrap()).unwrap();
        assert_eq!(steps_of(&found), [2000]);
    }

    #[test]
    fn step_directories_without_a_checkpoint_are_skipped_with_the_reason() {
        let d = run_dir(&[("step0", Some("step0")), ("step8", None), ("step16", Some("config")), ("fp32", None)]);
        let found = discover(&[d.path().to_path_buf()], &StepSelection::all()).unwrap();
        assert_eq!(steps_of(&found), [0]);
        let mut skipped: Vec<(String, SkipReason)> =
            found.skipped.iter().map(|s| (dir_name(&s.path), s.reason)).collect();
        skipped.sort_by(|a, b| a.0.cmp(&b.0));
        let want = [("fp32", SkipReason::NoStep), ("step16", SkipReason::NoWeights), ("step8", SkipReason::NoConfig)];
        assert_eq!(skipped, want.map(|(n, r)| (n.to_string(), r)));
        // When no step directory holds a checkpoint, that is the error.
        let d = run_dir(&[("step8", None), ("step16", Some("config"))]);
        let err = discover(&[d.path().to_path_buf()], &StepSelection::all()).unwrap_err().to_string();
        assert!(err.contains("step16 (no weights ccc can read)") && err.contains("step8 (no config.json)"), "{err}");
    }
}
