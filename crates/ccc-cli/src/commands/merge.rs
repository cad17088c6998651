//! `ccc merge`: combine `ccc/1` files of the same run (e.g. the shards of a cluster job).

use std::path::PathBuf;

use anyhow::bail;

/// Flags of `ccc merge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The files to combine (same model, mode, summary and components).
    #[arg(required = true, value_name = "FILE")]
    pub inputs: Vec<PathBuf>,

    /// The combined file (written atomically; may be one of the inputs).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// Only errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Run `ccc merge`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.inputs.len() < 2 {
        bail!("give at least two files to merge");
    }
    // Column by column: memory stays two columns, whatever the size of the files.
    let inputs: Vec<&std::path::Path> = args.inputs.iter().map(PathBuf::as_path).collect();
    let merged = ccc_core::merge_files(&inputs, &args.output)?;
    if !args.quiet {
        let filled = merged.filled.iter().filter(|&&f| f).count();
        eprintln!(
            "wrote {}: {} steps ({filled} filled) from {} files",
            args.output.display(),
            merged.steps.len(),
            args.inputs.len()
        );
    }
    Ok(())
}
