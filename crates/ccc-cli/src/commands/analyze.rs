//! `ccc analyze`.

/// Flags of `ccc analyze`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `ccc analyze`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`ccc analyze` is not available in this build yet")
}
