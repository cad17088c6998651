//! `ccc plot`: draw one figure — the trajectory sheet of an experiment or of groups you choose, one component, or
//! the sum over components — as PNG or SVG (from the extension of `-o`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ccc_analyze::{Aggregation, OutlierMethod};
use ccc_core::{file, CccTensor, ComponentPattern};
use ccc_figures::lines::CurvesFigure;
use ccc_figures::render::context_line;
use ccc_figures::{adhoc_sheet, save, AdhocGroups, Analysis, Resolution};

/// Flags of `ccc plot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub figure: PlotFigure,
    /// Write a PNG at full size (a trajectory sheet 2000 × 1900 px) rather than screen size (1600 × 1520).
    #[arg(long, global = true)]
    pub full_size: bool,
}

/// Which figure to draw.
#[derive(Debug, clap::Subcommand)]
pub enum PlotFigure {
    /// The 2×2 trajectory sheet of one experiment (`--experiment ID --analysis DIR`) or of component groups you
    /// choose (`--grp1 PATTERN --grp2 PATTERN [--outliers METHOD]`).
    Sheet(SheetArgs),
    /// `mags[c, t, k]` of one component against checkpoints, every coordinate one curve.
    Component(ComponentArgs),
    /// `Σ_k mags[c, t, k]` against checkpoints, every coordinate one curve.
    Aggregate(AggregateArgs),
}

/// Flags of `ccc plot sheet`.
#[derive(Debug, clap::Args)]
pub struct SheetArgs {
    /// A ccc/1 file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Draw this experiment of an analysis (its id in experiments.json).
    #[arg(long, value_name = "ID", conflicts_with_all = ["grp1", "grp2", "outliers"])]
    pub experiment: Option<usize>,
    /// The output directory of `ccc analyze` that holds the experiment (default: the directory of `-o`).
    #[arg(long, value_name = "DIR", requires = "experiment")]
    pub analysis: Option<PathBuf>,
    /// Component group 1: comma-separated globs over component names (e.g. `emb_in`, `L*.H*.Q`).
    #[arg(long, value_name = "PATTERN", requires = "grp2")]
    pub grp1: Option<String>,
    /// Component group 2, like `--grp1`.
    #[arg(long, value_name = "PATTERN", requires = "grp1")]
    pub grp2: Option<String>,
    /// Split the coordinates with this trajectory outlier method (e.g. `MAD-last-sum`); default: no split.
    #[arg(long, value_name = "METHOD")]
    pub outliers: Option<OutlierMethod>,
    /// How a group's components are combined: sum, inverse_length or pooled.
    #[arg(long, default_value = "sum")]
    pub aggregation: Aggregation,
    /// Seed of the random generator (used by `MAD-union-lincomb`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Display-only moving average of the drawn trajectories over N checkpoints.
    #[arg(long, value_name = "N")]
    pub smooth: Option<usize>,
    /// Output file: `.png` or `.svg`.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
}

/// Flags of `ccc plot component`.
#[derive(Debug, clap::Args)]
pub struct ComponentArgs {
    /// A ccc/1 file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The component's name, e.g. `L3.H1.Q`, `emb_in`, `L0.mlp_in` (see `ccc info -v FILE`).
    #[arg(value_name = "COMPONENT")]
    pub component: String,
    /// Output file: `.png` or `.svg`.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
}

/// Flags of `ccc plot aggregate`.
#[derive(Debug, clap::Args)]
pub struct AggregateArgs {
    /// A ccc/1 file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output file: `.png` or `.svg`.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
}

/// Check the output extension before any work.
fn check_output(out: &Path) -> anyhow::Result<()> {
    match out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("png") | Some("svg") => Ok(()),
        _ => bail!("output `{}` must end in .png or .svg (the format follows the extension)", out.display()),
    }
}

fn read(file: &Path) -> anyhow::Result<CccTensor> {
    let t = file::read(file).with_context(|| format!("cannot read `{}`", file.display()))?;
    if !t.filled.iter().any(|&f| f) {
        bail!("`{}` has no filled checkpoint: run `ccc summarize` first", file.display());
    }
    Ok(t)
}

fn select(t: &CccTensor, flag: &str, pattern: &str) -> anyhow::Result<Vec<usize>> {
    let p = ComponentPattern::parse(pattern).with_context(|| format!("bad `{flag}`"))?;
    let sel = p.select(&t.meta.components);
    if sel.is_empty() {
        let names = t.meta.component_names();
        let examples: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
        bail!(
            "`{flag} {pattern}` matches no component; names look like {} (see `ccc info -v FILE`)",
            examples.join(", ")
        );
    }
    Ok(sel)
}

/// Run `ccc plot`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let resolution = if args.full_size { Resolution::Full } else { Resolution::Screen };
    match args.figure {
        PlotFigure::Sheet(a) => sheet(a, resolution),
        PlotFigure::Component(a) => {
            check_output(&a.output)?;
            let t = read(&a.file)?.filled_only();
            let k = t.meta.component_names().iter().position(|n| *n == a.component).with_context(|| {
                format!("no component `{}` in `{}` (see `ccc info -v FILE`)", a.component, a.file.display())
            })?;
            let fig = CurvesFigure::component(&t, k, &context_line(&t, None));
            save(&fig, &a.output, resolution).with_context(|| format!("cannot write `{}`", a.output.display()))?;
            eprintln!("wrote {}", a.output.display());
            Ok(())
        }
        PlotFigure::Aggregate(a) => {
            check_output(&a.output)?;
            let t = read(&a.file)?.filled_only();
            let fig = CurvesFigure::aggregate(&t, &context_line(&t, None));
            save(&fig, &a.output, resolution).with_context(|| format!("cannot write `{}`", a.output.display()))?;
            eprintln!("wrote {}", a.output.display());
            Ok(())
        }
    }
}

fn sheet(a: SheetArgs, resolution: Resolution) -> anyhow::Result<()> {
    check_output(&a.output)?;
    let (aggregation, outliers) = (a.aggregation, a.outliers);
    if a.smooth == Some(0) {
        bail!("`--smooth 0` is not a window; use 1 (no smoothing) or more");
    }
    let sheet = match (a.experiment, &a.grp1, &a.grp2) {
        (Some(id), None, None) => {
            let dir = match &a.analysis {
                Some(d) => d.clone(),
                None => a.output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf(),
            };
            if !dir.join(ccc_analyze::files::EXPERIMENTS_JSON).is_file() {
                bail!(
                    "no experiments.json in `{}`: pass `--analysis DIR`, the output directory of `ccc analyze`",
                    dir.display()
                );
            }
            let t = read(&a.file)?;
            let analysis = Analysis::load(&dir, &t)?;
            analysis.sheet(id, a.smooth)?
        }
        (None, Some(g1), Some(g2)) => {
            let t = read(&a.file)?;
            let grp1 = select(&t, "--grp1", g1)?;
            let grp2 = select(&t, "--grp2", g2)?;
            let label = format!("group 1: {g1} ({}) · group 2: {g2} ({})", grp1.len(), grp2.len());
            let groups = AdhocGroups {
                grp1,
                grp2,
                outliers,
                aggregation,
                grid: ccc_analyze::score::DEFAULT_GRID,
                seed: a.seed,
                label,
            };
            adhoc_sheet(&t, &groups, a.smooth)?
        }
        _ => bail!("say what to draw: `--experiment ID` (with `--analysis DIR`) or `--grp1 PATTERN --grp2 PATTERN`"),
    };
    save(&sheet, &a.output, resolution).with_context(|| format!("cannot write `{}`", a.output.display()))?;
    eprintln!("wrote {}", a.output.display());
    Ok(())
}
