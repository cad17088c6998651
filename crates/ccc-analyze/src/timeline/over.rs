//! Everything "over training" of one `ccc analyze` run, from its options to its files: the timeline over windows
//! (with the training log), the component subsets, the trajectory clusters.

use std::path::{Path, PathBuf};

use ccc_core::{CccTensor, Groups, Progress};

use super::{
    cluster_trajectories, clusters_file, reference_experiment, run_subsets, run_windows, ClusterCount, ComponentSubset,
    SubsetAnalysis, Timeline, TimelineInputs, TimelineOptions, TrainLog, WindowSpec,
};
use crate::analysis::{analysis_input, check_groups, Analysis, AnalyzeOptions};
use crate::error::AnalyzeError;
use crate::files::{AnalysisFile, TrajectoryClustersFile};
use crate::trajectory::trajectories;

/// What to compute over training, besides the whole-run analysis.
#[derive(Debug, Clone, Default)]
pub struct OverTrainingOptions {
    /// Windows and threshold; `None` with a training log means one window, the whole run.
    pub timeline: Option<TimelineOptions>,
    /// The component subsets (none: no `subsets.json`).
    pub subsets: Vec<ComponentSubset>,
    /// The training log, already read.
    pub train_log: Option<TrainLog>,
    /// Cluster the trajectories into this many clusters.
    pub clusters: Option<ClusterCount>,
    /// The grouping for the trajectory clusters and the inlier speed instead of the best experiment, with where
    /// it came from.
    pub groups: Option<(Groups, String)>,
    /// The consensus threshold for subsets when no timeline options are given.
    pub consensus: f64,
}

impl OverTrainingOptions {
    /// Whether anything is asked for.
    pub fn is_empty(&self) -> bool {
        self.timeline.is_none() && self.subsets.is_empty() && self.train_log.is_none() && self.clusters.is_none()
    }
}

/// The results over training.
#[derive(Debug, Clone, Default)]
pub struct OverTraining {
    /// The timeline (`timeline.json`).
    pub timeline: Option<Timeline>,
    /// The subsets (`subsets.json`).
    pub subsets: Option<SubsetAnalysis>,
    /// The trajectory clusters (`trajectory_clusters.json`).
    pub clusters: Option<TrajectoryClustersFile>,
}

/// Run what `ot` asks for on `tensor` (the file's tensor; `opts.steps` selects its checkpoints), given the
/// whole-run analysis `whole` of the same tensor and options.
pub fn over_training(
    tensor: &CccTensor,
    whole: &Analysis,
    opts: &AnalyzeOptions,
    ot: &OverTrainingOptions,
    progress: &dyn Progress,
) -> Result<OverTraining, AnalyzeError> {
    if ot.is_empty() {
        return Ok(OverTraining::default());
    }
    let t = analysis_input(tensor, &opts.steps)?;
    if let Some((g, _)) = &ot.groups {
        check_groups(g, t.n_coord, t.n_comp())?;
    }
    let best = reference_experiment(whole);
    let reference: Option<(Option<usize>, Groups, String)> = match &ot.groups {
        Some((g, from)) => Some((None, g.clone(), from.clone())),
        None => best.map(|(id, g, m)| (Some(id), g, m)),
    };
    let timeline = if ot.timeline.is_some() || ot.train_log.is_some() {
        let tl = ot.timeline.clone().unwrap_or(TimelineOptions {
            windows: WindowSpec::Count(1),
            consensus: ot.consensus,
            ..TimelineOptions::default()
        });
        let inputs = TimelineInputs {
            whole: Some(whole),
            reference: reference.as_ref().map(|(id, g, _)| (*id, g)),
            train_log: ot.train_log.as_ref(),
        };
        Some(run_windows(&t, opts, &tl, inputs, progress)?)
    } else {
        None
    };
    let subsets = if ot.subsets.is_empty() {
        None
    } else {
        let tl =
            ot.timeline.clone().unwrap_or(TimelineOptions { consensus: ot.consensus, ..TimelineOptions::default() });
        Some(run_subsets(&t, &ot.subsets, opts, &tl, progress)?)
    };
    let clusters = match ot.clusters {
        None => None,
        Some(count) => {
            let Some((id, g, method)) = &reference else {
                return Err(AnalyzeError::BadInput(
                    "trajectory clusters need a grouping: no experiment is ok with an outlier fraction in (0, 0.5]; \
                     give one with `--groups G.json`"
                        .into(),
                ));
            };
            let tr = trajectories(
                &t,
                g.comps_grp1.as_deref().unwrap_or(&[]),
                g.comps_grp2.as_deref().unwrap_or(&[]),
                opts.aggregation,
            );
            let c = cluster_trajectories(&tr, count, opts.seed)?;
            Some(clusters_file(&c, &t.steps, g, *id, method.clone(), count == ClusterCount::Auto))
        }
    };
    Ok(OverTraining { timeline, subsets, clusters })
}

impl OverTraining {
    /// Write the files computed into the output directory `dir` (which must exist); returns their paths.
    pub fn write_to(&self, dir: &Path) -> Result<Vec<PathBuf>, AnalyzeError> {
        let mut out = Vec::new();
        if let Some(t) = &self.timeline {
            out.push(t.file().write(dir)?);
        }
        if let Some(s) = &self.subsets {
            out.push(s.file().write(dir)?);
        }
        if let Some(c) = &self.clusters {
            out.push(c.write(dir)?);
        }
        Ok(out)
    }
}
