//! `ccc score`.

/// Flags of `ccc score`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `ccc score`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`ccc score` is not available in this build yet")
}
