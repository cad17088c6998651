//! `ccc summarize`.

/// Flags of `ccc summarize`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `ccc summarize`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`ccc summarize` is not available in this build yet")
}
