//! `ccc search`: the groupings with the best scores, tested against a null model (docs/search.md).

use std::path::PathBuf;

use anyhow::{bail, Context};
use ccc_analyze::files::{AnalysisFile, ExperimentsFile, SummaryFile};
use ccc_analyze::search::{verdict, Budget};
use ccc_analyze::{analyze, search, AnalyzeOptions, NullMethod, SearchOptions};
use ccc_core::Progress as _;

use super::trajectory_args::TrajectoryArgs;
use crate::progress::CliProgress;

/// Flags of `ccc search`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A ccc/1 file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Output directory: its experiments.json gives the start points (the analysis runs first when there is
    /// none); search.json and search.csv are written there.
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,

    /// Seed of every random draw (start points, annealing, null tensors, random groupings).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub trajectory: TrajectoryArgs,

    /// Evaluations of each search (real and every null), e.g. `200000`; or wall time for all of them, e.g.
    /// `60s`, `5m` (turned into an evaluation count once, recorded in search.json); `auto`: 200000 at
    /// 512 coordinates × 40 checkpoints and above, more (up to 600000) for smaller tensors.
    #[arg(long, value_name = "N|TIME|auto", default_value_t = BudgetArg(Budget::Auto))]
    pub budget: BudgetArg,

    /// Null tensors searched the same way.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub nulls: usize,

    /// How a null tensor is made: `permute` (coordinates permuted within each component) or `shift` (each
    /// component's checkpoint increments shifted in time by its own offset; keeps every coordinate's scale), see
    /// docs/search.md §4.
    #[arg(long = "null", value_name = "METHOD", default_value = "permute", value_parser = parse_null)]
    pub null_method: NullMethod,

    /// Random groupings of the same sizes per front point (`random_percentile`).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub random: usize,

    /// Random start points besides the experiments.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub random_starts: usize,

    /// Largest fraction of outlier coordinates a grouping may have.
    #[arg(long, value_name = "F", default_value_t = 0.2)]
    pub max_fraction: f64,

    /// Fewest components in each of the two groups.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub min_group: usize,

    /// Do not draw the scores scatter (DIR/figures/search-scores.png, listed in figures/index.json) nor a
    /// trajectory sheet per front point (into DIR/figures/search/).
    #[arg(long)]
    pub no_figures: bool,

    /// Leave wall times out of the outputs, so that the same input, seed and budget give byte-identical files.
    #[arg(long)]
    pub no_timings: bool,

    /// Show only warnings and errors.
    #[arg(short, long)]
    pub quiet: bool,
}

fn parse_null(s: &str) -> Result<NullMethod, String> {
    s.parse().map_err(|e: ccc_analyze::AnalyzeError| e.to_string())
}

/// `--budget`: an evaluation count, or a time (`90s`, `2m`, `1h`); parsed by [`Budget`]'s `FromStr`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetArg(pub Budget);

impl std::fmt::Display for BudgetArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for BudgetArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse::<Budget>().map(BudgetArg).map_err(|e| match e {
            ccc_analyze::AnalyzeError::InvalidOption(m) => m,
            other => other.to_string(),
        })
    }
}

/// Turn the flags into validated options (before reading the tensor).
pub fn options(args: &Args) -> anyhow::Result<SearchOptions> {
    let opts = SearchOptions {
        seed: args.seed,
        aggregation: args.trajectory.agg.into(),
        grid: args.trajectory.grid,
        steps: args.trajectory.step_selection()?,
        steps_text: args.trajectory.steps.clone().unwrap_or_else(|| "all".into()),
        budget: args.budget.0,
        nulls: args.nulls,
        null_method: args.null_method,
        random: args.random,
        random_starts: args.random_starts,
        max_fraction: args.max_fraction,
        min_group: args.min_group,
        timings: !args.no_timings,
    };
    opts.validate().context("bad options")?;
    Ok(opts)
}

/// The experiments of `DIR`, checked against the search's options; `None` when there are none yet.
fn existing_experiments(args: &Args, opts: &SearchOptions) -> anyhow::Result<Option<ExperimentsFile>> {
    let Some(exps) = ExperimentsFile::read_if_present(&args.out)? else { return Ok(None) };
    if let Some(s) = SummaryFile::read_if_present(&args.out)? {
        let o = &s.options;
        if o.aggregation != opts.aggregation || o.grid != opts.grid || o.steps != opts.steps_text {
            bail!(
                "{} was scored with --agg {} --grid {} --steps {}; search with the same flags (or another -o) so \
                 that its scores compare with the front",
                ExperimentsFile::path_in(&args.out).display(),
                o.aggregation,
                o.grid,
                o.steps
            );
        }
    }
    Ok(Some(exps))
}

/// Run `ccc search`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let opts = options(&args)?;
    let tensor = ccc_core::file::read(&args.file)?;
    let progress = CliProgress::new(args.quiet);
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let experiments = match existing_experiments(&args, &opts)? {
        Some(e) => e,
        None => {
            progress.message(&format!("no experiments in {}: running the analysis first", args.out.display()));
            let a_opts = AnalyzeOptions {
                seed: opts.seed,
                aggregation: opts.aggregation,
                grid: opts.grid,
                steps: opts.steps.clone(),
                steps_text: opts.steps_text.clone(),
                timings: opts.timings,
                ..AnalyzeOptions::default()
            };
            let analysis =
                analyze(&tensor, &a_opts, &progress).with_context(|| format!("analyzing {}", args.file.display()))?;
            analysis.write_to(&args.out)?;
            analysis.experiments_file()
        }
    };
    let cancel = crate::signals::cancel_on_ctrl_c();
    let result = search(&tensor, &experiments, &opts, &progress, cancel)
        .with_context(|| format!("searching {}", args.file.display()))?;
    result.write_to(&args.out)?;
    let f = &result.file;
    if !args.no_figures {
        let t = ccc_analyze::analysis_input(&tensor, &opts.steps)?;
        ccc_figures::search_sheets::render_search_sheets(&args.out, &t, f, ccc_figures::Resolution::Screen)
            .context("drawing the front's sheets")?;
        ccc_figures::render::render_search_scores(
            &args.out,
            f,
            &experiments.experiments,
            &tensor.meta.model,
            ccc_figures::Resolution::Screen,
        )
        .context("drawing the search's scores scatter")?;
    }
    if args.out.join("report.html").is_file() {
        // An existing report gains (or updates) its Search section.
        ccc_figures::report::write_report(&args.out, &ccc_figures::report::ReportOptions { standalone: false })?;
    }
    if !args.quiet {
        let dominated = f.experiments_front.iter().filter(|e| e.dominated_by.is_some()).count();
        eprintln!(
            "front of {} groupings ({} evaluations{}); it dominates {dominated} of the {} points of the \
             experiments' front → {}",
            f.front.len(),
            f.evaluations,
            f.run_time_s.map(|s| format!(" in {s:.1} s")).unwrap_or_default(),
            f.experiments_front.len(),
            ccc_analyze::files::SearchFile::path_in(&args.out).display()
        );
        eprintln!("{}", verdict(f));
    }
    if f.interrupted {
        bail!(
            "interrupted: the best front so far is in {}",
            ccc_analyze::files::SearchFile::path_in(&args.out).display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse() {
        assert_eq!("200000".parse::<BudgetArg>().unwrap().0, Budget::Evaluations(200_000));
        assert_eq!("auto".parse::<BudgetArg>().unwrap().0, Budget::Auto);
        assert_eq!("60s".parse::<BudgetArg>().unwrap().0, Budget::Seconds(60.0));
        assert_eq!("2m".parse::<BudgetArg>().unwrap().0, Budget::Seconds(120.0));
        assert_eq!("1.5h".parse::<BudgetArg>().unwrap().0, Budget::Seconds(5400.0));
        for bad in ["0", "-1s", "fast", "10x", "s"] {
            assert!(bad.parse::<BudgetArg>().is_err(), "{bad}");
        }
    }
}
