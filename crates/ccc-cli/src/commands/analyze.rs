//! `ccc analyze`: the 40 classification pipelines and the 301 scored experiments of docs/analysis.md.

use std::path::PathBuf;

use anyhow::Context;
use ccc_analyze::files::AnalysisFile as _;
use ccc_analyze::pipeline::read_pipelines_file;
use ccc_analyze::timeline::{
    over_training, parse_subsets, ClusterCount, OverTrainingOptions, TimelineOptions, TrainLog, WindowSpec,
    DEFAULT_CONSENSUS,
};
use ccc_analyze::{analyze_mapped, AnalyzeOptions, MappedTensor, ReadMode, Reading, Shard};
use ccc_core::Progress as _;
use ccc_figures::report::{write_report, ReportOptions};
use ccc_figures::{FigureOptions, FigureSet, Format, Resolution};

use super::trajectory_args::TrajectoryArgs;
use crate::progress::CliProgress;

/// Flags of `ccc analyze`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A ccc/1 file (the CCC tensor written by `ccc summarize`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Output directory (experiments.json, scores.csv, summary.json); created if missing.
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,

    /// Seed of the random generator (random groupings, random angles, k-means restarts).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub trajectory: TrajectoryArgs,

    /// Run only the pipelines matching these comma-separated globs (short name, method string or index),
    /// e.g. `folding*`, `median>*`, `17`.
    #[arg(long, value_name = "GLOB")]
    pub pipelines: Option<String>,

    /// Extra pipelines from a TOML file (`[[pipeline]] steps = ["median", "cols_l2_normalize", "dhillon"]`).
    #[arg(long, value_name = "FILE")]
    pub pipelines_file: Option<PathBuf>,

    /// Leave wall times out of the outputs, so that the same input and seed give byte-identical files.
    #[arg(long)]
    pub no_timings: bool,

    /// Figures to draw into DIR/figures: `all` (a sheet per experiment + the run figures), `summary` (only the
    /// run figures) or `none`.
    #[arg(long, value_name = "SET", default_value = "all")]
    pub figures: FigureSet,

    /// Figure file format: `png`, `svg` or `both`.
    #[arg(long, value_name = "FORMAT", default_value = "png")]
    pub format: Format,

    /// Display-only moving average of the drawn trajectories (window in checkpoints); never used for scores.
    #[arg(long, value_name = "N")]
    pub smooth: Option<usize>,

    /// Write PNG figures at full size (trajectory sheets 2000 × 1900 px) rather than screen size (1600 × 1520).
    #[arg(long)]
    pub full_size: bool,

    /// Do not write DIR/report.html.
    #[arg(long)]
    pub no_report: bool,

    /// Inline the figures into report.html (one self-contained, much larger file).
    #[arg(long, conflicts_with = "no_report")]
    pub standalone: bool,

    /// Show only warnings and errors.
    #[arg(short, long)]
    pub quiet: bool,

    /// How to read the tensor: `auto` (in memory up to 1 GiB of values, else blockwise), `memory` (each
    /// folding's input built whole, one at a time: exact, about the values' size in memory), or `blockwise`
    /// (a block at a time: memory bounded whatever the size of the tensor).
    #[arg(long, value_name = "MODE", default_value = "auto")]
    pub reading: ReadingArg,

    /// Size of one block read at a time, MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub block_mib: u64,

    /// Run only shard I of N (a deterministic share of the pipelines, balanced by cost) and write DIR/partial.json;
    /// `ccc merge part1/ … partN/ -o out/` then writes what one run writes. No figures or report.
    #[arg(long, value_name = "I/N", conflicts_with = "resumable")]
    pub shard: Option<Shard>,

    /// Run as N parts in sequence, each kept in DIR/.ccc-resume/ as soon as it is done: after a kill, the same
    /// command keeps the finished parts and computes only the rest (the result is the one of a single run).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub resumable: Option<u64>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub over: OverTrainingArgs,
}

/// Flags of the analysis over training (docs/timeline.md).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Over training")]
pub struct OverTrainingArgs {
    /// Also run the analysis on windows of checkpoints and write timeline.json: a count (`4`), step ranges
    /// (`0..2000,2000..20000,20000..`, end excluded) or sliding windows (`size=10,stride=5`, in checkpoints).
    #[arg(long, value_name = "SPEC")]
    pub windows: Option<WindowSpec>,

    /// A coordinate is an outlier of a window (or subset) by consensus when at least this share of its
    /// experiments call it one.
    #[arg(long, value_name = "SHARE", default_value_t = DEFAULT_CONSENSUS)]
    pub consensus: f64,

    /// Also run the analysis on subsets of the components and write subsets.json: kinds (`attention`, `mlp`,
    /// `norms`, `embeddings`), layer ranges (`L0-5`) or name globs (`L*.H*.Q`), comma-separated.
    #[arg(long, value_name = "LIST")]
    pub component_subsets: Option<String>,

    /// A training log to put beside the timeline: Hugging Face `trainer_state.json`, a run directory (its newest
    /// `checkpoint-N/trainer_state.json`), or JSON lines / CSV with a `step` column.
    #[arg(long, value_name = "PATH")]
    pub train_log: Option<PathBuf>,

    /// Cluster the coordinates by the shape of their trajectories into K clusters (`auto`: K by silhouette) and
    /// write trajectory_clusters.json.
    #[arg(long, value_name = "K")]
    pub trajectory_clusters: Option<ClusterCount>,

    /// The grouping (a JSON groups object with `comps_grp1`, `comps_grp2`) whose trajectories are clustered,
    /// instead of the best-scoring experiment.
    #[arg(long, value_name = "FILE")]
    pub groups: Option<PathBuf>,

    /// How many window or subset analyses run at once (0: one per thread); each holds its own intermediates.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_parallel: usize,
}

/// The over-training options of the flags, checked and with the log read, before the tensor is read.
pub fn over_training_options(args: &OverTrainingArgs) -> anyhow::Result<OverTrainingOptions> {
    let timeline = args.windows.clone().map(|windows| TimelineOptions {
        windows,
        consensus: args.consensus,
        max_parallel: args.max_parallel,
    });
    let check = TimelineOptions { consensus: args.consensus, ..TimelineOptions::default() };
    check.validate().context("bad `--consensus`")?;
    let subsets = match &args.component_subsets {
        Some(s) => parse_subsets(s).context("bad `--component-subsets`")?,
        None => Vec::new(),
    };
    let train_log = args.train_log.as_deref().map(TrainLog::read).transpose()?;
    let groups = match &args.groups {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read `{}`", p.display()))?;
            let g: ccc_core::Groups = serde_json::from_str(&text).with_context(|| {
                format!("`{}`: expected a JSON groups object with `comps_grp1` and `comps_grp2`", p.display())
            })?;
            Some((g, p.display().to_string()))
        }
        None => None,
    };
    if groups.is_some() && args.trajectory_clusters.is_none() {
        anyhow::bail!("`--groups` chooses the grouping of `--trajectory-clusters`: give that too");
    }
    Ok(OverTrainingOptions {
        timeline,
        subsets,
        train_log,
        clusters: args.trajectory_clusters,
        groups,
        consensus: args.consensus,
    })
}

/// `--reading`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReadingArg {
    /// In memory when small, blockwise otherwise.
    Auto,
    /// In memory.
    Memory,
    /// Memory-mapped, a block at a time.
    Blockwise,
}

impl Args {
    /// The reading the flags ask for.
    pub fn reading(&self) -> Reading {
        let mode = match self.reading {
            ReadingArg::Auto => ReadMode::Auto,
            ReadingArg::Memory => ReadMode::InMemory,
            ReadingArg::Blockwise => ReadMode::Blockwise,
        };
        Reading { mode, block_bytes: (self.block_mib as usize) << 20 }
    }
}

/// The figure options of the flags, checked before any work.
fn figure_options(args: &Args) -> anyhow::Result<FigureOptions> {
    let (figures, format) = (args.figures, args.format);
    if args.smooth == Some(0) {
        anyhow::bail!("`--smooth 0` is not a window; use 1 (no smoothing) or more");
    }
    let resolution = if args.full_size { Resolution::Full } else { Resolution::Screen };
    Ok(FigureOptions { figures, format, smooth: args.smooth, threads: 0, resolution })
}

/// Turn the flags into validated options (before reading the tensor).
pub fn options(args: &Args) -> anyhow::Result<AnalyzeOptions> {
    let steps = args.trajectory.step_selection()?;
    let extra = match &args.pipelines_file {
        Some(p) => read_pipelines_file(p, ccc_analyze::pipeline::builtin().len() + 1)?,
        None => Vec::new(),
    };
    let opts = AnalyzeOptions {
        seed: args.seed,
        aggregation: args.trajectory.agg.into(),
        grid: args.trajectory.grid,
        steps,
        steps_text: args.trajectory.steps.clone().unwrap_or_else(|| "all".into()),
        pipelines: args.pipelines.clone(),
        extra_pipelines: extra,
        pipelines_file: args.pipelines_file.as_ref().map(|p| p.display().to_string()),
        timings: !args.no_timings,
    };
    opts.validate().context("bad options")?;
    Ok(opts)
}

/// Run `ccc analyze`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let opts = options(&args)?;
    let fig_opts = figure_options(&args)?;
    let over = over_training_options(&args.over)?;
    if args.shard.is_some() && !over.is_empty() {
        anyhow::bail!("`--shard` runs a part of the whole-run analysis: run the analysis over training on the merged directory's tensor without `--shard`");
    }
    let view =
        MappedTensor::open(&args.file, &opts.steps).with_context(|| format!("reading {}", args.file.display()))?;
    let progress = CliProgress::new(args.quiet);
    let reading = args.reading();
    if let Some(shard) = args.shard {
        let part = ccc_analyze::shard::analyze_shard(&view, &opts, &reading, shard, &progress)
            .with_context(|| format!("analyzing shard {shard} of {}", args.file.display()))?;
        std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
        let path = part.write(&args.out)?;
        if !args.quiet {
            eprintln!(
                "shard {shard}: {} pipelines, {} experiments → {}",
                part.pipelines.len(),
                part.experiments.len(),
                path.display()
            );
        }
        return Ok(());
    }
    let state = args.out.join(".ccc-resume");
    let analysis = match args.resumable {
        Some(n) => ccc_analyze::resume::analyze_resumable(&view, &opts, &reading, n as usize, &state, &progress),
        None => analyze_mapped(&view, &opts, &reading, &progress),
    }
    .with_context(|| format!("analyzing {}", args.file.display()))?;
    drop(view);
    analysis.write_to(&args.out)?;
    if args.resumable.is_some() {
        std::fs::remove_dir_all(&state).with_context(|| format!("removing {}", state.display()))?;
    }
    if !over.is_empty() {
        // The windows and subsets re-run the analysis on parts of the tensor: they read it whole.
        let t_over = std::time::Instant::now();
        let tensor = ccc_core::file::read(&args.file)?;
        let done = over_training(&tensor, &analysis, &opts, &over, &progress)
            .with_context(|| format!("analyzing {} over training", args.file.display()))?;
        for p in done.write_to(&args.out)? {
            progress.message(&format!("{} ({:.1} s)", p.display(), t_over.elapsed().as_secs_f64()));
        }
    }
    if !args.quiet {
        let counts = analysis.status_counts();
        let [c, t, k] = analysis.shape;
        eprintln!(
            "{} experiments from {} pipelines ({} ok, {} degenerate, {} failed) on {c}×{t}×{k} in {:.1} s → {}",
            analysis.experiments.len(),
            analysis.pipelines.len(),
            counts.ok,
            counts.degenerate,
            counts.failed,
            analysis.run_time_s,
            args.out.display()
        );
    }
    let figures = if fig_opts.figures == FigureSet::None {
        Ok(())
    } else {
        let t0 = std::time::Instant::now();
        // Figures draw from the tensor in memory (a sheet reads every coordinate's trajectory).
        let tensor = ccc_core::file::read(&args.file)?;
        let drawn = ccc_figures::render_analysis(&args.out, &tensor, &fig_opts, &progress).map(|_| ());
        progress.message(&format!("figures: {:.1} s", t0.elapsed().as_secs_f64()));
        drawn
    };
    if !args.no_report {
        // The report is written even when a figure failed: it shows what was drawn.
        let report = write_report(&args.out, &ReportOptions { standalone: args.standalone })?;
        progress.message(&format!("report: {}", report.display()));
    }
    figures.context("some figures could not be drawn")?;
    Ok(())
}
