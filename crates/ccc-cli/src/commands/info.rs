//! `ccc info`.

/// Flags of `ccc info`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `ccc info`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`ccc info` is not available in this build yet")
}
