//! `ccc plot`.

/// Flags of `ccc plot`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `ccc plot`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`ccc plot` is not available in this build yet")
}
