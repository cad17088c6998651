//! `ccc demo`.

/// Flags of `ccc demo`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `ccc demo`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`ccc demo` is not available in this build yet")
}
