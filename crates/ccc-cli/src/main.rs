//! `ccc`: how a neural network's weights evolve over training — Coordinates × Checkpoints × Components.
//!
//! The binary is thin glue: each subcommand parses its flags into the typed options of a library crate, runs it,
//! and turns errors into one clear line.

mod commands;
mod progress;
mod signals;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

/// ccc — which residual-stream coordinates behave as outliers, and which components move together, across
/// the checkpoints of a training run.
#[derive(Debug, Parser)]
#[command(name = "ccc", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the architecture found in a checkpoint, the components it will produce, and the tensors ignored.
    Inspect(commands::inspect::Args),
    /// Read checkpoints (local dirs or hf:ORG/NAME) and write the CCC tensor (ccc/1 safetensors).
    // Boxed: its flags make it much larger than the other variants.
    Summarize(Box<commands::summarize::Args>),
    /// Describe a ccc/1 file: model, shape, steps, filled, components.
    Info(commands::info::Args),
    /// Combine ccc/1 files of the same run (e.g. the shards of a cluster job).
    Merge(commands::merge::Args),
    /// List the step-bearing revisions of a Hugging Face hub repository.
    Revisions(commands::revisions::Args),
    /// Run the 40 classification pipelines and score the 301 experiments.
    Analyze(commands::analyze::Args),
    /// Score your own grouping(s) of coordinates and components.
    Score(commands::score::Args),
    /// Search for the groupings with the best scores and test them against a null model.
    Search(commands::search::Args),
    /// Draw one figure (a trajectory sheet, one component, …).
    Plot(commands::plot::Args),
    /// Rebuild the HTML report of an analysis output directory.
    Report(commands::report::Args),
    /// Analyze the embedded demo training run and write its report.
    Demo(commands::demo::Args),
    /// Follow a run directory while it trains: grow the tensor with each new checkpoint, re-analyze, alert.
    Watch(commands::watch::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A value that does not parse (`--mode fast`, `--shard 3/2`) is an error in what the user gave, like a
        // missing file: one `error:` line, exit code 1. Help, version and usage errors are clap's own.
        Err(e) if matches!(e.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue) => {
            let _ = e.print();
            return ExitCode::FAILURE;
        }
        Err(e) => e.exit(),
    };
    signals::install();
    let result = match cli.command {
        Command::Inspect(a) => commands::inspect::run(a),
        Command::Summarize(a) => commands::summarize::run(*a),
        Command::Info(a) => commands::info::run(a),
        Command::Merge(a) => commands::merge::run(a),
        Command::Revisions(a) => commands::revisions::run(a),
        Command::Analyze(a) => commands::analyze::run(a),
        Command::Score(a) => commands::score::run(a),
        Command::Search(a) => commands::search::run(a),
        Command::Plot(a) => commands::plot::run(a),
        Command::Report(a) => commands::report::run(a),
        Command::Demo(a) => commands::demo::run(a),
        Command::Watch(a) => commands::watch::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: the error and its causes, outermost first.
            let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
            let mut line = String::new();
            for part in chain {
                if !line.contains(&part) {
                    if !line.is_empty() {
                        line.push_str(": ");
                    }
                    line.push_str(&part);
                }
            }
            eprintln!("error: {line}");
            ExitCode::FAILURE
        }
    }
}
