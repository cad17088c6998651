//! `ccc report`: rebuild the HTML report of an analysis output directory.

use std::path::PathBuf;

use anyhow::Context as _;
use ccc_figures::report::{write_report, ReportOptions};

/// Flags of `ccc report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The output directory of `ccc analyze` (holds experiments.json, summary.json, figures/).
    #[arg(value_name = "OUT_DIR")]
    pub out_dir: PathBuf,
    /// Inline every figure into report.html (base64), so the one file works on its own — it gets large.
    #[arg(long)]
    pub standalone: bool,
}

/// Run `ccc report`: write `OUT_DIR/report.html` and print its path.
pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.out_dir.is_dir() {
        anyhow::bail!(
            "`{}` is not a directory: give the output directory of `ccc analyze FILE -o DIR`",
            args.out_dir.display()
        );
    }
    let opts = ReportOptions { standalone: args.standalone };
    let path = write_report(&args.out_dir, &opts)
        .with_context(|| format!("cannot write the report of `{}`", args.out_dir.display()))?;
    println!("{}", path.display());
    Ok(())
}
