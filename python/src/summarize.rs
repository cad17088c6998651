//! `ccc.summarize`: the options of `ccc summarize`, checked the same way, then the same library call, so the
//! same inputs give the same bytes.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use ccc_core::{NameFilter, StepSelection, Summary};
use ccc_summarize::{local, outputs, Checkpoint, Mapping, ReadMethod, RunOptions};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{invalid, not_found, to_py};
use crate::work;

/// Summarize checkpoints into a `ccc/1` file (see `ccc.summarize` for the options).
#[pyfunction]
#[pyo3(signature = (inputs, out, *, mode="full", summary="mean_sq", steps=None, norms=true, arch=None,
    allow_nonfinite=false, model=None, jobs=None, max_memory=None, mmap=true, revisions=None, progress=None))]
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
        let found = local::discover_with(&inputs, &steps, &names).map_err(|e| to_py(&e))?;
        let mut checkpoints: Vec<Box<dyn Checkpoint>> =
            found.checkpoints.into_iter().map(|c| Box::new(c.with_read_method(read)) as Box<dyn Checkpoint>).collect();
        for s in &found.skipped {
            progress.message(&format!("skipped {} ({})", s.path.display(), s.reason));
        }
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
