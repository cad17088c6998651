//! A run's output files: checked against the run before any work, created (in the background, with their disk
//! space claimed) or extended with new steps, and removed again after a failure if they hold nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ccc_core::file::{self, CccFile};
use ccc_core::{CccMeta, Mode};

use super::{poisoned, write, Output, RunOptions};
use crate::error::SummarizeError;
use crate::plan::Plan;

/// The steps filled in every one of `outputs` (files that do not exist yet have none).
pub(super) fn filled_in_all(outputs: &[Output]) -> Result<BTreeSet<i64>, SummarizeError> {
    let mut filled_everywhere: Option<BTreeSet<i64>> = None;
    for out in outputs {
        let filled: BTreeSet<i64> = if out.path.exists() {
            let h = file::read_header(&out.path)?;
            h.steps.iter().zip(&h.filled).filter(|(_, f)| **f).map(|(s, _)| *s).collect()
        } else {
            BTreeSet::new()
        };
        filled_everywhere = Some(match filled_everywhere {
            None => filled,
            Some(prev) => prev.intersection(&filled).copied().collect(),
        });
    }
    Ok(filled_everywhere.unwrap_or_default())
}

/// The metadata and component lengths of a `mode` file of this run.
fn meta_for(plan: &Plan, mode: Mode, opts: &RunOptions, provenance: &BTreeMap<String, String>) -> (CccMeta, Vec<i64>) {
    let (components, lengths) = match mode {
        Mode::Full => (plan.components.clone(), plan.lengths.clone()),
        Mode::Compact => (plan.compact.clone(), plan.compact_lengths.clone()),
    };
    let meta = CccMeta {
        model: opts.model.clone(),
        architecture: plan.architecture.clone(),
        mode,
        n_layer: plan.dims.layers,
        n_head: plan.dims.heads,
        n_kv_head: plan.dims.kv_heads,
        summary: opts.summary,
        components,
        duplicates: Vec::new(),
        extra: provenance.clone(),
    };
    (meta, lengths)
}

/// Whether a file's values are adapters' ΔW (`adapter` = `delta`), which must not be mixed with weights (a
/// merged adapter, or a model) in one tensor.
fn is_delta(meta: &CccMeta) -> bool {
    meta.extra.get("adapter").is_some_and(|a| a == "delta")
}

/// An output file, open for filling.
pub(super) struct OpenOutput {
    pub(super) mode: Mode,
    pub(super) file: CccFile,
    /// Created by this run (so removed again if the run fails before filling anything).
    created: bool,
}

/// An output file checked against the run: open, or still to be created.
enum Prepared {
    Open(OpenOutput),
    Create { mode: Mode, path: PathBuf, shape: NewFile },
}

/// What a new output file holds: no values yet.
struct NewFile {
    meta: CccMeta,
    n_coord: usize,
    steps: Vec<i64>,
    lengths: Vec<i64>,
}

/// Check one output file against the run's steps and open it (extending it with new steps if needed); a file
/// that does not exist yet is only described, to be created by [`Outputs`] while the first checkpoint is read.
fn prepare_output(
    out: &Output,
    plan: &Plan,
    opts: &RunOptions,
    steps: &[i64],
    provenance: &BTreeMap<String, String>,
) -> Result<Prepared, SummarizeError> {
    let (meta, lengths) = meta_for(plan, out.mode, opts, provenance);
    let n_coord = plan.n_coord();
    if !out.path.exists() {
        let mut all = steps.to_vec();
        all.sort_unstable();
        all.dedup();
        // Created in the background, so make sure now that it can be (not after the first checkpoint).
        ccc_core::atomic::check_writable(&out.path)?;
        let shape = NewFile { meta, n_coord, steps: all, lengths };
        return Ok(Prepared::Create { mode: out.mode, path: out.path.clone(), shape });
    }
    let h = file::read_header(&out.path)?;
    let why = if h.meta.mode != out.mode {
        Some(format!("it is a {} file, this output is {}", h.meta.mode, out.mode))
    } else if h.meta.components != meta.components || h.lengths != lengths || h.n_coord != n_coord {
        Some(format!(
            "it holds {} components over {} coordinates, these checkpoints give {} over {n_coord}",
            h.meta.components.len(),
            h.n_coord,
            meta.components.len()
        ))
    } else if is_delta(&h.meta) != is_delta(&meta) {
        let what = |d: bool| if d { "the ΔW of adapters (--adapter delta)" } else { "weights" };
        Some(format!("it holds {}, these checkpoints give {}", what(is_delta(&h.meta)), what(is_delta(&meta))))
    } else if h.meta.summary != opts.summary {
        Some(format!("it was made with summary `{}`, this run uses `{}`", h.meta.summary, opts.summary))
    } else {
        None
    };
    if let Some(why) = why {
        return Err(SummarizeError::InvalidOption(format!(
            "{}: cannot add these checkpoints: {why}; write to another file (-o)",
            out.path.display()
        )));
    }
    let have: BTreeSet<i64> = h.steps.iter().copied().collect();
    if steps.iter().all(|s| have.contains(s)) {
        return Ok(Prepared::Open(OpenOutput { mode: out.mode, file: CccFile::open(&out.path)?, created: false }));
    }
    // New steps: rewrite atomically with the union of steps, keeping every filled column (one at a time).
    let mut file = CccFile::open(&out.path)?;
    file.add_steps(steps)?;
    Ok(Prepared::Open(OpenOutput { mode: out.mode, file, created: false }))
}

/// The run's output files, in the order of [`RunOptions::outputs`]. New files are created (written, their disk
/// space claimed, and synced) on a background thread, so that this overlaps with reading the first checkpoint;
/// [`Outputs::get`] waits for them.
pub(super) struct Outputs {
    /// Every output once all are open (empty until then).
    all: Vec<OpenOutput>,
    /// Outputs open so far, by position.
    slots: Vec<Option<OpenOutput>>,
    creating: Option<CreateJob>,
}

type CreateJob = std::thread::JoinHandle<Vec<(usize, Result<OpenOutput, SummarizeError>)>>;

impl Outputs {
    /// Check every output of `opts` now (an existing file that cannot take these checkpoints is an error before
    /// any work) and start creating the new ones in the background.
    pub(super) fn prepare(
        plan: &Plan,
        opts: &RunOptions,
        steps: &[i64],
        provenance: &BTreeMap<String, String>,
    ) -> Result<Self, SummarizeError> {
        let mut prepared = Vec::with_capacity(opts.outputs.len());
        for out in &opts.outputs {
            match prepare_output(out, plan, opts, steps, provenance) {
                Ok(p) => prepared.push(p),
                Err(e) => {
                    Outputs::new(prepared).cleanup();
                    return Err(e);
                }
            }
        }
        Ok(Outputs::new(prepared))
    }

    fn new(prepared: Vec<Prepared>) -> Self {
        let mut slots = Vec::with_capacity(prepared.len());
        let mut todo = Vec::new();
        for (i, p) in prepared.into_iter().enumerate() {
            match p {
                Prepared::Open(o) => slots.push(Some(o)),
                Prepared::Create { mode, path, shape } => {
                    slots.push(None);
                    todo.push((i, mode, path, shape));
                }
            }
        }
        let creating = (!todo.is_empty()).then(|| {
            std::thread::spawn(move || {
                todo.into_iter()
                    .map(|(i, mode, path, s)| {
                        let r = CccFile::create_empty(&path, s.meta, s.n_coord, s.steps, s.lengths)
                            .map_err(SummarizeError::from)
                            .and_then(|file| write::claim_space(&file).map(|()| file))
                            .map(|file| OpenOutput { mode, file, created: true });
                        (i, r)
                    })
                    .collect()
            })
        });
        Outputs { all: Vec::new(), slots, creating }
    }

    /// Wait for the background creation, if any; the first error it met.
    fn join(&mut self) -> Result<(), SummarizeError> {
        let Some(job) = self.creating.take() else { return Ok(()) };
        let mut first_err = None;
        for (i, r) in job.join().map_err(|_| poisoned())? {
            match r {
                Ok(o) => self.slots[i] = Some(o),
                Err(e) => first_err = first_err.or(Some(e)),
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Every output, open (waiting for the background creation if it is still running).
    pub(super) fn get(&mut self) -> Result<&mut [OpenOutput], SummarizeError> {
        self.join()?;
        if self.all.is_empty() {
            if self.slots.iter().any(Option::is_none) {
                return Err(SummarizeError::InvalidOption("an output file could not be created".into()));
            }
            self.all = self.slots.iter_mut().filter_map(Option::take).collect();
        }
        Ok(&mut self.all)
    }

    /// Remove files this run created that hold no filled column (nothing worth resuming).
    pub(super) fn cleanup(&mut self) {
        let _ = self.join();
        for o in self.all.iter().chain(self.slots.iter().flatten()) {
            if o.created && !o.file.header().filled.iter().any(|&f| f) {
                let _ = std::fs::remove_file(o.file.path());
            }
        }
    }
}
