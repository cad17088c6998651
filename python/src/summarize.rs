//! `ccc.summarize`: the options of `ccc summarize`, checked the same way, then the same library call, so the
//! same inputs give the same bytes.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use ccc_core::{Mode, NameFilter, StepSelection, Summary};
use ccc_summarize::{local, Checkpoint, Mapping, Output, ReadMethod, RunOptions};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{invalid, not_found, to_py};
use crate::work;

/// The modes of `mode=`: distinct, in canonical order (`full` before `compact`), as the CLI's `--mode`.
fn parse_modes(s: &str) -> PyResult<Vec<Mode>> {
    let mut modes = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let m: Mode = part.parse().map_err(|e: ccc_core::CoreError| to_py(&e))?;
        if !modes.contains(&m) {
            modes.push(m);
        }
    }
    if modes.is_empty() {
        return Err(invalid("no mode given: use `full`, `compact` or `full,compact`"));
    }
    modes.sort_by_key(|m| Mode::ALL.iter().position(|x| x == m));
    Ok(modes)
}

/// The output file of each mode: `out` itself for one mode; `X.full.safetensors`, `X.compact.safetensors` for
/// two (the CLI's naming).
pub fn output_paths(output: &Path, modes: &[Mode]) -> Vec<Output> {
    if let [mode] = modes {
        return vec![Output { mode: *mode, path: output.to_path_buf() }];
    }
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".safetensors").unwrap_or(&name);
    modes
        .iter()
        .map(|&mode| Output { mode, path: output.with_file_name(format!("{stem}.{mode}.safetensors")) })
        .collect()
}

/// The input's name, as the CLI's default `--model`: a run directory → its name; a checkpoint directory whose
/// name is a step → its parent's name.
fn default_model_name(inputs: &[PathBuf]) -> String {
    let Some(first) = inputs.first() else { return String::new() };
    let p = first.canonicalize().unwrap_or_else(|_| first.clone());
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    match name(&p) {
        Some(n) if local::parse_step(&n).is_some() => p.parent().and_then(name).unwrap_or(n),
        Some(n) => n,
        None => first.display().to_string(),
    }
}

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
    let modes = parse_modes(mode)?;
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
    let outputs = output_paths(&out, &modes);
    let mut run = RunOptions::new(outputs.clone(), model.unwrap_or_else(|| default_model_name(&inputs)));
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
        let missing: Vec<String> =
            steps.listed_steps().into_iter().filter(|s| !have.contains(s)).map(|s| s.to_string()).collect();
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
