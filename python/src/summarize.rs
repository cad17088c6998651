//! `ccc.summarize`: the options of `ccc summarize`, checked the same way, then the same library call, so the
//! same inputs give the same bytes.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use ccc_core::{NameFilter, StepSelection, Summary};
use ccc_summarize::adapter::{self, AdapterMode};
use ccc_summarize::{local, outputs, Checkpoint, Mapping, ReadMethod, RunOptions};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{invalid, not_found, to_py};
use crate::work;

/// Summarize checkpoints into a `ccc/1` file (see `ccc.summarize` for the options).
#[pyfunction]
#[pyo3(signature = (inputs, out, *, mode="full", summary="mean_sq", steps=None, norms=true, arch=None,
    allow_nonfinite=false, model=None, jobs=None, max_memory=None, mmap=true, revisions=None, base=None,
    adapter="merged", progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn summarize<'py>(
    py: Python<'py>,
    inputs: Vec<PathBuf>,
    out: PathBuf,
    mode: &str,
    summary: &str,
    steps: Option<&str>,
    norms: bool,
    arch: Option<PathBuf>,
    allow_nonfinite: bool,
    model: Option<String>,
    jobs: Option<usize>,
    max_memory: Option<u64>,
    mmap: bool,
    revisions: Option<&str>,
    base: Option<String>,
    adapter: &str,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    if inputs.is_empty() {
        return Err(invalid("no inputs: give checkpoint or run directories"));
    }
    if let Some(s) = inputs.iter().find(|p| p.to_string_lossy().starts_with("hf:")) {
        return Err(invalid(format!(
            "`{}`: hub inputs are summarized by the `ccc summarize` command; here, give local directories",
            s.display()
        )));
    }
    if let Some(missing) = inputs.iter().find(|p| !p.exists()) {
        return Err(not_found(missing));
    }
    let modes = outputs::parse_modes(mode).map_err(invalid)?;
    let summary: Summary = summary.parse().map_err(|e: ccc_core::CoreError| to_py(&e))?;
    let steps: StepSelection = match steps {
        Some(s) => s.parse().map_err(|e: ccc_core::CoreError| to_py(&e))?,
        None => StepSelection::all(),
    };
    let names: NameFilter = match revisions {
        Some(r) => r.parse().map_err(|e: ccc_core::CoreError| invalid(format!("revisions: {e}")))?,
        None => NameFilter::all(),
    };
    if out.is_dir() {
        return Err(invalid(format!(
            "out {}: is a directory; give a file name such as run.safetensors",
            out.display()
        )));
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            return Err(not_found(parent));
        }
    }
    let jobs = match jobs {
        Some(0) => return Err(invalid("jobs must be at least 1 (leave it out to choose automatically)")),
        j => j.and_then(NonZeroUsize::new),
    };
    if max_memory == Some(0) {
        return Err(invalid("max_memory must be at least 1 byte"));
    }
    let adapter_mode: AdapterMode = adapter.parse().map_err(|e: String| invalid(format!("adapter: {e}")))?;
    if base.is_none() {
        if let Some(config) = inputs.iter().find_map(|p| adapter::first_adapter_config(p)) {
            let named = adapter::AdapterConfig::load(&config)
                .ok()
                .and_then(|c| c.base_model)
                .map_or(String::new(), |b| format!(" (its adapter_config.json names `{b}`)"));
            return Err(invalid(format!(
                "{} holds PEFT adapters: give the base model they were trained from with base=DIR or \
                 base=\"hf:ORG/NAME\"{named}",
                config.parent().unwrap_or(&config).display()
            )));
        }
    }
    let mapping = arch.as_deref().map(Mapping::load).transpose().map_err(|e| to_py(&e))?;
    let outputs = outputs::output_paths(&out, &modes);
    let mut run = RunOptions::new(
        outputs.clone(),
        model.unwrap_or_else(|| outputs::default_model_name(&inputs[0].to_string_lossy())),
    );
    run.summary = summary;
    run.norms = norms;
    run.allow_nonfinite = allow_nonfinite;
    run.mapping = mapping;
    run.jobs = jobs;
    if let Some(m) = max_memory {
        run.memory_budget = m;
    }
    let read = if mmap { ReadMethod::Map } else { ReadMethod::Pread };
    let report = work::run(py, progress.as_ref(), move |progress| {
        let mut checkpoints: Vec<Box<dyn Checkpoint>> = match &base {
            Some(base) => {
                let dir = base_dir(base)?;
                let base = adapter::Base::open(&dir, run.mapping.as_ref(), read).map_err(|e| to_py(&e))?;
                let found = adapter::discover(&inputs, &steps, &names, &base, adapter_mode).map_err(|e| to_py(&e))?;
                for (dir, why) in &found.skipped {
                    progress.message(&format!("skipped {} ({why})", dir.display()));
                }
                let ck = found.checkpoints.into_iter();
                ck.map(|c| Box::new(c.with_read_method(read)) as Box<dyn Checkpoint>).collect()
            }
            None => {
                let found = local::discover_with(&inputs, &steps, &names).map_err(|e| to_py(&e))?;
                for s in &found.skipped {
                    progress.message(&format!("skipped {} ({})", s.path.display(), s.reason));
                }
                let ck = found.checkpoints.into_iter();
                ck.map(|c| Box::new(c.with_read_method(read)) as Box<dyn Checkpoint>).collect()
            }
        };
        let have: Vec<i64> = checkpoints.iter().map(|c| c.step()).collect();
        let missing: Vec<String> = outputs::missing_listed_steps(&steps, &have).iter().map(|s| s.to_string()).collect();
        if !missing.is_empty() {
            progress.warn(&format!("steps names steps that were not found: {}", missing.join(", ")));
        }
        if checkpoints.is_empty() {
            return Err(invalid("no checkpoints selected (check the inputs and steps)"));
        }
        checkpoints.sort_by_key(|c| c.step());
        ccc_summarize::run(&checkpoints, &run, progress).map_err(|e| to_py(&e))
    })?;
    let d = PyDict::new(py);
    d.set_item("outputs", outputs.iter().map(|o| o.path.clone()).collect::<Vec<_>>())?;
    d.set_item("architecture", report.architecture)?;
    d.set_item("computed", report.computed)?;
    d.set_item("already", report.already)?;
    d.set_item("seconds", report.seconds)?;
    Ok(d)
}

/// The base model's directory: as given, or for `hf:ORG/NAME[@REV]` its snapshot in the hub cache (`HF_HUB_CACHE`,
/// `HF_ENDPOINT`, `HF_TOKEN` as for the CLI), downloaded and verified first if it is not there yet.
fn base_dir(base: &str) -> PyResult<PathBuf> {
    if !ccc_hub::RepoSpec::is_hub(base) {
        let dir = PathBuf::from(base);
        return if dir.is_dir() { Ok(dir) } else { Err(not_found(&dir)) };
    }
    let spec: ccc_hub::RepoSpec = base.parse().map_err(|e: ccc_hub::HubError| to_py(&e))?;
    let config = ccc_hub::HubConfig::from_env(&ccc_hub::config::ProcessEnv, None).map_err(|e| to_py(&e))?;
    let client = std::sync::Arc::new(ccc_hub::HubClient::new(config));
    ccc_hub::fetch_snapshot(&client, &spec.repo, spec.revision.as_deref().unwrap_or("main"))
        .map_err(|e| invalid(format!("base {spec}: {e}")))
}
