//! Hub flags of `ccc summarize` and the resolution of `hf:ORG/NAME[@REV]` inputs into checkpoints.

use ccc_core::{Progress, StepSelection};
use ccc_summarize::Checkpoint;

/// Flags for summarizing from the Hugging Face hub.
#[derive(Debug, clap::Args)]
pub struct HubArgs {}

/// Turn one `hf:` input into the checkpoints to summarize.
pub fn resolve(
    _hub: &HubArgs,
    spec: &str,
    _steps: &StepSelection,
    _progress: &dyn Progress,
) -> anyhow::Result<Vec<Box<dyn Checkpoint>>> {
    anyhow::bail!("hub inputs (`{spec}`) are not available in this build yet")
}
