//! Writing an [`Analysis`]: `experiments.json`, `scores.csv`, `summary.json`, through their owner types in
//! [`crate::files`] (schema in `docs/outputs.md`).
//!
//! Every list is in a fixed order and wall times are left out when timings are off, so the same input and seed
//! give byte-identical files.

use std::path::Path;

use crate::analysis::Analysis;
use crate::error::AnalyzeError;
use crate::experiments::Experiment;
use crate::files::experiments::{ExperimentGroups, GroupNames, GroupRanges, ScorePair};
use crate::files::summary::{
    CompConsensus, ComponentIndicator, Consensus, CoordConsensus, OutlierIndicator, PipelineRecord, Precision,
    SummaryOptions,
};
use crate::files::{AnalysisFile, ExperimentRecord, ExperimentsFile, FormatVersion, ScoreRow, ScoresCsv, SummaryFile};

pub use crate::files::experiments::ranges;
pub use crate::files::{EXPERIMENTS_JSON, SCORES_CSV, SUMMARY_JSON};

/// Wall times to the microsecond: finer digits are noise.
fn round_time(t: f64) -> f64 {
    (t * 1e6).round() / 1e6
}

impl Analysis {
    /// A wall time as written: rounded, and `None` when timings are off.
    fn time(&self, t: f64) -> Option<f64> {
        self.options.timings.then(|| round_time(t))
    }

    fn experiment_record(&self, e: &Experiment) -> ExperimentRecord {
        let groups = ExperimentGroups::of(&e.groups);
        ExperimentRecord {
            id: e.id,
            source: e.source,
            method: e.method.clone(),
            status: e.status,
            error: e.error.clone(),
            group_names: GroupNames::of(&groups, &self.components),
            group_ranges: GroupRanges::of(&groups),
            groups,
            scores: ScorePair {
                irregularity: e.scores.and_then(|s| s.irregularity),
                fraction: e.scores.map(|s| s.fraction),
            },
            pipeline: e.pipeline,
            outlier_method: e.outlier_method,
            time_s: self.time(e.time_s),
        }
    }

    /// The contents of `experiments.json`.
    pub fn experiments_file(&self) -> ExperimentsFile {
        ExperimentsFile {
            format: FormatVersion,
            experiments: self.experiments.iter().map(|e| self.experiment_record(e)).collect(),
        }
    }

    /// The contents of `scores.csv`.
    pub fn scores_file(&self) -> ScoresCsv {
        ScoresCsv {
            rows: self
                .experiments
                .iter()
                .map(|e| ScoreRow {
                    id: e.id,
                    source: e.source,
                    method: e.method.clone(),
                    status: e.status,
                    irregularity: e.scores.and_then(|x| x.irregularity),
                    fraction: e.scores.map(|x| x.fraction),
                })
                .collect(),
        }
    }

    /// The contents of `summary.json`.
    pub fn summary_file(&self) -> SummaryFile {
        let (oi_ids, oi_cols, oi_m) = self.outlier_indicator();
        let (ci_ids, ci_m) = self.component_indicator();
        SummaryFile {
            format: FormatVersion,
            model: self.model.clone(),
            architecture: self.architecture.clone(),
            mode: self.mode,
            summary: self.summary,
            shape: self.shape,
            steps: self.steps.clone(),
            seed: self.options.seed,
            options: SummaryOptions {
                aggregation: self.options.aggregation,
                grid: self.options.grid,
                steps: self.options.steps_text.clone(),
                pipelines: self.options.pipelines.clone().unwrap_or_else(|| "*".into()),
                pipelines_file: self.options.pipelines_file.clone(),
            },
            precision: Precision {
                prep: "f32".into(),
                foldings: "f32".into(),
                clusterers: "f64".into(),
                trajectories: "f32 group sums (NumPy pairwise order), f64 after".into(),
            },
            run_time_s: self.time(self.run_time_s),
            phase_times_s: self
                .options
                .timings
                .then(|| self.phase_times_s.iter().map(|(k, v)| (k.clone(), round_time(*v))).collect()),
            components: self.components.clone(),
            sources: self.sources(),
            n_experiments: self.experiments.len(),
            status_counts: self.status_counts(),
            outlier_indicator: OutlierIndicator { experiments: oi_ids, coords: oi_cols, matrix: oi_m },
            component_indicator: ComponentIndicator {
                experiments: ci_ids,
                comps: (0..self.shape[2]).collect(),
                matrix: ci_m,
            },
            consensus: Consensus {
                coords: self
                    .coord_consensus()
                    .into_iter()
                    .enumerate()
                    .map(|(coord, outlier_fraction)| CoordConsensus { coord, outlier_fraction })
                    .collect(),
                comps: self
                    .comp_consensus()
                    .into_iter()
                    .enumerate()
                    .map(|(k, (grp1, grp2, discarded))| CompConsensus {
                        name: self.components.get(k).cloned().unwrap_or_default(),
                        grp1,
                        grp2,
                        discarded,
                    })
                    .collect(),
            },
            pipelines: self
                .pipelines
                .iter()
                .map(|p| PipelineRecord {
                    index: p.pipeline.index,
                    name: p.pipeline.name(),
                    source: p.pipeline.chain.source(),
                    method: p.pipeline.method.clone(),
                    status: p.status,
                    error: p.reason.clone(),
                    groups: p.groups.clone(),
                    time_s: self.time(p.time_s),
                })
                .collect(),
        }
    }

    /// Write `experiments.json`, `scores.csv` and `summary.json` into `dir` (created if missing), each atomically.
    pub fn write_to(&self, dir: &Path) -> Result<(), AnalyzeError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| AnalyzeError::Output(format!("cannot create `{}`: {e}", dir.display())))?;
        self.experiments_file().write(dir)?;
        self.scores_file().write(dir)?;
        self.summary_file().write(dir)?;
        Ok(())
    }
}
