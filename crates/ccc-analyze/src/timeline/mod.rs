//! The analysis over training (docs/timeline.md): the 301 experiments on windows of checkpoints and on subsets
//! of components, merged into consensus shares; when coordinates emerge as outliers and components switch group;
//! change points of the per-checkpoint series beside the training log's events; trajectory clusters.
//!
//! - [`windows`]: `--windows` parsed ([`WindowSpec`]) and cut into [`Window`]s.
//! - [`subsets`]: `--component-subsets` parsed ([`ComponentSubset`]) and resolved.
//! - [`consensus`]: one analysis → shares, with the arbitrary group names aligned.
//! - [`change_points`]: PELT on a piecewise-linear cost.
//! - [`train_log`]: training logs and their events.
//! - [`traj_clusters`]: clustering trajectories by shape.
//!
//! [`run_windows`] and [`run_subsets`] run the analyses (in parallel, a bounded number at a time) and return
//! typed results whose `*_file` methods give the records of `timeline.json` and `subsets.json`.

pub mod change_points;
pub mod consensus;
pub mod over;
pub mod subsets;
pub mod train_log;
pub mod traj_clusters;
pub mod windows;

use ccc_core::{CccTensor, Groups, Progress};
use rayon::prelude::*;

pub use consensus::{CompLabel, CompShare, Shares};
pub use over::{over_training, OverTraining, OverTrainingOptions};
pub use subsets::{parse_subsets, ComponentSubset, KindFamily};
pub use train_log::{Event, EventKind, TrainLog, TrainLogError};
pub use traj_clusters::{cluster_trajectories, ClusterCount, TrajClustering};
pub use windows::{Window, WindowSpec};

use crate::analysis::{analyze, Analysis, AnalyzeOptions};
use crate::error::AnalyzeError;
use crate::files::timeline::{
    ChangePointRecord, CompTimeline, CoordTimeline, EventRecord, SeriesRecord, SwitchRecord, TimelineFile,
    TrainingLogRecord, WindowRecord,
};
use crate::files::{FormatVersion, Status};
use crate::trajectory::{trajectories, Aggregation};

/// The default consensus threshold: an outlier of a window is a coordinate that at least half of the window's
/// experiments (with a coordinate split) call an outlier.
pub const DEFAULT_CONSENSUS: f64 = 0.5;

/// Options of the analysis over windows or subsets.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineOptions {
    /// How the checkpoints are cut.
    pub windows: WindowSpec,
    /// The consensus threshold, in `(0, 1]`.
    pub consensus: f64,
    /// How many window (or subset) analyses run at once; 0 = as many as threads. Each holds its own slice of
    /// the tensor and its intermediates, so this bounds the memory.
    pub max_parallel: usize,
}

impl Default for TimelineOptions {
    fn default() -> Self {
        TimelineOptions { windows: WindowSpec::Count(1), consensus: DEFAULT_CONSENSUS, max_parallel: 0 }
    }
}

impl TimelineOptions {
    /// Check the threshold.
    pub fn validate(&self) -> Result<(), AnalyzeError> {
        if !(self.consensus > 0.0 && self.consensus <= 1.0) {
            return Err(AnalyzeError::InvalidOption(format!(
                "the consensus threshold must lie in (0, 1] (a share of experiments); got {}",
                self.consensus
            )));
        }
        Ok(())
    }

    fn parallel(&self) -> usize {
        if self.max_parallel == 0 {
            rayon::current_num_threads().max(1)
        } else {
            self.max_parallel
        }
    }
}

/// Forwards only warnings, prefixed with the part of the run they concern: the analyses of windows run in
/// parallel, and their phase bars would interleave.
struct Scoped<'a> {
    inner: &'a dyn Progress,
    label: String,
}

impl Progress for Scoped<'_> {
    fn warn(&self, msg: &str) {
        self.inner.warn(&format!("{}: {msg}", self.label));
    }
}

/// Run `analyze` on each of `parts` (a label and a tensor maker), at most `parallel` at once, and reduce each
/// analysis to its consensus at once (so only the shares outlive a part's run).
fn run_parts<F>(
    parts: &[(String, F)],
    opts: &AnalyzeOptions,
    parallel: usize,
    progress: &dyn Progress,
) -> Result<Vec<Shares>, AnalyzeError>
where
    F: Fn() -> CccTensor + Sync,
{
    let mut part_opts = opts.clone();
    // The tensor handed over is already the part; its own step selection is the whole of it.
    part_opts.steps = ccc_core::StepSelection::all();
    progress.start("windows", parts.len() as u64, "analyses");
    let mut out = Vec::with_capacity(parts.len());
    for chunk in parts.chunks(parallel.max(1)) {
        let done: Vec<Result<Shares, AnalyzeError>> = chunk
            .par_iter()
            .map(|(label, make)| {
                let t = make();
                let scoped = Scoped { inner: progress, label: label.clone() };
                let a = analyze(&t, &part_opts, &scoped).map_err(|e| match e {
                    AnalyzeError::BadInput(m) => AnalyzeError::BadInput(format!("{label}: {m}")),
                    e => e,
                })?;
                progress.advance(1);
                Ok(consensus::shares(&a))
            })
            .collect();
        for d in done {
            out.push(d?);
        }
    }
    progress.finish();
    Ok(out)
}

/// Which per-checkpoint series a change point was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SeriesKind {
    /// The number of outlier coordinates per checkpoint.
    OutlierCount,
    /// The speed of the inliers' mean point per checkpoint interval.
    InlierSpeed,
}

impl SeriesKind {
    /// The name written in `timeline.json`.
    pub fn name(self) -> &'static str {
        match self {
            SeriesKind::OutlierCount => "outlier_count",
            SeriesKind::InlierSpeed => "inlier_speed",
        }
    }
}

impl std::fmt::Display for SeriesKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SeriesKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [SeriesKind::OutlierCount, SeriesKind::InlierSpeed]
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown series `{s}` (expected outlier_count or inlier_speed)"))
    }
}

/// A change point: the checkpoint where a new segment of a series starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangePoint {
    /// Position of the checkpoint.
    pub ckpt: usize,
    /// Its step.
    pub step: i64,
    /// The series.
    pub series: SeriesKind,
}

/// The reference grouping of the per-checkpoint series and the trajectory clusters: the experiment with the
/// lowest irregularity among those that are `ok` and call between 0 (excluded) and half of the coordinates
/// outliers (ties: lower fraction, then lower id); `None` when there is none.
pub fn reference_experiment(a: &Analysis) -> Option<(usize, Groups, String)> {
    a.experiments
        .iter()
        .filter(|e| e.status == Status::Ok && e.groups.has_comps())
        .filter_map(|e| {
            let s = e.scores?;
            let irr = s.irregularity?;
            (s.fraction > 0.0 && s.fraction <= 0.5).then_some((irr, s.fraction, e))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.id.cmp(&b.2.id)))
        .map(|(_, _, e)| (e.id, e.groups.clone(), e.method.clone()))
}

/// Per checkpoint, how many coordinates are MAD outliers (docs/analysis.md §1) of the component-normalized
/// magnitude `Σ_k mags[c, t, k] / mean_c mags[·, t, k]` (components whose mean is 0 left out): a count that does
/// not depend on any classification, so it can be searched for change points at checkpoint resolution.
pub fn outlier_count_series(t: &CccTensor) -> Vec<f64> {
    let (n_c, n_t, n_k) = (t.n_coord, t.n_ckpt(), t.n_comp());
    (0..n_t)
        .into_par_iter()
        .map(|s| {
            let mut mean = vec![0.0f64; n_k];
            for c in 0..n_c {
                let i = t.index(c, s, 0);
                mean.iter_mut().zip(&t.mags[i..i + n_k]).for_each(|(m, &v)| *m += v as f64);
            }
            let v: Vec<f64> = (0..n_c)
                .map(|c| {
                    let i = t.index(c, s, 0);
                    t.mags[i..i + n_k]
                        .iter()
                        .zip(&mean)
                        .filter(|(_, &m)| m > 0.0)
                        .map(|(&x, &m)| x as f64 * n_c as f64 / m)
                        .sum()
                })
                .collect();
            crate::robust::outliers(&v).len() as f64
        })
        .collect()
}

/// Per checkpoint interval, the distance the inliers' mean point moves on the trajectories of `(grp1, grp2)`.
pub fn inlier_speed_series(
    t: &CccTensor,
    grp1: &[usize],
    grp2: &[usize],
    inliers: &[usize],
    agg: Aggregation,
) -> Vec<f64> {
    let tr = trajectories(t, grp1, grp2, agg);
    let n = inliers.len().max(1) as f64;
    let mean: Vec<(f64, f64)> = (0..tr.n_ckpt)
        .map(|s| {
            let (x, y) = inliers.iter().fold((0.0, 0.0), |(a, b), &c| {
                let (x, y) = tr.point(c, s);
                (a + x, b + y)
            });
            (x / n, y / n)
        })
        .collect();
    mean.windows(2).map(|w| ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt()).collect()
}

/// The result of the analysis over windows.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The specification used.
    pub spec: WindowSpec,
    /// The consensus threshold.
    pub threshold: f64,
    /// Steps of the analyzed checkpoints.
    pub steps: Vec<i64>,
    /// Component names.
    pub components: Vec<String>,
    /// The windows.
    pub windows: Vec<Window>,
    /// The consensus of each window, component groups aligned along the sequence.
    pub shares: Vec<Shares>,
    /// Per coordinate, its emergence window.
    pub emerges_at: Vec<Option<usize>>,
    /// Per checkpoint, the outlier count.
    pub outlier_count: Vec<f64>,
    /// Per checkpoint interval, the inliers' speed (with a reference grouping).
    pub inlier_speed: Option<Vec<f64>>,
    /// The experiment of the whole-run analysis that gave the reference grouping.
    pub reference_experiment: Option<usize>,
    /// The change points of the series.
    pub change_points: Vec<ChangePoint>,
    /// The training log.
    pub train_log: Option<TrainLog>,
}

/// The first window from which the coordinate is an outlier in every window (`None`: not an outlier in the last).
fn emergence(outlier: &[bool]) -> Option<usize> {
    let mut start = None;
    for (w, &o) in outlier.iter().enumerate() {
        match (o, start) {
            (true, None) => start = Some(w),
            (false, _) => start = None,
            _ => {}
        }
    }
    start
}

/// The inputs of [`run_windows`] besides the tensor.
#[derive(Debug, Clone, Copy)]
pub struct TimelineInputs<'a> {
    /// The whole-run analysis of the same tensor and options (reused when there is one window).
    pub whole: Option<&'a Analysis>,
    /// The reference grouping `(experiment id if any, groups)` for the inlier speed.
    pub reference: Option<(Option<usize>, &'a Groups)>,
    /// The training log.
    pub train_log: Option<&'a TrainLog>,
}

/// Run the analysis on every window of `tensor` (already restricted to the checkpoints to analyze, see
/// [`crate::analysis_input`]) and merge the results (docs/timeline.md).
pub fn run_windows(
    tensor: &CccTensor,
    opts: &AnalyzeOptions,
    tl: &TimelineOptions,
    inputs: TimelineInputs<'_>,
    progress: &dyn Progress,
) -> Result<Timeline, AnalyzeError> {
    tl.validate()?;
    opts.validate()?;
    let windows = tl.windows.resolve(&tensor.steps)?;
    if let Some(log) = inputs.train_log {
        log.check_overlap(&tensor.steps)?;
    }
    let mut shares = match (windows.len(), inputs.whole) {
        (1, Some(a)) if a.steps == tensor.steps => vec![consensus::shares(a)],
        _ => {
            let parts: Vec<(String, _)> = windows
                .iter()
                .map(|w| {
                    let label = format!("window {} (steps {}..={})", w.index, w.steps[0], w.steps[w.len() - 1]);
                    let ckpts = w.ckpts();
                    (label, move || tensor.select_checkpoints(&ckpts).unwrap_or_else(|_| tensor.clone()))
                })
                .collect();
            run_parts(&parts, opts, tl.parallel(), progress)?
        }
    };
    consensus::align_sequence(&mut shares);
    let n_c = tensor.n_coord;
    let emerges_at: Vec<Option<usize>> =
        (0..n_c).map(|c| emergence(&shares.iter().map(|s| s.coords[c] >= tl.consensus).collect::<Vec<_>>())).collect();

    let outlier_count = outlier_count_series(tensor);
    let inlier_speed = inputs.reference.map(|(_, g)| {
        let inliers: Vec<usize> = (0..n_c).filter(|&c| shares.iter().all(|s| s.coords[c] < tl.consensus)).collect();
        let g1 = g.comps_grp1.as_deref().unwrap_or(&[]);
        let g2 = g.comps_grp2.as_deref().unwrap_or(&[]);
        inlier_speed_series(tensor, g1, g2, &inliers, opts.aggregation)
    });
    // A count moves in steps of one coordinate: half a count of noise is rounding. The speed's floor is a tenth of
    // its typical value, so that a nearly noiseless curve is not cut at every wiggle.
    let mut change_points: Vec<ChangePoint> = change_points::pelt(&outlier_count, 0.5)
        .into_iter()
        .map(|ckpt| ChangePoint { ckpt, step: tensor.steps[ckpt], series: SeriesKind::OutlierCount })
        .collect();
    if let Some(sp) = &inlier_speed {
        // Speed index i is the interval from checkpoint i to i + 1: a segment starting there starts at checkpoint i.
        change_points.extend(
            change_points::pelt(sp, 0.1 * crate::robust::median(sp).abs()).into_iter().map(|i| ChangePoint {
                ckpt: i,
                step: tensor.steps[i],
                series: SeriesKind::InlierSpeed,
            }),
        );
    }
    change_points.sort_by_key(|c| (c.step, c.series));
    Ok(Timeline {
        spec: tl.windows.clone(),
        threshold: tl.consensus,
        steps: tensor.steps.clone(),
        components: tensor.meta.component_names(),
        windows,
        shares,
        emerges_at,
        outlier_count,
        inlier_speed,
        reference_experiment: inputs.reference.and_then(|r| r.0),
        change_points,
        train_log: inputs.train_log.cloned(),
    })
}

impl Timeline {
    /// Coordinates that emerge after the first window, ascending.
    pub fn emerging(&self) -> Vec<usize> {
        (0..self.emerges_at.len()).filter(|&c| self.emerges_at[c].is_some_and(|w| w > 0)).collect()
    }

    /// The outliers of window `w` by consensus.
    pub fn window_outliers(&self, w: usize) -> Vec<usize> {
        self.shares[w].coords.iter().enumerate().filter(|(_, &s)| s >= self.threshold).map(|(c, _)| c).collect()
    }

    /// The contents of `timeline.json`.
    pub fn file(&self) -> TimelineFile {
        let events: Vec<Event> = self.train_log.as_ref().map(TrainLog::events).unwrap_or_default();
        let n_w = self.windows.len();
        let comps = (0..self.components.len())
            .map(|k| {
                let per: Vec<CompShare> =
                    self.shares.iter().map(|s| s.comps.get(k).copied().unwrap_or_default()).collect();
                let labels: Vec<CompLabel> = per.iter().map(CompShare::label).collect();
                let switches = (1..n_w)
                    .filter(|&w| labels[w] != labels[w - 1])
                    .map(|w| SwitchRecord {
                        window: w,
                        step: self.windows[w].steps[0],
                        from: labels[w - 1],
                        to: labels[w],
                    })
                    .collect();
                CompTimeline {
                    name: self.components[k].clone(),
                    grp1: per.iter().map(|s| s.grp1).collect(),
                    grp2: per.iter().map(|s| s.grp2).collect(),
                    discarded: per.iter().map(|s| s.discarded).collect(),
                    labels,
                    switches,
                }
            })
            .collect();
        let details: Vec<ChangePointRecord> = self
            .change_points
            .iter()
            .map(|cp| {
                let near = events.iter().min_by_key(|e| ((e.step - cp.step).abs(), e.step)).copied();
                ChangePointRecord {
                    step: cp.step,
                    series: cp.series,
                    nearest_event: near.map(|e| EventRecord { step: e.step, kind: e.kind }),
                    distance: near.map(|e| cp.step - e.step),
                }
            })
            .collect();
        let mut cps: Vec<i64> = self.change_points.iter().map(|c| c.step).collect();
        cps.sort_unstable();
        cps.dedup();
        TimelineFile {
            format: FormatVersion,
            windows_spec: self.spec.to_string(),
            consensus_threshold: self.threshold,
            steps: self.steps.clone(),
            components: self.components.clone(),
            windows: self
                .windows
                .iter()
                .zip(&self.shares)
                .map(|(w, s)| WindowRecord {
                    index: w.index,
                    first_step: w.steps[0],
                    last_step: w.steps[w.len() - 1],
                    steps: w.steps.clone(),
                    n_experiments: s.n_coord_experiments,
                    outliers: self.window_outliers(w.index),
                })
                .collect(),
            coords: (0..self.emerges_at.len())
                .map(|c| CoordTimeline {
                    coord: c,
                    shares: self.shares.iter().map(|s| s.coords[c]).collect(),
                    emerges_at: self.emerges_at[c],
                    emerges_at_step: self.emerges_at[c].map(|w| self.windows[w].steps[0]),
                })
                .collect(),
            emerging: self.emerging(),
            comps,
            series: SeriesRecord {
                steps: self.steps.clone(),
                outlier_count: self.outlier_count.clone(),
                inlier_speed: self.inlier_speed.clone(),
                reference_experiment: self.reference_experiment,
            },
            change_points: cps,
            change_point_details: details,
            training_log: self.train_log.as_ref().map(|l| TrainingLogRecord {
                source: l.source.display().to_string(),
                steps: l.steps.clone(),
                series: l.series.clone(),
            }),
            events: events.iter().map(|e| EventRecord { step: e.step, kind: e.kind }).collect(),
        }
    }
}

/// The result of the analysis on component subsets.
#[derive(Debug, Clone)]
pub struct SubsetAnalysis {
    /// The threshold.
    pub threshold: f64,
    /// Component names of the whole tensor.
    pub components: Vec<String>,
    /// Each subset with its component positions and consensus (component shares indexed within the subset).
    pub subsets: Vec<(ComponentSubset, Vec<usize>, Shares)>,
}

/// Run the analysis on each component subset of `tensor` (already restricted to the checkpoints to analyze).
pub fn run_subsets(
    tensor: &CccTensor,
    subsets: &[ComponentSubset],
    opts: &AnalyzeOptions,
    tl: &TimelineOptions,
    progress: &dyn Progress,
) -> Result<SubsetAnalysis, AnalyzeError> {
    tl.validate()?;
    let resolved: Vec<(ComponentSubset, Vec<usize>)> = subsets
        .iter()
        .map(|s| s.resolve(&tensor.meta.components).map(|idx| (s.clone(), idx)))
        .collect::<Result<_, _>>()?;
    let parts: Vec<(String, _)> = resolved
        .iter()
        .map(|(s, idx)| (format!("subset `{s}`"), move || subsets::select_components(tensor, idx)))
        .collect();
    let shares = run_parts(&parts, opts, tl.parallel(), progress)?;
    Ok(SubsetAnalysis {
        threshold: tl.consensus,
        components: tensor.meta.component_names(),
        subsets: resolved.into_iter().zip(shares).map(|((s, idx), sh)| (s, idx, sh)).collect(),
    })
}

impl SubsetAnalysis {
    /// The contents of `subsets.json`.
    pub fn file(&self) -> crate::files::subsets::SubsetsFile {
        use crate::files::subsets::{SubsetComp, SubsetCoord, SubsetPlace, SubsetRecord, SubsetsFile};
        let n_c = self.subsets.first().map_or(0, |s| s.2.coords.len());
        let coords: Vec<SubsetCoord> = (0..n_c)
            .map(|c| {
                let shares: Vec<f64> = self.subsets.iter().map(|s| s.2.coords[c]).collect();
                let merged = shares.iter().sum::<f64>() / shares.len().max(1) as f64;
                SubsetCoord { coord: c, shares, merged }
            })
            .collect();
        let comps = (0..self.components.len())
            .map(|k| SubsetComp {
                name: self.components[k].clone(),
                places: self
                    .subsets
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (_, idx, sh))| {
                        let j = idx.iter().position(|&x| x == k)?;
                        let s = sh.comps[j];
                        Some(SubsetPlace {
                            subset: i,
                            grp1: s.grp1,
                            grp2: s.grp2,
                            discarded: s.discarded,
                            label: s.label(),
                        })
                    })
                    .collect(),
            })
            .collect();
        SubsetsFile {
            format: FormatVersion,
            consensus_threshold: self.threshold,
            components: self.components.clone(),
            subsets: self
                .subsets
                .iter()
                .map(|(s, idx, sh)| SubsetRecord {
                    name: s.to_string(),
                    components: idx.clone(),
                    n_experiments: sh.n_coord_experiments,
                    outliers: (0..n_c).filter(|&c| sh.coords[c] >= self.threshold).collect(),
                })
                .collect(),
            outliers: coords.iter().filter(|c| c.merged >= self.threshold).map(|c| c.coord).collect(),
            coords,
            comps,
        }
    }
}

/// The contents of `trajectory_clusters.json` for a clustering of the trajectories of `groups`.
pub fn clusters_file(
    c: &TrajClustering,
    steps: &[i64],
    groups: &Groups,
    experiment: Option<usize>,
    method: String,
    auto: bool,
) -> crate::files::trajectory_clusters::TrajectoryClustersFile {
    use crate::files::trajectory_clusters::{ClusterRecord, GroupingRecord, SilhouetteRecord, TrajectoryClustersFile};
    TrajectoryClustersFile {
        format: FormatVersion,
        grouping: GroupingRecord {
            experiment,
            method,
            comps_grp1: groups.comps_grp1.clone().unwrap_or_default(),
            comps_grp2: groups.comps_grp2.clone().unwrap_or_default(),
        },
        steps: steps.to_vec(),
        criterion: if auto { "silhouette".into() } else { "given".into() },
        silhouettes: c.silhouettes.iter().map(|&(k, silhouette)| SilhouetteRecord { k, silhouette }).collect(),
        k: c.k,
        clusters: c
            .clusters
            .iter()
            .map(|cl| ClusterRecord { coords: cl.coords.clone(), mean: cl.mean.clone() })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emergence_is_the_start_of_the_final_run() {
        assert_eq!(emergence(&[false, false, true, true]), Some(2));
        assert_eq!(emergence(&[true, true, true]), Some(0));
        assert_eq!(emergence(&[true, false, true]), Some(2));
        assert_eq!(emergence(&[false, true, false]), None);
        assert_eq!(emergence(&[]), None);
    }
}
