//! `ccc inspect`.

/// Flags of `ccc inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `ccc inspect`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`ccc inspect` is not available in this build yet")
}
