//! `ccc search`: the groupings with the best scores, and whether they beat a null model (docs/search.md).
//!
//! The search minimizes both scores of docs/analysis.md §7 — the irregularity of the inliers' 2-D flow and the
//! fraction of outlier coordinates — over groupings (outliers, component group 1, group 2, discarded
//! components), with the exact definitions of [`crate::score_groups`]:
//!
//! 1. **Start points**: every distinct non-degenerate experiment of `experiments.json` within the limits, and
//!    random groupings.
//! 2. **Runs**: simulated annealing of the irregularity under an ε-constraint on the outlier count (the start's
//!    own count), with moves of one component between group 1 / group 2 / discarded, swaps of two components,
//!    and adding, removing or exchanging an outlier; every grouping accepted or a record at its outlier count
//!    goes to a Pareto archive holding the best grouping per outlier count. Round 1 runs from every start point;
//!    round 2 restarts from every point of the merged front with the rest of the budget.
//! 3. **Incremental evaluation** ([`eval`]): a move updates one or two group sums by one column and rescores
//!    only what changed.
//! 4. **Exact scores**: the front's groupings are rescored with [`crate::score_groups`], so the reported scores
//!    are those `ccc score --groups` gives.
//! 5. **Null model**: the same search, with the same start points and budget, on null tensors whose coordinates
//!    are permuted within each component ([`NullMethod`]); each front point gets `null_ratio` and a permutation
//!    `p_value`, and its percentile among random groupings of the same sizes.
//!
//! Everything random draws from the seeded streams of the analysis's generator, one per run, so the result
//! depends on the seed and the evaluation budget only — not on the number of threads.

mod anneal;
mod archive;
mod cells;
mod data;
mod eval;
mod moves;
mod null;
mod random;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ccc_core::{CccTensor, Groups, Progress, StepSelection};
use rand::seq::{index, SliceRandom};
use rand::Rng;
use rayon::prelude::*;

use crate::analysis::{analysis_input, score_groups};
use crate::error::AnalyzeError;
use crate::files::experiments::{ExperimentGroups, GroupNames};
use crate::files::search::{
    ExperimentVsFront, FrontRecord, FrontScores, NullRecord, RandomWord, SearchFileOptions, StartCounts, StartRef,
};
use crate::files::search_csv::{SearchCsv, SearchRow};
use crate::files::{AnalysisFile, ExperimentsFile, FormatVersion, SearchFile, Status};
use crate::rng::{rng_for, Stream};
use crate::score::DEFAULT_GRID;
use crate::trajectory::Aggregation;
use anneal::{anneal, Counters, Start};
use archive::{pareto_indices, Archive, Found};
use data::SearchData;
use moves::Limits;
pub use null::NullMethod;

/// How long a search runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// Evaluations of each search (the real one and every null): deterministic.
    Evaluations(u64),
    /// Wall seconds for all searches together, turned once into an evaluation count from a short timed pilot
    /// (the count is recorded in `search.json`: pass it as `--budget` to repeat the run exactly).
    Seconds(f64),
    /// An evaluation count from the tensor's shape alone ([`auto_budget`]): deterministic, and about the same
    /// wall time for small tensors as for large ones, whose evaluations cost more.
    Auto,
}

/// Evaluations of [`Budget::Auto`]: [`DEFAULT_BUDGET`] at the pythia-70m shape (512 coordinates × 40 checkpoints)
/// and above; more for smaller tensors, in proportion to how much cheaper an evaluation is there (it costs
/// `O(coordinates × checkpoints)`), up to [`AUTO_BUDGET_MAX`].
pub fn auto_budget(n_coord: usize, n_ckpt: usize) -> u64 {
    const REFERENCE: f64 = 512.0 * 40.0;
    let cells = (n_coord.max(1) * n_ckpt.max(1)) as f64;
    let scaled = (DEFAULT_BUDGET as f64 * REFERENCE / cells) as u64 / 1000 * 1000;
    scaled.clamp(DEFAULT_BUDGET, AUTO_BUDGET_MAX)
}

/// The largest evaluation count [`Budget::Auto`] gives.
pub const AUTO_BUDGET_MAX: u64 = 600_000;

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Budget::Evaluations(n) => write!(f, "{n}"),
            Budget::Seconds(s) => write!(f, "{s}s"),
            Budget::Auto => f.write_str("auto"),
        }
    }
}

impl std::str::FromStr for Budget {
    type Err = AnalyzeError;

    /// An evaluation count (`200000`, `200_000`), a wall time (`90s`, `5m`, `1.5h`) or `auto`, as `--budget`
    /// takes it.
    fn from_str(s: &str) -> Result<Self, AnalyzeError> {
        let s = s.trim();
        if s == "auto" {
            return Ok(Budget::Auto);
        }
        let bad = || {
            AnalyzeError::InvalidOption(format!(
                "`{s}` is not a budget: give evaluations (`200000`) or a time (`90s`, `5m`, `1h`)"
            ))
        };
        if let Ok(n) = s.replace('_', "").parse::<u64>() {
            return if n == 0 {
                Err(AnalyzeError::InvalidOption("the budget must be at least 1 evaluation".into()))
            } else {
                Ok(Budget::Evaluations(n))
            };
        }
        let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(bad)?);
        let v: f64 = num.trim().parse().map_err(|_| bad())?;
        let secs = match unit {
            "s" => v,
            "m" | "min" => v * 60.0,
            "h" => v * 3600.0,
            _ => return Err(bad()),
        };
        if !(secs > 0.0 && secs.is_finite()) {
            return Err(bad());
        }
        Ok(Budget::Seconds(secs))
    }
}

/// Evaluations of each search at the pythia-70m shape and above (the default, [`Budget::Auto`], gives smaller
/// tensors more).
pub const DEFAULT_BUDGET: u64 = 200_000;

/// Options of a search. [`SearchOptions::default`] is what `ccc search` runs without flags.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    /// Seed of every random draw (start points, runs, null tensors, random groupings).
    pub seed: u64,
    /// How component groups are aggregated (as `ccc score --agg`).
    pub aggregation: Aggregation,
    /// Grid `G` of the irregularity (≥ 1).
    pub grid: usize,
    /// Which checkpoints to use (among the filled ones).
    pub steps: StepSelection,
    /// The step selection as the user wrote it, `all` by default.
    pub steps_text: String,
    /// How long each search runs.
    pub budget: Budget,
    /// Null tensors to search (0: no null comparison).
    pub nulls: usize,
    /// How the null tensors are made.
    pub null_method: NullMethod,
    /// Random groupings per front point for `random_percentile` (0: none).
    pub random: usize,
    /// Random start points besides the experiments.
    pub random_starts: usize,
    /// Largest fraction of outlier coordinates, in `[0, 1)`.
    pub max_fraction: f64,
    /// Fewest components in each group (≥ 1).
    pub min_group: usize,
    /// Record the wall time in `search.json`.
    pub timings: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            seed: 0,
            aggregation: Aggregation::Sum,
            grid: DEFAULT_GRID,
            steps: StepSelection::all(),
            steps_text: "all".into(),
            budget: Budget::Auto,
            nulls: 3,
            null_method: NullMethod::PermuteCoords,
            random: 100,
            random_starts: 16,
            max_fraction: 0.2,
            min_group: 2,
            timings: true,
        }
    }
}

impl SearchOptions {
    /// Check the options before any work.
    pub fn validate(&self) -> Result<(), AnalyzeError> {
        let bad = |m: String| Err(AnalyzeError::InvalidOption(m));
        if self.grid == 0 {
            return bad("grid must be at least 1 (the default is 100)".into());
        }
        if self.grid > usize::from(u16::MAX) {
            return bad(format!("grid must be at most {} for the search, not {}", u16::MAX, self.grid));
        }
        if !(0.0..1.0).contains(&self.max_fraction) {
            return bad(format!("max-fraction must be in [0, 1), not {}", self.max_fraction));
        }
        if self.min_group == 0 {
            return bad("min-group must be at least 1: an empty group has no trajectory".into());
        }
        match self.budget {
            Budget::Evaluations(0) => return bad("the budget must be at least 1 evaluation".into()),
            Budget::Seconds(s) if !(s > 0.0 && s.is_finite()) => {
                return bad(format!("a time budget must be a positive number of seconds, not {s}"))
            }
            _ => {}
        }
        Ok(())
    }
}

/// The result of a search, ready to be written as `search.json` and `search.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// The contents of `search.json`.
    pub file: SearchFile,
}

impl SearchResult {
    /// `search.csv`'s rows.
    pub fn csv(&self) -> SearchCsv {
        SearchCsv {
            rows: self
                .file
                .front
                .iter()
                .enumerate()
                .map(|(index, p)| SearchRow {
                    index,
                    irregularity: p.scores.irregularity,
                    fraction: p.scores.fraction,
                    n_outliers: p.groups.coords_out.len(),
                    n_grp1: p.groups.comps_grp1.len(),
                    n_grp2: p.groups.comps_grp2.len(),
                    null_ratio: p.null_ratio,
                    p_value: p.p_value,
                    random_percentile: p.random_percentile,
                    start: p.start,
                })
                .collect(),
        }
    }

    /// Write `search.json` and `search.csv` into `dir` (which must exist), each atomically.
    pub fn write_to(&self, dir: &std::path::Path) -> Result<(), AnalyzeError> {
        self.file.write(dir)?;
        self.csv().write(dir)?;
        Ok(())
    }
}

/// One plain sentence: does the structure beat the null? (For the report and the command line.)
pub fn verdict(f: &SearchFile) -> String {
    let n = f.null.fronts.len();
    if f.front.is_empty() {
        return "The search found no grouping within the limits.".into();
    }
    if n == 0 {
        return "No null tensors were searched (--nulls 0), so these scores cannot be told apart from what any \
                tensor would give."
            .into();
    }
    let min_p = 1.0 / (1 + n) as f64;
    let Some((best, at)) =
        f.front.iter().filter_map(|p| p.null_ratio.map(|r| (r, p.scores.fraction))).min_by(|a, b| a.0.total_cmp(&b.0))
    else {
        return "The null fronts reach no fraction as low as the front's, so there is nothing to compare.".into();
    };
    let p = f.front.iter().filter_map(|p| p.p_value).fold(1.0f64, f64::min);
    let what = f.null.method.description();
    if best <= STRONG && p <= min_p {
        format!(
            "Yes: at fraction {at:.3} the front is {:.1}× more regular than anything the same search finds on {n} \
             null tensors {what} (p = {p:.2}, the smallest {n} nulls allow).",
            1.0 / best
        )
    } else if best < WEAK {
        format!(
            "Weakly: the front is at best {:.0}% more regular than what the same search finds on {n} null tensors \
             {what} (ratio {best:.2}, p = {p:.2}); that is little evidence of clustered structure.",
            (1.0 - best) * 100.0
        )
    } else {
        format!(
            "No: the same search finds groupings about as regular (ratio {best:.2}) on {n} null tensors {what}, so \
             these scores are no evidence of clustered structure."
        )
    }
}

/// A `null_ratio` at most this says the structure clearly beats the null.
const STRONG: f64 = 0.5;
/// A `null_ratio` at least this says it does not.
const WEAK: f64 = 0.8;

/// The limits every grouping respects.
#[derive(Debug, Clone, Copy)]
struct Global {
    min_group: usize,
    max_out: usize,
}

/// Run the search on a tensor, from the experiments of its analysis (docs/search.md).
///
/// `cancel` stops the search early: the front found so far is scored and returned, marked `interrupted`.
/// Errors: invalid options, fewer than 3 checkpoints, experiments that do not fit the tensor, too few
/// components for two groups of `min_group`.
pub fn search(
    tensor: &CccTensor,
    experiments: &ExperimentsFile,
    opts: &SearchOptions,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<SearchResult, AnalyzeError> {
    let t_run = Instant::now();
    opts.validate()?;
    let t = analysis_input(tensor, &opts.steps)?;
    let (n_c, n_t, n_k) = (t.n_coord, t.n_ckpt(), t.n_comp());
    if n_t < 3 {
        return Err(AnalyzeError::BadInput(format!(
            "the search needs at least 3 checkpoints (irregularity bins the steps t → t+1 from t = 1), but there \
             {} {n_t}",
            if n_t == 1 { "is" } else { "are" }
        )));
    }
    if n_k < 2 * opts.min_group {
        return Err(AnalyzeError::InvalidOption(format!(
            "{n_k} components cannot form two groups of at least {} (--min-group)",
            opts.min_group
        )));
    }
    if n_c < 2 {
        return Err(AnalyzeError::BadInput(format!("the search needs at least 2 coordinates, not {n_c}")));
    }
    let g =
        Global { min_group: opts.min_group, max_out: ((opts.max_fraction * n_c as f64).floor() as usize).min(n_c - 1) };

    // Start points: distinct usable experiments, then random groupings.
    let (mut starts, origins, skipped) = experiment_starts(experiments, n_c, n_k, g)?;
    let n_exp_starts = starts.len();
    starts.extend(random_starts(opts.seed, opts.random_starts, n_c, n_k, g, origins.len()));
    let mut origin_ref: Vec<StartRef> = origins.into_iter().map(StartRef::Experiment).collect();
    origin_ref.extend((0..opts.random_starts).map(|_| StartRef::Random(RandomWord::Random)));
    if starts.is_empty() {
        return Err(AnalyzeError::InvalidOption(
            "no start point: every experiment is degenerate or outside the limits, and --random-starts is 0".into(),
        ));
    }

    let data = SearchData::new(&t, opts.aggregation);
    let budget = match opts.budget {
        Budget::Evaluations(e) => e,
        Budget::Seconds(s) => budget_for_time(&data, opts, &starts, g, s),
        Budget::Auto => auto_budget(n_c, n_t),
    };
    progress.start("search", budget * (1 + opts.nulls as u64), "evaluations");
    let counters = Counters::new();
    let monitor = Monitor { progress, counters: &counters };

    let archive = run_search(&data, &starts, budget, opts, g, 0, cancel, &monitor);
    let mut front = exact_front(&t, &archive, opts)?;

    let mut null_fronts: Vec<Vec<(f64, f64)>> = Vec::new();
    for i in 0..opts.nulls {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let nt = null::null_tensor(&t, opts.null_method, opts.seed, i as u64);
        let nd = SearchData::new(&nt, opts.aggregation);
        let a = run_search(&nd, &starts, budget, opts, g, i as u64 + 1, cancel, &monitor);
        if cancel.load(Ordering::Relaxed) {
            break; // an unfinished null would make the comparison look better than it is
        }
        null_fronts.push(exact_front(&nt, &a, opts)?.into_iter().map(|(s, _)| (s.fraction, s.irregularity)).collect());
    }
    progress.finish();
    let interrupted = cancel.load(Ordering::Relaxed);

    // Random groupings of each front point's sizes.
    let targets: Vec<random::Target> = front
        .iter()
        .map(|(s, f)| random::Target {
            n1: f.grp1.len(),
            n2: f.grp2.len(),
            n_out: f.coords_out.len(),
            irregularity: s.irregularity,
        })
        .collect();
    let percentiles = if interrupted {
        vec![None; targets.len()]
    } else {
        random::percentiles(&data, opts.grid, opts.seed, &targets, opts.random)
    };

    let components = t.meta.component_names();
    let records: Vec<FrontRecord> = front
        .drain(..)
        .zip(percentiles)
        .map(|((s, f), pct)| {
            let (null_ratio, p_value) = null::compare((s.fraction, s.irregularity), &null_fronts);
            let groups = groups_of(&f, n_c);
            FrontRecord {
                group_names: GroupNames::of(&groups, &components),
                groups,
                scores: s,
                null_ratio,
                p_value,
                random_percentile: pct,
                start: origin_ref[f.start],
            }
        })
        .collect();
    let experiments_front = compare_experiments(experiments, &records);
    let file = SearchFile {
        format: FormatVersion,
        model: t.meta.model.clone(),
        shape: t.shape(),
        seed: opts.seed,
        options: SearchFileOptions {
            aggregation: opts.aggregation,
            grid: opts.grid,
            steps: opts.steps_text.clone(),
            budget,
            nulls: opts.nulls,
            random: opts.random,
            random_starts: opts.random_starts,
            max_fraction: opts.max_fraction,
            min_group: opts.min_group,
        },
        front: records,
        null: NullRecord {
            method: opts.null_method,
            fronts: null_fronts
                .iter()
                .map(|f| f.iter().map(|&(fraction, irregularity)| FrontScores { irregularity, fraction }).collect())
                .collect(),
        },
        experiments_front,
        starts: StartCounts { experiments: n_exp_starts, random: opts.random_starts, skipped },
        evaluations: counters.evaluations.load(Ordering::Relaxed),
        interrupted,
        run_time_s: opts.timings.then(|| t_run.elapsed().as_secs_f64()),
    };
    Ok(SearchResult { file })
}

/// Where runs report: the progress display and the shared counters.
struct Monitor<'a> {
    progress: &'a dyn Progress,
    counters: &'a Counters,
}

/// The distinct experiments usable as start points (ok, within the limits), their ids, and how many were skipped.
fn experiment_starts(
    experiments: &ExperimentsFile,
    n_c: usize,
    n_k: usize,
    g: Global,
) -> Result<(Vec<Start>, Vec<usize>, usize), AnalyzeError> {
    let mut seen = BTreeSet::new();
    let (mut starts, mut ids, mut skipped) = (Vec::new(), Vec::new(), 0);
    for e in &experiments.experiments {
        let gr = &e.groups;
        if let Err(why) = gr.to_groups().validate(n_c, n_k) {
            return Err(AnalyzeError::BadGroups(format!(
                "experiment {} does not fit the tensor ({n_c} coordinates × {n_k} components): {why}; was \
                 experiments.json written for another tensor? Re-run `ccc analyze`",
                e.id
            )));
        }
        let usable = e.status == Status::Ok
            && e.scores.irregularity.is_some()
            && gr.comps_grp1.len() >= g.min_group
            && gr.comps_grp2.len() >= g.min_group
            && gr.coords_out.len() <= g.max_out;
        if !usable || !seen.insert((gr.comps_grp1.clone(), gr.comps_grp2.clone(), gr.coords_out.clone())) {
            skipped += 1;
            continue;
        }
        let f = Found {
            grp1: gr.comps_grp1.clone(),
            grp2: gr.comps_grp2.clone(),
            coords_out: gr.coords_out.clone(),
            start: starts.len(),
        };
        starts.push(Start::of(&f, n_c, n_k));
        ids.push(e.id);
    }
    Ok((starts, ids, skipped))
}

/// `n` random start points (the same for the real tensor and every null): each component in group 1, group 2 or
/// discarded with equal chance (each group topped up to `min_group`), and a uniform number of random outliers.
fn random_starts(seed: u64, n: usize, n_c: usize, n_k: usize, g: Global, first: usize) -> Vec<Start> {
    let mut rng = rng_for(seed, Stream::SearchStarts);
    (0..n)
        .map(|i| {
            let mut perm: Vec<usize> = (0..n_k).collect();
            perm.shuffle(&mut rng);
            let (mut in1, mut in2) = (vec![false; n_k], vec![false; n_k]);
            // The first 2·min_group of the permutation fill the two groups; the rest go anywhere.
            for (j, &k) in perm.iter().enumerate() {
                let slot = if j < 2 * g.min_group { (j % 2) as u32 } else { rng.random_range(0..3u32) };
                match slot {
                    0 => in1[k] = true,
                    1 => in2[k] = true,
                    _ => {}
                }
            }
            let n_out = rng.random_range(0..=g.max_out);
            let mut out = vec![false; n_c];
            for c in index::sample(&mut rng, n_c, n_out) {
                out[c] = true;
            }
            Start { in1, in2, out, origin: first + i }
        })
        .collect()
}

/// Split `total` into `n` shares differing by at most one.
fn shares(total: u64, n: usize) -> Vec<u64> {
    let n64 = n.max(1) as u64;
    (0..n as u64).map(|i| total / n64 + u64::from(i < total % n64)).collect()
}

/// One search (two rounds) on one tensor (`tensor` 0 is the real one); the merged archive.
#[allow(clippy::too_many_arguments)]
fn run_search(
    d: &SearchData,
    starts: &[Start],
    budget: u64,
    opts: &SearchOptions,
    g: Global,
    tensor: u64,
    cancel: &AtomicBool,
    monitor: &Monitor<'_>,
) -> Archive {
    let round1 = budget / 2;
    let runs = |round: u64, starts: &[(Start, usize)], budgets: &[u64]| -> Archive {
        let archives: Vec<Archive> = starts
            .par_iter()
            .zip(budgets)
            .enumerate()
            .map(|(i, ((s, cap), &b))| {
                let mut archive = Archive::new(g.max_out);
                if b == 0 || cancel.load(Ordering::Relaxed) {
                    return archive;
                }
                let mut rng = rng_for(opts.seed, Stream::SearchRun { tensor, round, run: i as u64 });
                let limits = Limits { min_group: g.min_group, max_out: (*cap).min(g.max_out) };
                anneal(d, opts.grid, s, limits, b, &mut rng, cancel, monitor.counters, &mut archive);
                monitor.progress.advance(b);
                if let Some(best) = monitor.counters.best_so_far() {
                    let what = if tensor == 0 { "best".to_string() } else { format!("null {tensor}: best") };
                    monitor.progress.status(&format!("{what} irregularity {best:.5}"));
                }
                archive
            })
            .collect();
        let mut merged = Archive::new(g.max_out);
        for a in archives {
            merged.merge(a);
        }
        merged
    };
    // Round 1: every start point, at its own outlier count.
    let first: Vec<(Start, usize)> = starts.iter().map(|s| (s.clone(), s.n_out())).collect();
    let mut archive = runs(0, &first, &shares(round1, first.len()));
    if cancel.load(Ordering::Relaxed) {
        return archive;
    }
    // Round 2: from the front, towards eight outlier counts spread over the allowed range as well as the front's
    // own counts, so that a front that collapsed onto few counts still gets explored across fractions.
    let front = archive.front();
    let mut targets: Vec<usize> = front.iter().map(|&(n, _, _)| n).collect();
    targets.extend((0..8).map(|j| j * g.max_out / 7));
    targets.sort_unstable();
    targets.dedup();
    let second: Vec<(Start, usize)> = targets
        .into_iter()
        .filter_map(|target| {
            let (_, _, f) = front.iter().rev().find(|&&(n, _, _)| n <= target)?;
            Some((Start::of(f, d.n_coord, d.n_comp), target))
        })
        .collect();
    let more = runs(1, &second, &shares(budget - round1, second.len()));
    drop(front);
    archive.merge(more);
    archive
}

/// The archive's front rescored exactly (`score_groups`), non-dominated points only, by increasing fraction.
fn exact_front(
    t: &CccTensor,
    archive: &Archive,
    opts: &SearchOptions,
) -> Result<Vec<(FrontScores, Found)>, AnalyzeError> {
    let cands: Vec<&Found> = archive.front().into_iter().map(|(_, _, f)| f).collect();
    let scored: Vec<Result<(FrontScores, Found), AnalyzeError>> = cands
        .par_iter()
        .map(|f| {
            let g = groups_of(f, t.n_coord).to_groups();
            let (_, s) = score_groups(t, &g, None, opts.aggregation, opts.grid, opts.seed)?;
            let irr = s.irregularity.unwrap_or(f64::INFINITY);
            Ok((FrontScores { irregularity: irr, fraction: s.fraction }, (*f).clone()))
        })
        .collect();
    let scored: Vec<(FrontScores, Found)> = scored.into_iter().collect::<Result<_, _>>()?;
    let points: Vec<(f64, f64)> = scored.iter().map(|(s, _)| (s.fraction, s.irregularity)).collect();
    Ok(pareto_indices(&points).into_iter().filter(|&i| points[i].1.is_finite()).map(|i| scored[i].clone()).collect())
}

/// The four lists of a found grouping.
fn groups_of(f: &Found, n_c: usize) -> ExperimentGroups {
    let (coords_in, coords_out) = Groups::coords_from_outliers(n_c, &f.coords_out);
    ExperimentGroups { coords_in, coords_out, comps_grp1: f.grp1.clone(), comps_grp2: f.grp2.clone() }
}

/// The experiments' own Pareto front (ok experiments), each with the most regular front point dominating it.
fn compare_experiments(experiments: &ExperimentsFile, front: &[FrontRecord]) -> Vec<ExperimentVsFront> {
    let ok: Vec<(usize, f64, f64)> = experiments
        .experiments
        .iter()
        .filter(|e| e.status == Status::Ok)
        .filter_map(|e| Some((e.id, e.scores.fraction?, e.scores.irregularity?)))
        .collect();
    let points: Vec<(f64, f64)> = ok.iter().map(|&(_, f, i)| (f, i)).collect();
    pareto_indices(&points)
        .into_iter()
        .map(|i| {
            let (id, fr, irr) = ok[i];
            let best = front
                .iter()
                .enumerate()
                .filter(|(_, p)| {
                    let (pf, pi) = (p.scores.fraction, p.scores.irregularity);
                    pf <= fr && pi <= irr && (pf < fr || pi < irr)
                })
                .min_by(|a, b| a.1.scores.irregularity.total_cmp(&b.1.scores.irregularity));
            ExperimentVsFront {
                id,
                scores: FrontScores { irregularity: irr, fraction: fr },
                dominated_by: best.map(|(j, _)| j),
                ratio: best.map(|(_, p)| p.scores.irregularity / irr),
            }
        })
        .collect()
}

/// The evaluation count of a time budget: a timed pilot run gives the rate of one thread.
fn budget_for_time(d: &SearchData, opts: &SearchOptions, starts: &[Start], g: Global, seconds: f64) -> u64 {
    let pilot = 400u64;
    let mut rng = rng_for(opts.seed, Stream::SearchRun { tensor: u64::from(u32::MAX), round: 0, run: 0 });
    let mut archive = Archive::new(g.max_out);
    let t0 = Instant::now();
    let limits = Limits { min_group: g.min_group, max_out: starts[0].n_out().min(g.max_out) };
    anneal(d, opts.grid, &starts[0], limits, pilot, &mut rng, &AtomicBool::new(false), &Counters::new(), &mut archive);
    let per_eval = t0.elapsed().as_secs_f64() / pilot as f64;
    let threads = rayon::current_num_threads() as f64;
    // 80%: the rest of the time goes to rescoring, the random groupings, and uneven runs at the end of a round.
    let total = 0.8 * seconds * threads / per_eval.max(1e-9);
    ((total / (1 + opts.nulls) as f64) as u64).max(1)
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn auto_budget_scales_with_the_cost_of_an_evaluation() {
        assert_eq!(auto_budget(512, 40), DEFAULT_BUDGET);
        assert_eq!(auto_budget(2048, 50), DEFAULT_BUDGET);
        assert_eq!(auto_budget(256, 40), 2 * DEFAULT_BUDGET);
        assert_eq!(auto_budget(128, 37), AUTO_BUDGET_MAX);
        assert_eq!(auto_budget(0, 0), AUTO_BUDGET_MAX);
        assert_eq!("auto".parse::<Budget>().unwrap(), Budget::Auto);
        assert_eq!(Budget::Auto.to_string(), "auto");
        assert_eq!(SearchOptions::default().budget, Budget::Auto);
    }
}
