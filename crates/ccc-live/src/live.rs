//! [`Live`]: a run's tensor that grows by one checkpoint at a time, analyzed every few checkpoints, with what
//! changed since the previous analysis.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use ccc_analyze::consensus::{Changes, Consensus, DEFAULT_THRESHOLD};
use ccc_analyze::AnalyzeOptions;
use ccc_core::{Mode, Progress, Summary};
use ccc_figures::report::{write_live_report, ReportOptions};
use ccc_figures::{FigureOptions, FigureSet, Format, Resolution};
use ccc_summarize::adapter::{AdapterCheckpoint, AdapterMode, Base};
use ccc_summarize::local::LocalCheckpoint;
use ccc_summarize::{Checkpoint, Output, RunOptions};

use crate::error::LiveError;

/// How a live run is summarized, analyzed and reported.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The tensor (created by the first checkpoint, grown by the next ones).
    pub out: PathBuf,
    /// Full or compact.
    pub mode: Mode,
    /// The row summary.
    pub summary: Summary,
    /// Whether to summarize the norm gains.
    pub norms: bool,
    /// The `model` metadata.
    pub model: String,
    /// Analyze after every this many new checkpoints (0: never).
    pub analyze_every: usize,
    /// Write the analysis, figures and a self-reloading report here after each analysis.
    pub report: Option<PathBuf>,
    /// The figures of the report (`summary` keeps a re-analysis quick).
    pub figures: FigureSet,
    /// Seconds between reloads of the report page.
    pub reload_s: u32,
    /// The analysis seed.
    pub seed: u64,
    /// The share of experiments above which a coordinate is a consensus outlier.
    pub threshold: f64,
    /// For a PEFT run (checkpoints of adapters): the base model and how ΔW is summarized.
    pub adapter: Option<(Arc<Base>, AdapterMode)>,
}

impl LiveOptions {
    /// Defaults for a tensor at `out` of the run named `model`: full mode, `mean_sq`, norms, no analysis.
    pub fn new(out: impl Into<PathBuf>, model: impl Into<String>) -> Self {
        LiveOptions {
            out: out.into(),
            mode: Mode::Full,
            summary: Summary::MeanSq,
            norms: true,
            model: model.into(),
            analyze_every: 0,
            report: None,
            figures: FigureSet::Summary,
            reload_s: 10,
            seed: 0,
            threshold: DEFAULT_THRESHOLD,
            adapter: None,
        }
    }
}

/// One analysis of the growing tensor.
#[derive(Debug, Clone)]
pub struct Update {
    /// Checkpoints analyzed.
    pub checkpoints: usize,
    /// The last step analyzed.
    pub step: i64,
    /// The consensus outliers now.
    pub outliers: Vec<usize>,
    /// The coordinates most often called outliers, most often first (up to 5).
    pub top: Vec<usize>,
    /// What changed since the previous analysis (nothing on the first one).
    pub changes: Changes,
    /// The name of component 0, which names the component groups (`emb_in`).
    pub first_component: String,
    /// The report page, when one is written.
    pub report: Option<PathBuf>,
    /// Seconds the analysis (and report) took.
    pub seconds: f64,
}

/// A run's tensor growing one checkpoint at a time.
#[derive(Debug)]
pub struct Live {
    opts: LiveOptions,
    previous: Option<Consensus>,
    since_analysis: usize,
}

impl Live {
    /// Follow the tensor of `opts` (an existing file is appended to).
    pub fn new(opts: LiveOptions) -> Self {
        Live { opts, previous: None, since_analysis: 0 }
    }

    /// The options.
    pub fn options(&self) -> &LiveOptions {
        &self.opts
    }

    /// The steps already filled in the tensor (none before the first checkpoint).
    pub fn filled_steps(&self) -> Result<Vec<i64>, LiveError> {
        if !self.opts.out.exists() {
            return Ok(Vec::new());
        }
        let h = ccc_core::file::read_header(&self.opts.out)?;
        Ok(h.steps.iter().zip(&h.filled).filter(|(_, &f)| f).map(|(&s, _)| s).collect())
    }

    /// Summarize the complete checkpoint directory `dir` (step `step`) into the tensor; returns the seconds it
    /// took. The tensor grows in place (docs/tensor.md §6.5) and is valid at every moment.
    pub fn add(&mut self, dir: &Path, step: i64, progress: &dyn Progress) -> Result<f64, LiveError> {
        let t0 = Instant::now();
        let ckpt: Box<dyn Checkpoint> = match &self.opts.adapter {
            Some((base, mode)) => Box::new(AdapterCheckpoint::open(dir, Some(step), base.clone(), *mode)?),
            None if dir.join("adapter_config.json").is_file() => {
                return Err(LiveError::RunDir {
                    path: dir.to_path_buf(),
                    reason: "a PEFT adapter checkpoint: follow the run with the base model it is trained from \
                             (--base)"
                        .into(),
                })
            }
            None => Box::new(LocalCheckpoint::open(dir, Some(step))?),
        };
        let mut run = RunOptions::new(vec![Output { mode: self.opts.mode, path: self.opts.out.clone() }], "");
        run.model = self.opts.model.clone();
        run.summary = self.opts.summary;
        run.norms = self.opts.norms;
        run.jobs = Some(std::num::NonZeroUsize::MIN);
        ccc_summarize::run(&[ckpt], &run, progress)?;
        self.since_analysis += 1;
        Ok(t0.elapsed().as_secs_f64())
    }

    /// Whether [`Live::analyze`] is due (every `analyze_every` new checkpoints).
    pub fn analysis_due(&self) -> bool {
        self.opts.analyze_every > 0 && self.since_analysis >= self.opts.analyze_every
    }

    /// Analyze the tensor now, write the report when asked, and say what changed since the last analysis.
    pub fn analyze(&mut self, progress: &dyn Progress) -> Result<Update, LiveError> {
        let t0 = Instant::now();
        let path = &self.opts.out;
        let tensor = ccc_core::file::read(path)?;
        let opts = AnalyzeOptions { seed: self.opts.seed, ..AnalyzeOptions::default() };
        let analysis = ccc_analyze::analyze(&tensor, &opts, progress)
            .map_err(|source| LiveError::Analyze { path: path.clone(), source })?;
        let report = match &self.opts.report {
            None => None,
            Some(dir) => {
                let fail = |reason: String| LiveError::Report { dir: dir.clone(), reason };
                analysis.write_to(dir).map_err(|e| fail(e.to_string()))?;
                if self.opts.figures != FigureSet::None {
                    let fo = FigureOptions {
                        figures: self.opts.figures,
                        format: Format::Png,
                        smooth: None,
                        threads: 0,
                        resolution: Resolution::Screen,
                    };
                    ccc_figures::render_analysis(dir, &tensor, &fo, progress).map_err(|e| fail(e.to_string()))?;
                }
                Some(
                    write_live_report(dir, &ReportOptions::default(), self.opts.reload_s)
                        .map_err(|e| fail(e.to_string()))?,
                )
            }
        };
        let now = Consensus::of(&analysis, self.opts.threshold);
        let changes = match &self.previous {
            Some(prev) => now.changes_since(prev, self.opts.threshold),
            None => Changes::default(),
        };
        let update = Update {
            checkpoints: analysis.shape[1],
            step: analysis.steps.last().copied().unwrap_or(0),
            outliers: now.outliers(self.opts.threshold),
            top: now.top_outliers(5),
            changes,
            first_component: analysis.components.first().cloned().unwrap_or_default(),
            report,
            seconds: t0.elapsed().as_secs_f64(),
        };
        self.previous = Some(now);
        self.since_analysis = 0;
        Ok(update)
    }
}
