//! `ccc merge`.

/// Flags of `ccc merge`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `ccc merge`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`ccc merge` is not available in this build yet")
}
