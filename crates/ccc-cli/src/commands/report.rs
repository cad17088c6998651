//! `ccc report`.

/// Flags of `ccc report`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `ccc report`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`ccc report` is not available in this build yet")
}
