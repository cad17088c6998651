//! The analysis entry point: options, [`analyze`], and its result [`Analysis`].

use std::collections::BTreeMap;
use std::time::Instant;

use ccc_core::{CccTensor, ComponentPattern, Groups, Mode, StepSelection, Summary};

use crate::blockwise::{BlockwisePrep, DEFAULT_BLOCK_BYTES};
use crate::classify::{run_pipelines, PipelineResult, Status};
use crate::error::AnalyzeError;
use crate::experiments::{build_experiments, order_experiments, tensor_trajectories, Experiment, ExperimentInput};
use crate::files::summary::StatusCounts;
use crate::files::Source;
use crate::pipeline::{builtin, Pipeline};
use crate::rng::{rng_for, Stream};
use crate::score::DEFAULT_GRID;
use crate::staged::{checked_stats, StagedPrep};
use crate::timing::Times;
use crate::trajectory::{trajectories_mapped, Aggregation};
use crate::view::MappedTensor;

/// Options of an analysis. [`AnalyzeOptions::default`] is the reference configuration (seed 0, `sum`, grid 100,
/// all filled checkpoints, the 40 built-in pipelines).
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzeOptions {
    /// Seed of the one random generator (docs/analysis.md §9).
    pub seed: u64,
    /// How component groups are aggregated into the 2-D trajectories.
    pub aggregation: Aggregation,
    /// Grid size `G` of the irregularity score (≥ 1).
    pub grid: usize,
    /// Which checkpoints to analyze (among the filled ones).
    pub steps: StepSelection,
    /// The step selection as the user wrote it (for `summary.json`), `all` by default.
    pub steps_text: String,
    /// A comma-separated glob selecting pipelines by short name, method string or index; `None` = all.
    pub pipelines: Option<String>,
    /// Extra pipelines (e.g. from a `--pipelines-file`), numbered after the built-ins.
    pub extra_pipelines: Vec<Pipeline>,
    /// Where the extra pipelines came from (for `summary.json`).
    pub pipelines_file: Option<String>,
    /// Record wall times (`time_s` in `experiments.json` and `summary.json`, `run_time_s` and `phase_times_s` in
    /// `summary.json`). Without them every file is byte-identical between runs with the same input and seed.
    pub timings: bool,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            seed: 0,
            aggregation: Aggregation::Sum,
            grid: DEFAULT_GRID,
            steps: StepSelection::all(),
            steps_text: "all".into(),
            pipelines: None,
            extra_pipelines: Vec::new(),
            pipelines_file: None,
            timings: true,
        }
    }
}

impl AnalyzeOptions {
    /// The pipelines these options select, in run order; errors when the selection is empty or malformed.
    pub fn selected_pipelines(&self) -> Result<Vec<Pipeline>, AnalyzeError> {
        let mut all = builtin();
        all.extend(self.extra_pipelines.iter().cloned());
        let Some(glob) = &self.pipelines else {
            return Ok(all);
        };
        let pat = ComponentPattern::parse(glob)
            .map_err(|_| AnalyzeError::InvalidOption(format!("empty pipeline selection `{glob}`")))?;
        let sel: Vec<Pipeline> = all.into_iter().filter(|p| p.matches(&pat)).collect();
        if sel.is_empty() {
            return Err(AnalyzeError::InvalidOption(format!(
                "no pipeline matches `{glob}`; globs match a pipeline's short name (e.g. `folding*`, \
                 `median>*`, `*dhillon`), its method string or its index (`17`)"
            )));
        }
        Ok(sel)
    }

    /// Check the options before any work: grid ≥ 1, a valid non-empty pipeline selection.
    pub fn validate(&self) -> Result<(), AnalyzeError> {
        if self.grid == 0 {
            return Err(AnalyzeError::InvalidOption("grid must be at least 1 (the default is 100)".into()));
        }
        self.selected_pipelines().map(|_| ())
    }
}

/// The result of an analysis: the pipelines' groups, the scored experiments, and what is needed to summarize them.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Model name (from the tensor's metadata).
    pub model: String,
    /// Architecture.
    pub architecture: String,
    /// Full or compact.
    pub mode: Mode,
    /// Row summary of the tensor.
    pub summary: Summary,
    /// `[C, T, K]` of the analyzed tensor (only the checkpoints used).
    pub shape: [usize; 3],
    /// Training steps of the checkpoints used.
    pub steps: Vec<i64>,
    /// Component names, in tensor order.
    pub components: Vec<String>,
    /// The options used.
    pub options: AnalyzeOptions,
    /// The pipelines' own results, in run order.
    pub pipelines: Vec<PipelineResult>,
    /// The experiments, in final order (`id` = position).
    pub experiments: Vec<Experiment>,
    /// Wall time of the whole analysis, seconds.
    pub run_time_s: f64,
    /// Wall time per phase and clusterer family, seconds.
    pub phase_times_s: BTreeMap<String, f64>,
}

/// The tensor restricted to the checkpoints an analysis uses, checked: filled, selected, finite, non-empty.
pub fn analysis_input(tensor: &CccTensor, steps: &StepSelection) -> Result<CccTensor, AnalyzeError> {
    tensor.validate().map_err(AnalyzeError::BadInput)?;
    let t = tensor.select_steps(steps);
    if t.n_ckpt() == 0 {
        let filled = tensor.filled.iter().filter(|&&f| f).count();
        return Err(AnalyzeError::BadInput(if filled == 0 {
            "the tensor has no filled checkpoint: run `ccc summarize` first".into()
        } else {
            format!("the step selection keeps none of the {filled} filled checkpoints: see `ccc info` for the steps")
        }));
    }
    if t.n_coord == 0 || t.n_comp() == 0 {
        return Err(AnalyzeError::BadInput(format!(
            "nothing to analyze: {} coordinates × {} components",
            t.n_coord,
            t.n_comp()
        )));
    }
    t.check_finite()?;
    Ok(t)
}

/// Run the analysis of docs/analysis.md on a tensor: `prep`, the selected pipelines, the experiments and their scores.
///
/// Degenerate pipelines and experiments are recorded (status and reason), not errors. Errors: invalid options,
/// no checkpoint to analyze, a non-finite value (named by coordinate, step and component).
pub fn analyze(
    tensor: &CccTensor,
    opts: &AnalyzeOptions,
    progress: &dyn ccc_core::Progress,
) -> Result<Analysis, AnalyzeError> {
    let t_run = Instant::now();
    opts.validate()?;
    let t = analysis_input(tensor, &opts.steps)?;
    let work = Work::all(opts)?;
    let run = run_work(&Input::Memory(&t), opts, &work, progress)?;
    Ok(run.into_analysis(opts, t_run))
}

/// How `ccc analyze` reads the tensor (docs/analysis.md §13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadMode {
    /// In memory when the analyzed values take at most [`IN_MEMORY_MAX_BYTES`], blockwise otherwise.
    #[default]
    Auto,
    /// Each folding's input built whole (one at a time) and folded by one GEMM: the reference's order of
    /// operations, bit for bit; peak memory about one copy of the analyzed values.
    InMemory,
    /// Memory-mapped, a block at a time: memory bounded by `C² + K²` and the block, not by the tensor.
    Blockwise,
}

/// The largest tensor [`ReadMode::Auto`] reads in memory: 1 GiB of analyzed values (`C·T·K·4` bytes). The
/// in-memory reading then peaks at about the values once plus the `C × C` foldings (OLMo-1B's 433 MB: 0.6 GiB,
/// docs/analysis.md §13) and is the faster one; above it, blockwise bounds memory by the foldings and one block.
/// A fixed size, not the machine's free memory: the two readings round the foldings differently, so the choice
/// must not depend on the machine.
pub const IN_MEMORY_MAX_BYTES: u64 = 1 << 30;

/// How to read the tensor: the mode and the block size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// The mode.
    pub mode: ReadMode,
    /// Bytes of values read at a time (blockwise: per block of every pass; in memory: while filling a matrix).
    pub block_bytes: usize,
}

impl Default for Reading {
    fn default() -> Self {
        Reading { mode: ReadMode::Auto, block_bytes: crate::blockwise::DEFAULT_BLOCK_BYTES }
    }
}

impl Reading {
    /// Whether `view` is read in memory (exactly), rather than blockwise.
    pub fn in_memory(&self, view: &MappedTensor) -> bool {
        match self.mode {
            ReadMode::Auto => view.analyzed_bytes() <= IN_MEMORY_MAX_BYTES,
            ReadMode::InMemory => true,
            ReadMode::Blockwise => false,
        }
    }

    /// Run `f` on `view` read as this says.
    pub(crate) fn with_input<R>(
        &self,
        view: &MappedTensor,
        f: impl FnOnce(&Input<'_>) -> Result<R, AnalyzeError>,
    ) -> Result<R, AnalyzeError> {
        f(&Input::Mapped { view, block: self.block_bytes.max(1), exact: self.in_memory(view) })
    }
}

/// [`analyze`] on a memory-mapped `ccc/1` file (open it with [`MappedTensor::open`], which selects the steps),
/// never copied whole (docs/analysis.md §13). In memory, each folding's input is built whole, one at a time, and
/// the result is [`analyze`]'s bit for bit. Blockwise, `prep`, the foldings and the reductions are computed a
/// block at a time: memory is bounded by `C² + K²` and the block, whatever the tensor; the groups are
/// [`analyze`]'s for the deterministic pipelines, the foldings equal up to float rounding. Either way the
/// trajectories are computed in one streaming pass.
pub fn analyze_mapped(
    view: &MappedTensor,
    opts: &AnalyzeOptions,
    reading: &Reading,
    progress: &dyn ccc_core::Progress,
) -> Result<Analysis, AnalyzeError> {
    let t_run = Instant::now();
    opts.validate()?;
    let work = Work::all(opts)?;
    let run = reading.with_input(view, |input| run_work(input, opts, &work, progress))?;
    Ok(run.into_analysis(opts, t_run))
}

/// What an analysis reads: a checked in-memory tensor, or a mapped file read in blocks of the given bytes, exactly
/// (each folding's input whole, as in memory) or blockwise.
pub(crate) enum Input<'a> {
    /// In memory (only the checkpoints to analyze, checked).
    Memory(&'a CccTensor),
    /// Mapped.
    Mapped {
        /// The file.
        view: &'a MappedTensor,
        /// Bytes read at a time.
        block: usize,
        /// Whether each folding's input is built whole ([`ReadMode::InMemory`]) rather than folded by blocks.
        exact: bool,
    },
}

impl Input<'_> {
    pub(crate) fn shape(&self) -> [usize; 3] {
        match self {
            Input::Memory(t) => t.shape(),
            Input::Mapped { view, .. } => view.shape(),
        }
    }
    pub(crate) fn steps(&self) -> Vec<i64> {
        match self {
            Input::Memory(t) => t.steps.clone(),
            Input::Mapped { view, .. } => view.steps().to_vec(),
        }
    }
    pub(crate) fn meta(&self) -> &ccc_core::CccMeta {
        match self {
            Input::Memory(t) => &t.meta,
            Input::Mapped { view, .. } => view.meta(),
        }
    }
}

/// Which part of an analysis to run: all selected pipelines, or a shard of them (docs/analysis.md §10).
pub(crate) struct Work {
    /// Every selected pipeline, in run order.
    pub(crate) pipelines: Vec<Pipeline>,
    /// The indices (`Pipeline::index`) of those to run.
    pub(crate) run: std::collections::BTreeSet<usize>,
    /// Whether to build the experiments of the `comps_grps:*` groupings.
    pub(crate) extras: bool,
}

impl Work {
    /// All of it.
    pub(crate) fn all(opts: &AnalyzeOptions) -> Result<Work, AnalyzeError> {
        let pipelines = opts.selected_pipelines()?;
        let run = pipelines.iter().map(|p| p.index).collect();
        Ok(Work { pipelines, run, extras: true })
    }
}

/// The result of running some [`Work`]: its pipelines' results, its experiments (with their positions), timings.
pub(crate) struct WorkResult {
    pub(crate) model: String,
    pub(crate) architecture: String,
    pub(crate) mode: Mode,
    pub(crate) summary: Summary,
    pub(crate) shape: [usize; 3],
    pub(crate) steps: Vec<i64>,
    pub(crate) components: Vec<String>,
    /// Results of the pipelines run, in run order.
    pub(crate) results: Vec<PipelineResult>,
    /// The experiments built, with their positions in the unsorted list.
    pub(crate) experiments: Vec<(usize, Experiment)>,
    /// Length of the whole unsorted experiment list.
    pub(crate) n_experiments: usize,
    pub(crate) phase_times_s: BTreeMap<String, f64>,
}

impl WorkResult {
    /// The whole analysis (when the work was all of it).
    pub(crate) fn into_analysis(self, opts: &AnalyzeOptions, t_run: Instant) -> Analysis {
        let mut phase_times_s = self.phase_times_s;
        let run_time_s = t_run.elapsed().as_secs_f64();
        phase_times_s.insert("total".into(), run_time_s);
        Analysis {
            model: self.model,
            architecture: self.architecture,
            mode: self.mode,
            summary: self.summary,
            shape: self.shape,
            steps: self.steps,
            components: self.components,
            options: opts.clone(),
            pipelines: self.results,
            experiments: order_experiments(self.experiments),
            run_time_s,
            phase_times_s,
        }
    }
}

/// Run `work` on `input`: `prep`, the pipelines to run, their experiments.
pub(crate) fn run_work(
    input: &Input<'_>,
    opts: &AnalyzeOptions,
    work: &Work,
    progress: &dyn ccc_core::Progress,
) -> Result<WorkResult, AnalyzeError> {
    let [n_c, n_t, n_k] = input.shape();
    if n_t < 3 {
        progress
            .warn(&format!("only {n_t} checkpoint(s) to analyze: irregularity needs at least 3 and will be undefined"));
    }
    let times = Times::default();
    let to_run: Vec<Pipeline> = work.pipelines.iter().filter(|p| work.run.contains(&p.index)).cloned().collect();
    let t0 = Instant::now();
    let run = |p: &dyn crate::classify::PrepInput| {
        times.add("prep", t0.elapsed().as_secs_f64());
        let t1 = Instant::now();
        let r = run_pipelines(p, &to_run, opts.seed, &times, progress);
        times.add("classifiers", t1.elapsed().as_secs_f64());
        r
    };
    let ran = match *input {
        Input::Memory(t) => {
            let stats = checked_stats(t, &t.steps, &t.meta, progress)?;
            run(&StagedPrep::new(t, stats, DEFAULT_BLOCK_BYTES, progress))
        }
        Input::Mapped { view, block, exact: true } => {
            let stats = checked_stats(view, view.steps(), view.meta(), progress)?;
            run(&StagedPrep::new(view, stats, block, progress))
        }
        Input::Mapped { view, block, exact: false } => run(&BlockwisePrep::new(view, block, progress)?),
    };
    // The experiment list's skeleton depends on every selected pipeline: those not run stand in as failed.
    let mut ran = ran.into_iter();
    let results: Vec<PipelineResult> = work
        .pipelines
        .iter()
        .map(|p| if work.run.contains(&p.index) { ran.next().unwrap_or_else(|| not_run(p)) } else { not_run(p) })
        .collect();
    let traj_of = |gs: &[(Vec<usize>, Vec<usize>)]| match input {
        Input::Memory(t) => tensor_trajectories(t, opts.aggregation, gs),
        Input::Mapped { view, block, .. } => trajectories_mapped(view, gs, opts.aggregation, *block),
    };
    let ex_in = ExperimentInput { n_coord: n_c, n_ckpt: n_t, n_comp: n_k, trajectories: &traj_of };
    let keep = |p: Option<usize>| match p {
        Some(i) => work.run.contains(&i),
        None => work.extras,
    };
    let (experiments, n_experiments) =
        build_experiments(&ex_in, &results, opts.grid, opts.seed, &times, progress, &keep);
    let meta = input.meta();
    Ok(WorkResult {
        model: meta.model.clone(),
        architecture: meta.architecture.clone(),
        mode: meta.mode,
        summary: meta.summary,
        shape: input.shape(),
        steps: input.steps(),
        components: meta.component_names(),
        results: results.into_iter().filter(|r| work.run.contains(&r.pipeline.index)).collect(),
        experiments,
        n_experiments,
        phase_times_s: times.into_map(),
    })
}

/// The stand-in of a pipeline another shard runs.
fn not_run(p: &Pipeline) -> PipelineResult {
    PipelineResult {
        pipeline: p.clone(),
        status: Status::Failed,
        reason: Some("run by another shard".into()),
        groups: Groups::default(),
        time_s: 0.0,
    }
}

impl Analysis {
    /// How many experiments have each status.
    pub fn status_counts(&self) -> StatusCounts {
        StatusCounts::of(self.experiments.iter().map(|e| e.status))
    }

    /// The distinct sources, in order of first appearance.
    pub fn sources(&self) -> Vec<Source> {
        let mut v: Vec<Source> = Vec::new();
        for e in &self.experiments {
            if !v.contains(&e.source) {
                v.push(e.source);
            }
        }
        v
    }

    /// The experiments that split the coordinates (not failed), with their outlier sets.
    fn with_coords(&self) -> impl Iterator<Item = &Experiment> {
        self.experiments.iter().filter(|e| e.status != Status::Failed && e.groups.has_coords())
    }

    /// The experiments with component groups (not failed).
    fn with_comps(&self) -> impl Iterator<Item = &Experiment> {
        self.experiments.iter().filter(|e| e.status != Status::Failed && e.groups.has_comps())
    }

    /// The outlier indicator matrix of docs/analysis.md §8: `(experiment ids, column coordinates, rows of ±1)`; columns
    /// ordered by their sums, descending (ties by coordinate).
    pub fn outlier_indicator(&self) -> (Vec<usize>, Vec<usize>, Vec<Vec<i8>>) {
        let n_c = self.shape[0];
        let rows: Vec<(usize, Vec<i8>)> = self
            .with_coords()
            .map(|e| {
                let mut r = vec![-1i8; n_c];
                for &c in e.groups.coords_out.as_deref().unwrap_or(&[]) {
                    if c < n_c {
                        r[c] = 1;
                    }
                }
                (e.id, r)
            })
            .collect();
        let sums: Vec<i64> = (0..n_c).map(|c| rows.iter().map(|(_, r)| r[c] as i64).sum()).collect();
        let mut cols: Vec<usize> = (0..n_c).collect();
        cols.sort_by(|&a, &b| sums[b].cmp(&sums[a]).then(a.cmp(&b)));
        let ids = rows.iter().map(|(id, _)| *id).collect();
        let matrix = rows.iter().map(|(_, r)| cols.iter().map(|&c| r[c]).collect()).collect();
        (ids, cols, matrix)
    }

    /// The component indicator matrix of docs/analysis.md §8: `(experiment ids, rows of +1/−1/0 in component order)`.
    /// The group that does not contain component 0 is `+1`, the other `−1` (component 0 in neither: group 1 is
    /// `−1`); a component in both groups gets `−1`.
    pub fn component_indicator(&self) -> (Vec<usize>, Vec<Vec<i8>>) {
        let n_k = self.shape[2];
        let mut ids = Vec::new();
        let mut matrix = Vec::new();
        for e in self.with_comps() {
            let g1 = e.groups.comps_grp1.as_deref().unwrap_or(&[]);
            let g2 = e.groups.comps_grp2.as_deref().unwrap_or(&[]);
            let (minus, plus) = if g2.contains(&0) && !g1.contains(&0) { (g2, g1) } else { (g1, g2) };
            let mut r = vec![0i8; n_k];
            for &k in plus {
                if k < n_k {
                    r[k] = 1;
                }
            }
            for &k in minus {
                if k < n_k {
                    r[k] = -1;
                }
            }
            ids.push(e.id);
            matrix.push(r);
        }
        (ids, matrix)
    }

    /// For every coordinate, the fraction of experiments (with a coordinate split) that call it an outlier.
    pub fn coord_consensus(&self) -> Vec<f64> {
        let n_c = self.shape[0];
        let mut count = vec![0usize; n_c];
        let mut n = 0usize;
        for e in self.with_coords() {
            n += 1;
            for &c in e.groups.coords_out.as_deref().unwrap_or(&[]) {
                if c < n_c {
                    count[c] += 1;
                }
            }
        }
        count.iter().map(|&k| if n == 0 { 0.0 } else { k as f64 / n as f64 }).collect()
    }

    /// For every component, the fractions of experiments (with component groups) with it in group 1, in group 2,
    /// and in neither.
    pub fn comp_consensus(&self) -> Vec<(f64, f64, f64)> {
        let n_k = self.shape[2];
        let mut c = vec![(0usize, 0usize, 0usize); n_k];
        let mut n = 0usize;
        for e in self.with_comps() {
            n += 1;
            let mut in1 = vec![false; n_k];
            let mut in2 = vec![false; n_k];
            for &k in e.groups.comps_grp1.as_deref().unwrap_or(&[]) {
                if k < n_k {
                    in1[k] = true;
                }
            }
            for &k in e.groups.comps_grp2.as_deref().unwrap_or(&[]) {
                if k < n_k {
                    in2[k] = true;
                }
            }
            for k in 0..n_k {
                c[k].0 += in1[k] as usize;
                c[k].1 += in2[k] as usize;
                c[k].2 += (!in1[k] && !in2[k]) as usize;
            }
        }
        let f = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
        c.iter().map(|&(a, b, d)| (f(a), f(b), f(d))).collect()
    }
}

/// Check a groups record against a tensor's shape and completeness for scoring.
pub fn check_groups(g: &Groups, n_coord: usize, n_comp: usize) -> Result<(), AnalyzeError> {
    g.validate(n_coord, n_comp).map_err(AnalyzeError::BadGroups)?;
    if !g.has_comps() {
        return Err(AnalyzeError::BadGroups(
            "`comps_grp1` and `comps_grp2` are required (the trajectories are drawn from them)".into(),
        ));
    }
    if g.coords_in.is_some() != g.coords_out.is_some() {
        return Err(AnalyzeError::BadGroups(
            "give both `coords_in` and `coords_out`, or neither (then an outlier method finds them)".into(),
        ));
    }
    if let (Some(i), Some(o)) = (&g.coords_in, &g.coords_out) {
        let mut seen = vec![0u8; n_coord];
        for &c in i.iter().chain(o) {
            seen[c] += 1;
        }
        if let Some(c) = seen.iter().position(|&s| s != 1) {
            return Err(AnalyzeError::BadGroups(format!(
                "`coords_in` and `coords_out` must partition the {n_coord} coordinates; coordinate {c} appears {} times",
                seen[c]
            )));
        }
    }
    Ok(())
}

/// Score one groups record on a tensor (already restricted to the checkpoints to use, see [`analysis_input`]).
///
/// A record with component groups but no coordinate split is completed by `outliers` (the record's coordinates
/// win when both are given); the completed record is returned with its scores.
pub fn score_groups(
    t: &CccTensor,
    g: &Groups,
    outliers: Option<crate::outliers::OutlierMethod>,
    aggregation: Aggregation,
    grid: usize,
    seed: u64,
) -> Result<(Groups, crate::score::Scores), AnalyzeError> {
    if grid == 0 {
        return Err(AnalyzeError::InvalidOption("grid must be at least 1 (the default is 100)".into()));
    }
    check_groups(g, t.n_coord, t.n_comp())?;
    let g1 = g.comps_grp1.as_deref().unwrap_or(&[]);
    let g2 = g.comps_grp2.as_deref().unwrap_or(&[]);
    let tr = crate::trajectory::trajectories(t, g1, g2, aggregation);
    let mut done = g.clone();
    if !g.has_coords() {
        let Some(m) = outliers else {
            return Err(AnalyzeError::BadGroups(
                "no `coords_in`/`coords_out`: give them, or name an outlier method to find them (e.g. `MAD-union-dif`)"
                    .into(),
            ));
        };
        let mut rng = rng_for(seed, Stream::Lincomb(0));
        let (i, o) = Groups::coords_from_outliers(t.n_coord, &m.apply(&tr, &mut rng));
        done.coords_in = Some(i);
        done.coords_out = Some(o);
    }
    let cin = done.coords_in.as_deref().unwrap_or(&[]);
    let n_out = done.coords_out.as_ref().map_or(0, Vec::len);
    let s = crate::score::score(&tr, cin, n_out, grid);
    Ok((done, s))
}
