//! `ccc demo`: analyze the embedded demo training run, draw its figures and write its report.
//!
//! The demo run is `mini-neox` (see `crates/ccc-cli/data/README.md`): all 37 checkpoints of a real training run of
//! a pythia-14m-shaped GPT-NeoX model, summarized into `ccc/1` tensors that are embedded in the binary, so the
//! demo needs no download and no file.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use ccc_analyze::timeline::{
    over_training, ClusterCount, OverTrainingOptions, TimelineOptions, TrainLog, WindowSpec, DEFAULT_CONSENSUS,
};
use ccc_analyze::AnalyzeOptions;
use ccc_core::{Mode, Progress as _};
use ccc_figures::report::{write_report, ReportOptions};
use ccc_figures::{FigureOptions, Resolution};

use crate::progress::CliProgress;

/// The demo run in full mode: `mags` [128 coordinates, 37 checkpoints, 122 components].
const DEMO_FULL: &[u8] = include_bytes!("../../data/mini-neox-full.safetensors");
/// The demo run in compact mode: `mags` [128, 37, 10].
const DEMO_COMPACT: &[u8] = include_bytes!("../../data/mini-neox-compact.safetensors");
/// The demo run's training log: per checkpoint its training and validation loss and learning rate.
const DEMO_LOG: &str = include_str!("../../data/mini-neox.train_log.json");

/// Flags of `ccc demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the analysis, its figures and report.html.
    #[arg(short = 'o', long = "out", value_name = "DIR", default_value = "ccc-demo")]
    pub out: PathBuf,
    /// Analyze the full tensor (one component per head and layer, 301 experiments) or the compact one.
    #[arg(long, value_name = "MODE", default_value = "full")]
    pub mode: Mode,
    /// Do not open the report in a browser (it is opened only when stdout is a terminal).
    #[arg(long)]
    pub no_open: bool,
    /// Write PNG figures at full size (trajectory sheets 2000 × 1900 px) rather than screen size (1600 × 1520).
    #[arg(long)]
    pub full_size: bool,
    /// Show only warnings.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The checked options of a demo run.
#[derive(Debug)]
struct Demo {
    out: PathBuf,
    mode: Mode,
    resolution: Resolution,
    open: bool,
    quiet: bool,
}

impl Demo {
    fn from_args(args: Args) -> anyhow::Result<Demo> {
        check_out_dir(&args.out)?;
        Ok(Demo {
            out: args.out,
            mode: args.mode,
            resolution: if args.full_size { Resolution::Full } else { Resolution::Screen },
            open: !args.no_open && std::io::stdout().is_terminal(),
            quiet: args.quiet,
        })
    }
}

/// Refuse to write into a directory that holds something other than an earlier analysis output.
fn check_out_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!("`{}` exists and is not a directory: choose another with `-o DIR`", dir.display());
    }
    if dir.is_dir() {
        let mut entries = std::fs::read_dir(dir).with_context(|| format!("cannot read `{}`", dir.display()))?;
        let empty = entries.next().is_none();
        if !empty && !dir.join(ccc_analyze::files::EXPERIMENTS_JSON).is_file() {
            anyhow::bail!(
                "`{}` is not empty and holds no earlier analysis: choose a new directory with `-o DIR`",
                dir.display()
            );
        }
    }
    Ok(())
}

/// Run `ccc demo`: analyze, draw, report; print the path of report.html.
pub fn run(args: Args) -> anyhow::Result<()> {
    let demo = Demo::from_args(args)?;
    let progress = CliProgress::new(demo.quiet);
    let t0 = Instant::now();
    let bytes = match demo.mode {
        Mode::Full => DEMO_FULL,
        Mode::Compact => DEMO_COMPACT,
    };
    let tensor = ccc_core::file::from_bytes(bytes).context("the embedded demo tensor is unreadable")?;

    let opts = AnalyzeOptions::default();
    let analysis = ccc_analyze::analyze(&tensor, &opts, &progress)?;
    analysis.write_to(&demo.out).with_context(|| format!("cannot write the analysis into `{}`", demo.out.display()))?;
    // Over training: four windows beside the run's own training log, and the trajectories' clusters.
    let log = TrainLog::parse(Path::new("mini-neox.train_log.json"), DEMO_LOG)
        .context("the embedded demo training log is unreadable")?;
    let over = OverTrainingOptions {
        timeline: Some(TimelineOptions { windows: WindowSpec::Count(4), ..TimelineOptions::default() }),
        train_log: Some(log),
        clusters: Some(ClusterCount::Auto),
        consensus: DEFAULT_CONSENSUS,
        ..OverTrainingOptions::default()
    };
    over_training(&tensor, &analysis, &opts, &over, &progress)?.write_to(&demo.out)?;
    let t_analysis = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let fig_opts = FigureOptions { resolution: demo.resolution, ..FigureOptions::default() };
    let figures = ccc_figures::render_analysis(&demo.out, &tensor, &fig_opts, &progress);
    let t_figures = t1.elapsed().as_secs_f64();
    // The report is written even when a figure failed: it shows what was drawn.
    let report = write_report(&demo.out, &ReportOptions::default())?;
    figures.context("some figures could not be drawn")?;

    if !demo.quiet {
        progress.message(&format!(
            "demo: analysis {t_analysis:.1} s, figures {t_figures:.1} s, total {:.1} s",
            t0.elapsed().as_secs_f64()
        ));
    }
    println!("{}", report.display());
    if demo.open {
        open_in_browser(&report, &progress);
    }
    Ok(())
}

/// Ask the desktop to open `path` (xdg-open, or `open` on macOS); a failure only warns.
fn open_in_browser(path: &Path, progress: &CliProgress) {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let spawned = std::process::Command::new(opener)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        progress.warn(&format!("could not open the report with `{opener}` ({e}); open {} yourself", path.display()));
    }
}
