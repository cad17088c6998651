//! The run driver: summarize many checkpoints (any [`Checkpoint`]) into `ccc/1` files, resumably.
//!
//! - Output files are filled in place ([`ccc_core::file::CccFile`]): each checkpoint's column is written and
//!   synced, then its `filled` flag; a run killed at any point leaves valid files that lose at most the
//!   checkpoints in flight. Running again fills only the missing steps; steps not yet in an existing file are
//!   added (the file is rewritten atomically once, then filled in place).
//! - Both modes come from one pass over the weights.
//! - Checkpoints are processed by several workers when there are several cores and the memory budget holds
//!   their columns ([`job_count`], [`Plan::job_memory`]), each streaming with bounded memory.
//! - Identical checkpoints (same [`Checkpoint::content_id`], or the same summarized column) are reported as
//!   warnings and recorded in the files' `duplicates` metadata.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use ccc_core::file::{self, CccFile};
use ccc_core::layout::Banded;
use ccc_core::{CccMeta, Duplicate, Mode, Progress, Summary};
use xxhash_rust::xxh3::Xxh3;

use crate::arch::Mapping;
use crate::checkpoint::Checkpoint;
use crate::column::{Column, ColumnSink};
use crate::error::SummarizeError;
use crate::plan::Plan;
use crate::source::WeightSource;

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
    /// Bytes per chunk read at a time (memory per worker is about this).
    pub chunk_bytes: usize,
    /// Checkpoints summarized at once (0: as many as cores, at most 4, within `memory_budget`).
    pub jobs: usize,
    /// Bytes the checkpoints in flight may hold together when `jobs` is automatic (see [`Plan::job_memory`]);
    /// at least one checkpoint is always summarized, whatever its size.
    pub memory_budget: u64,
}

/// Default [`RunOptions::memory_budget`]: with the program itself, a run stays within 512 MiB.
pub const DEFAULT_MEMORY_BUDGET: u64 = 448 << 20;

/// Checkpoints to summarize at once: `requested` if given (non-zero), else one per core, at most 4 and as many
/// as `budget` holds at `per_job` bytes each; never more than there are checkpoints, never fewer than one.
pub fn job_count(requested: usize, cores: usize, checkpoints: usize, per_job: u64, budget: u64) -> usize {
    let n = if requested > 0 {
        requested
    } else {
        let fit = usize::try_from(budget / per_job.max(1)).unwrap_or(usize::MAX);
        cores.min(4).min(fit)
    };
    n.clamp(1, checkpoints.max(1))
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
            jobs: 0,
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

/// The plan for one checkpoint: its mapping (given or detected) applied to its config and tensors.
pub fn plan_for(
    config: &serde_json::Value,
    source: &dyn WeightSource,
    mapping: Option<&Mapping>,
    norms: bool,
) -> Result<Plan, SummarizeError> {
    let detected;
    let m = match mapping {
        Some(m) => m,
        None => {
            detected = Mapping::detect(config)?;
            &detected
        }
    };
    Plan::new(m, config, source.tensors(), norms)
}

/// Summarize one opened checkpoint into its column (both modes). `label` names it in errors.
pub fn summarize_source(
    source: &mut dyn WeightSource,
    plan: &Plan,
    summary: Summary,
    allow_nonfinite: bool,
    chunk_bytes: usize,
    progress: Option<&dyn Progress>,
) -> Result<Column, SummarizeError> {
    let label = source.describe();
    // Inside the pool, so the thread that drives the source is a worker: it runs blocks while it waits for
    // them, and the blocks it hands over run while it combines earlier ones (in FIFO order, oldest first).
    rayon::scope_fifo(|scope| {
        let mut sink = ColumnSink::new(plan, summary, allow_nonfinite, label, progress).in_scope(scope);
        source.stream(&mut sink, chunk_bytes.max(1))?;
        sink.finish()
    })
}

/// The hash that finds duplicate checkpoints: of a column's values in full mode, in the layout it is built in
/// ([`ccc_core::layout::Banded`]), or else in compact mode. 128 bits of XXH3: it tells identical checkpoints
/// (public series really repeat some) from different ones at memory speed; it is not meant to resist
/// checkpoints crafted to collide.
type ColumnHash = u128;

fn column_hash(values: &[f32]) -> ColumnHash {
    let mut h = Xxh3::new();
    hash_values(&mut h, values);
    h.digest128()
}

/// Add `values` to `h` as little-endian bytes.
fn hash_values(h: &mut Xxh3, values: &[f32]) {
    if cfg!(target_endian = "little") {
        h.update(bytemuck::cast_slice(values));
        return;
    }
    let mut buf = Vec::with_capacity(1 << 16);
    for chunk in values.chunks(1 << 14) {
        buf.clear();
        buf.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
        h.update(&buf);
    }
}

fn meta_for(plan: &Plan, mode: Mode, opts: &RunOptions) -> (CccMeta, Vec<i64>) {
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
        extra: BTreeMap::new(),
    };
    (meta, lengths)
}

struct OpenOutput {
    mode: Mode,
    file: CccFile,
    created: bool,
}

/// An output file checked against the run: open, or still to be created.
enum Prepared {
    Open(OpenOutput),
    Create { mode: Mode, path: PathBuf, shape: NewFile },
}

/// Check one output file against the run's steps and open it (extending it with new steps if needed); a file
/// that does not exist yet is only described, to be created by [`Outputs`] while the first checkpoint is read.
fn prepare_output(out: &Output, plan: &Plan, opts: &RunOptions, steps: &[i64]) -> Result<Prepared, SummarizeError> {
    let (meta, lengths) = meta_for(plan, out.mode, opts);
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

/// What a new output file holds: no values yet.
struct NewFile {
    meta: CccMeta,
    n_coord: usize,
    steps: Vec<i64>,
    lengths: Vec<i64>,
}

/// The run's output files, in the order of [`RunOptions::outputs`]. New files are created (written and synced)
/// on a background thread, so that this overlaps with reading the first checkpoint; [`Outputs::get`] waits
/// for them.
struct Outputs {
    /// Every output once all are open (empty until then).
    all: Vec<OpenOutput>,
    /// Outputs open so far, by position.
    slots: Vec<Option<OpenOutput>>,
    creating: Option<CreateJob>,
}

type CreateJob = std::thread::JoinHandle<Vec<(usize, Result<OpenOutput, SummarizeError>)>>;

impl Outputs {
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
                            .map(|file| OpenOutput { mode, file, created: true });
                        (i, r.map_err(SummarizeError::from))
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
    fn get(&mut self) -> Result<&mut [OpenOutput], SummarizeError> {
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
    fn cleanup(&mut self) {
        let _ = self.join();
        for o in self.all.iter().chain(self.slots.iter().flatten()) {
            if o.created && !o.file.header().filled.iter().any(|&f| f) {
                let _ = std::fs::remove_file(o.file.path());
            }
        }
    }
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
    // Steps already filled in every output.
    let mut filled_everywhere: Option<BTreeSet<i64>> = None;
    for out in &opts.outputs {
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
    let done = filled_everywhere.unwrap_or_default();
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
    let plan =
        plan_for(&config, first_source.as_ref(), opts.mapping.as_ref(), opts.norms).map_err(|e| context(first, e))?;
    report.architecture = plan.architecture.clone();

    let steps: Vec<i64> = by_step.keys().copied().collect();
    // Every output is checked now (an existing file that cannot take these checkpoints is an error before any
    // work); new files are created in the background.
    let mut prepared = Vec::with_capacity(opts.outputs.len());
    for out in &opts.outputs {
        match prepare_output(out, &plan, opts, &steps) {
            Ok(p) => prepared.push(p),
            Err(e) => {
                Outputs::new(prepared).cleanup();
                return Err(e);
            }
        }
    }
    let mut outputs = Outputs::new(prepared);
    let result = run_inner(&todo, first_source, &plan, opts, &mut outputs, progress, &mut report);
    progress.finish();
    if let Err(e) = result {
        outputs.cleanup();
        return Err(e);
    }
    report.seconds = t0.elapsed().as_secs_f64();
    Ok(report)
}

fn context(c: &dyn Checkpoint, e: SummarizeError) -> SummarizeError {
    match e {
        SummarizeError::Shape(m) => SummarizeError::Shape(format!("{}: {m}", c.label())),
        SummarizeError::UnknownArchitecture(m) => SummarizeError::UnknownArchitecture(format!("{}: {m}", c.label())),
        other => other,
    }
}

fn run_inner(
    todo: &[&dyn Checkpoint],
    first_source: Box<dyn WeightSource>,
    plan: &Plan,
    opts: &RunOptions,
    outputs: &mut Outputs,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), SummarizeError> {
    // Checkpoints with the same content id as an earlier one are not read again.
    let mut primary: Vec<&dyn Checkpoint> = Vec::new();
    let mut copies: Vec<(i64, i64)> = Vec::new();
    let mut ids: HashMap<String, i64> = HashMap::new();
    for &c in todo {
        match c.content_id() {
            Some(id) => match ids.get(&id) {
                Some(&orig) => copies.push((c.step(), orig)),
                None => {
                    ids.insert(id, c.step());
                    primary.push(c);
                }
            },
            None => primary.push(c),
        }
    }

    let total: u64 = primary.iter().map(|c| c.size_hint()).sum();
    progress.start("summarize", total, "bytes");
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let per_job = plan.job_memory(opts.chunk_bytes);
    let jobs = job_count(opts.jobs, cores, primary.len(), per_job, opts.memory_budget);
    // Columns in flight: each job's, and as many finished ones waiting to be written as the memory budget holds
    // (then a job goes on to its next checkpoint while the writer syncs its last one).
    let column_bytes = plan.column_bytes().max(1);
    let spare = opts.memory_budget.saturating_sub(per_job.saturating_mul(jobs as u64)) / column_bytes;
    let permits = Permits::new(jobs + (spare as usize).min(jobs));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_source = Mutex::new(Some(first_source));
    let error_slot: Mutex<Option<SummarizeError>> = Mutex::new(None);
    let hash_full = opts.outputs.iter().any(|o| o.mode == Mode::Full);
    let (tx, rx) = std::sync::mpsc::channel::<Finished>();
    let (next, failed, first_source, error, permits, primary) =
        (&next, &failed, &first_source, &error_slot, &permits, &primary);
    let writer_outputs: &mut Outputs = &mut *outputs;

    let done = std::thread::scope(|scope| {
        // One writer: it takes the finished columns as they come (several at once when they wait together),
        // writes them into every output, syncs once, and then marks them filled.
        // Columns finished before an error elsewhere are still written (a rerun need not compute them again).
        let writer = scope.spawn(move || {
            let _stop = FailOnPanic(failed);
            let mut done = Vec::new();
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                batch.extend(rx.try_iter());
                match writer_outputs.get().and_then(|outs| write_columns(outs, &batch, hash_full)) {
                    Ok(hashes) => {
                        for (f, hash) in batch.iter().zip(hashes) {
                            for t in &f.col.nonfinite {
                                progress.warn(&format!("step {}: tensor `{t}` has NaN or Inf values", f.c.step()));
                            }
                            progress.message(&format!(
                                "step {}: {} summarized ({:.1} MB in {:.2} s)",
                                f.c.step(),
                                f.c.label(),
                                f.bytes as f64 / 1e6,
                                f.secs
                            ));
                            if let Err(e) = f.c.done() {
                                set_error(error, failed, e);
                            }
                            done.push((f.c.step(), hash, f.col.nonfinite.clone(), f.bytes));
                        }
                    }
                    Err(e) => set_error(error, failed, e),
                }
                let n = batch.len();
                drop(batch);
                permits.release(n);
            }
            done
        });
        for _ in 0..jobs {
            let tx = tx.clone();
            scope.spawn(move || loop {
                if failed.load(Ordering::Relaxed) || !permits.acquire(failed) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&c) = primary.get(i) else {
                    permits.release(1);
                    return;
                };
                let preopened = if i == 0 { first_source.lock().ok().and_then(|mut s| s.take()) } else { None };
                match summarize_one(c, preopened, plan, opts, progress) {
                    Ok((col, bytes, secs)) => {
                        if tx.send(Finished { c, col, bytes, secs }).is_err() {
                            permits.release(1);
                            return;
                        }
                    }
                    Err(e) => {
                        // The failure first, so that a job woken by the release sees it and stops.
                        set_error(error, failed, e);
                        permits.release(1);
                        return;
                    }
                }
            });
        }
        drop(tx);
        writer.join().map_err(|_| poisoned())
    })?;
    if let Some(e) = error_slot.into_inner().map_err(|_| poisoned())? {
        return Err(e);
    }
    let outputs = outputs.get()?;
    let hash_out = outputs.iter().position(|o| o.mode == Mode::Full).unwrap_or(0);
    let mut new_hashes: Vec<(i64, ColumnHash)> = Vec::new();
    for (step, hash, nonfinite, bytes) in done {
        report.computed.push(step);
        report.bytes += bytes;
        report.nonfinite.extend(nonfinite.into_iter().map(|t| (step, t)));
        new_hashes.push((step, hash));
    }
    // Copies of identical checkpoints (by content id): each original's column is read once per output and
    // written to all its copies, which are synced together before they are marked filled.
    let mut by_orig: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for &(step, orig) in &copies {
        by_orig.entry(orig).or_default().push(step);
    }
    for (&orig, steps) in &by_orig {
        let hash = match new_hashes.iter().find(|(s, _)| *s == orig) {
            Some(&(_, h)) => h,
            None => {
                let src = &outputs[hash_out];
                stored_hash(src, src.file.header().steps.iter().position(|&s| s == orig).ok_or_else(poisoned)?)?
            }
        };
        for o in outputs.iter_mut() {
            let h = o.file.header();
            let at = |step: i64| h.steps.iter().position(|&s| s == step).ok_or_else(poisoned);
            let col = o.file.read_column(at(orig)?)?;
            let to: Vec<usize> = steps.iter().map(|&s| at(s)).collect::<Result<_, _>>()?;
            for &t in &to {
                o.file.write_column_values(t, &col)?;
            }
            o.file.sync_values()?;
            o.file.mark_filled(&to)?;
        }
        for &step in steps {
            new_hashes.push((step, hash));
            report.computed.push(step);
        }
    }
    report.computed.sort_unstable();
    let new_steps: BTreeSet<i64> = new_hashes.iter().map(|(s, _)| *s).collect();

    // Hashes of the columns that were already in the files (for duplicates across runs).
    let mut hashes: Vec<(i64, ColumnHash)> = Vec::new();
    {
        let o = &outputs[hash_out];
        let h = o.file.header();
        for (t, (&s, &filled)) in h.steps.iter().zip(&h.filled).enumerate() {
            if filled && !new_steps.contains(&s) {
                hashes.push((s, stored_hash(o, t)?));
            }
        }
    }

    // Duplicates: equal column hashes; the earliest step is the original.
    let mut groups: HashMap<ColumnHash, Vec<i64>> = HashMap::new();
    for (s, h) in hashes.iter().chain(&new_hashes) {
        groups.entry(*h).or_default().push(*s);
    }
    let mut dups: Vec<Duplicate> = Vec::new();
    for mut steps in groups.into_values() {
        steps.sort_unstable();
        for &s in &steps[1..] {
            if new_steps.contains(&s) || new_steps.contains(&steps[0]) {
                dups.push(Duplicate { step: s, same_as: steps[0] });
            }
        }
    }
    dups.sort();
    for d in &dups {
        progress.warn(&format!(
            "step {} has the same weights as step {} (duplicate checkpoint; recorded in the file metadata)",
            d.step, d.same_as
        ));
    }
    if !dups.is_empty() {
        for o in outputs.iter_mut() {
            let mut meta = o.file.header().meta.clone();
            meta.duplicates.extend(dups.iter().copied());
            meta.duplicates.sort();
            meta.duplicates.dedup();
            o.file.set_meta(meta)?;
        }
    }
    report.duplicates = dups;
    Ok(())
}

/// [`column_hash`] of checkpoint `t`'s column as stored in output `o`.
fn stored_hash(o: &OpenOutput, t: usize) -> Result<ColumnHash, SummarizeError> {
    let rows = o.file.read_column(t)?;
    if o.mode == Mode::Compact {
        return Ok(column_hash(&rows));
    }
    // Band by band, so that a large column is not held twice.
    let [c_n, _, k_n] = o.file.header().shape();
    let layout = Banded::new(c_n, k_n);
    let (mut h, mut band) = (Xxh3::new(), Vec::new());
    for r in layout.bands() {
        band.resize(r.len() * k_n, 0.0);
        layout.band_from_rows(&rows[r.start * k_n..r.end * k_n], &mut band);
        hash_values(&mut h, &band);
    }
    Ok(h.digest128())
}

fn poisoned() -> SummarizeError {
    SummarizeError::InvalidOption("internal error: a worker failed".into())
}

fn set_error(slot: &Mutex<Option<SummarizeError>>, failed: &AtomicBool, e: SummarizeError) {
    failed.store(true, Ordering::Relaxed);
    if let Ok(mut s) = slot.lock() {
        if s.is_none() {
            *s = Some(e);
        }
    }
}

/// A checkpoint summarized, on its way to the writer.
struct Finished<'c> {
    c: &'c dyn Checkpoint,
    col: Column,
    bytes: u64,
    secs: f64,
}

/// Sets the flag when the thread holding it panics, so that threads waiting on that thread's work stop.
struct FailOnPanic<'a>(&'a AtomicBool);

impl Drop for FailOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// Counts the columns in flight (being summarized or waiting to be written), so that memory stays within the
/// budget while the writer syncs.
struct Permits {
    free: Mutex<usize>,
    freed: std::sync::Condvar,
}

impl Permits {
    fn new(n: usize) -> Self {
        Permits { free: Mutex::new(n.max(1)), freed: std::sync::Condvar::new() }
    }

    /// Take one, waiting for one to be released; `false` once `failed` is set (or the lock is poisoned).
    fn acquire(&self, failed: &AtomicBool) -> bool {
        let Ok(mut free) = self.free.lock() else { return false };
        loop {
            if failed.load(Ordering::Relaxed) {
                return false;
            }
            if *free > 0 {
                *free -= 1;
                return true;
            }
            // A timeout, so that a failure set elsewhere is seen even if nothing is released.
            match self.freed.wait_timeout(free, std::time::Duration::from_millis(50)) {
                Ok((g, _)) => free = g,
                Err(_) => return false,
            }
        }
    }

    fn release(&self, n: usize) {
        if let Ok(mut free) = self.free.lock() {
            *free += n;
        }
        self.freed.notify_all();
    }
}

/// Write checkpoints' columns into every output: the values of all files first (one thread per file, which
/// syncs once its values are written), then the `filled` flags, so a crash never leaves a flag without its
/// values. Returns each column's [`column_hash`] (of the full values if `hash_full`), computed while the disk
/// syncs.
fn write_columns(
    outputs: &mut [OpenOutput],
    batch: &[Finished],
    hash_full: bool,
) -> Result<Vec<ColumnHash>, SummarizeError> {
    let mut at: Vec<Vec<usize>> = Vec::with_capacity(outputs.len());
    for o in outputs.iter() {
        let steps = &o.file.header().steps;
        let ts = batch.iter().map(|f| steps.iter().position(|&s| s == f.c.step()).ok_or_else(poisoned));
        at.push(ts.collect::<Result<_, _>>()?);
    }
    let joined =
        |j: std::thread::Result<ccc_core::Result<()>>| j.map_err(|_| poisoned())?.map_err(SummarizeError::from);
    let hashes = std::thread::scope(|s| {
        // Each file syncs as soon as its own values are written (the small compact file does not wait for the
        // full one); the hashes are computed once every file is written, while the disk syncs, so they do not
        // take a core from the writers.
        let (written, all_written) = std::sync::mpsc::channel::<()>();
        let jobs: Vec<_> = outputs
            .iter_mut()
            .zip(&at)
            .map(|(o, ts)| {
                let written = written.clone();
                s.spawn(move || {
                    let values = batch.iter().zip(ts).try_for_each(|(f, &t)| match o.mode {
                        Mode::Full => o.file.write_column_values_banded(t, &f.col.full),
                        Mode::Compact => o.file.write_column_values(t, &f.col.compact),
                    });
                    drop(written);
                    values.and_then(|()| o.file.sync_values())
                })
            })
            .collect();
        drop(written);
        // Ends when every writer has dropped its sender: written (or failed, or panicked).
        all_written.iter().for_each(drop);
        let hashes = batch.iter().map(|f| column_hash(if hash_full { &f.col.full } else { &f.col.compact })).collect();
        jobs.into_iter().try_for_each(|j| joined(j.join()))?;
        Ok::<_, SummarizeError>(hashes)
    })?;
    for (o, ts) in outputs.iter_mut().zip(&at) {
        o.file.mark_filled(ts)?;
    }
    Ok(hashes)
}

/// Summarize one checkpoint, again (from a fresh sink) as long as the checkpoint asks for it after a failure
/// (see [`Checkpoint::retry_after`]); returns its column, bytes and seconds.
fn summarize_one(
    c: &dyn Checkpoint,
    mut preopened: Option<Box<dyn WeightSource>>,
    plan: &Plan,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<(Column, u64, f64), SummarizeError> {
    let mut attempt = 0;
    loop {
        match summarize_once(c, preopened.take(), plan, opts, progress) {
            Err(e) if c.retry_after(&e, attempt + 1) => {
                attempt += 1;
                progress.warn(&format!("step {}: {e}; summarizing it again", c.step()));
            }
            r => return r,
        }
    }
}

/// Open (unless given), check and summarize one checkpoint once.
fn summarize_once(
    c: &dyn Checkpoint,
    preopened: Option<Box<dyn WeightSource>>,
    plan: &Plan,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<(Column, u64, f64), SummarizeError> {
    let t0 = Instant::now();
    let own_plan;
    let (mut source, used) = match preopened {
        Some(s) => (s, plan),
        None => {
            let config = c.config()?;
            let s = c.open()?;
            // Each checkpoint gets its own plan (tensor names may differ, e.g. `embed_out` vs `lm_head`), which
            // must give the same components as the run's.
            own_plan = plan_for(&config, s.as_ref(), opts.mapping.as_ref(), opts.norms).map_err(|e| context(c, e))?;
            if !own_plan.same_layout(plan) {
                return Err(SummarizeError::Shape(format!(
                    "{}: this checkpoint's components differ from the first one's ({} vs {} components, \
                     architecture `{}` vs `{}`); summarize it into another file",
                    c.label(),
                    own_plan.components.len(),
                    plan.components.len(),
                    own_plan.architecture,
                    plan.architecture
                )));
            }
            (s, &own_plan)
        }
    };
    let bytes = source.total_bytes();
    let col =
        summarize_source(source.as_mut(), used, opts.summary, opts.allow_nonfinite, opts.chunk_bytes, Some(progress))?;
    progress.advance(c.size_hint().saturating_sub(col.bytes));
    Ok((col, bytes, t0.elapsed().as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_fit_the_memory_budget() {
        const MIB: u64 = 1 << 20;
        // Automatic: one per core, at most 4, at most as many as there are checkpoints ...
        assert_eq!(job_count(0, 2, 10, 40 * MIB, DEFAULT_MEMORY_BUDGET), 2);
        assert_eq!(job_count(0, 64, 10, 40 * MIB, DEFAULT_MEMORY_BUDGET), 4);
        assert_eq!(job_count(0, 64, 3, 40 * MIB, DEFAULT_MEMORY_BUDGET), 3);
        // ... and as many as the budget holds (a 13B-shaped column is ~150 MB), but always one.
        assert_eq!(job_count(0, 64, 10, 150 * MIB, DEFAULT_MEMORY_BUDGET), 2);
        assert_eq!(job_count(0, 64, 10, 420 * MIB, DEFAULT_MEMORY_BUDGET), 1);
        assert_eq!(job_count(0, 64, 10, 4096 * MIB, DEFAULT_MEMORY_BUDGET), 1);
        assert_eq!(job_count(0, 64, 10, 0, DEFAULT_MEMORY_BUDGET), 4);
        // Asked for: as asked (never more than the checkpoints).
        assert_eq!(job_count(8, 2, 10, 4096 * MIB, DEFAULT_MEMORY_BUDGET), 8);
        assert_eq!(job_count(8, 2, 3, 40 * MIB, DEFAULT_MEMORY_BUDGET), 3);
        assert_eq!(job_count(0, 4, 0, 40 * MIB, DEFAULT_MEMORY_BUDGET), 1);
    }
}
