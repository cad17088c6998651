//! `ccc merge`: combine `ccc/1` files of the same run (e.g. the shards of a cluster job), or the partial analyses
//! of `ccc analyze --shard I/N` into the analysis one run writes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ccc_analyze::files::{AnalysisFile, PartialFile, PARTIAL_JSON};

/// Flags of `ccc merge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The files to combine (same model, mode, summary and components), or the directories of every shard of
    /// one sharded analysis (each with a `partial.json`).
    #[arg(required = true, value_name = "FILE|DIR")]
    pub inputs: Vec<PathBuf>,

    /// The combined file (written atomically; may be one of the inputs), or for analyses the output directory
    /// (experiments.json, scores.csv, summary.json).
    #[arg(short, long, value_name = "FILE|DIR")]
    pub output: PathBuf,

    /// Only errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Run `ccc merge`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let dirs = args.inputs.iter().filter(|p| p.is_dir()).count();
    if dirs > 0 {
        if dirs != args.inputs.len() {
            bail!("give either ccc/1 files or analysis directories of `ccc analyze --shard`, not both");
        }
        return merge_analyses(&args);
    }
    if args.inputs.len() < 2 {
        bail!("give at least two files to merge");
    }
    // Column by column: memory stays two columns, whatever the size of the files.
    let inputs: Vec<&Path> = args.inputs.iter().map(PathBuf::as_path).collect();
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

/// The partial analyses of every shard → experiments.json, scores.csv, summary.json.
fn merge_analyses(args: &Args) -> anyhow::Result<()> {
    let mut parts = Vec::with_capacity(args.inputs.len());
    for d in &args.inputs {
        let path = d.join(PARTIAL_JSON);
        if !path.is_file() {
            bail!("`{}` has no {PARTIAL_JSON}: is it the output of `ccc analyze --shard I/N`?", d.display());
        }
        parts.push(PartialFile::read_file(&path)?);
    }
    let analysis = ccc_analyze::shard::merge(&parts).context("merging the shards")?;
    analysis.write_to(&args.output)?;
    if !args.quiet {
        let counts = analysis.status_counts();
        eprintln!(
            "{} experiments from {} shards ({} ok, {} degenerate, {} failed) → {}",
            analysis.experiments.len(),
            parts.len(),
            counts.ok,
            counts.degenerate,
            counts.failed,
            args.output.display()
        );
    }
    Ok(())
}
