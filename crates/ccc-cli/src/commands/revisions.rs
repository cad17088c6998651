//! `ccc revisions`.

/// Flags of `ccc revisions`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `ccc revisions`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`ccc revisions` is not available in this build yet")
}
