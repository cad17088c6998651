//! Hub flags of `ccc summarize` and the resolution of `hf:ORG/NAME[@REV]` inputs into checkpoints.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ccc_core::{NameFilter, Progress, StepSelection};
use ccc_hub::config::ProcessEnv;
use ccc_hub::{FetchMode, HubClient, HubConfig, HubOptions, RepoSpec, RevisionSelector, RevisionTemplate};
use ccc_summarize::Checkpoint;

/// How to reach the hub (shared by `summarize` and `revisions`).
#[derive(Debug, Clone, clap::Args)]
pub struct HubConnArgs {
    /// Read the hub token from this file (default: `HF_TOKEN`, else `$HF_HOME/token` as written by
    /// `huggingface-cli login`). The token is never printed.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Seconds to wait for a connection, a response or more bytes before retrying.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub hub_timeout: f64,
    /// Attempts per request for 5xx answers, timeouts and broken connections (backoff doubles each time).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub hub_retries: u32,
    /// First retry backoff in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500, hide = true)]
    pub hub_backoff_ms: u64,
}

impl HubConnArgs {
    /// A client configured from the environment (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HOME`, `HF_HUB_CACHE`) and these
    /// flags.
    pub fn client(&self) -> anyhow::Result<HubClient> {
        if !(self.hub_timeout.is_finite() && self.hub_timeout > 0.0) {
            anyhow::bail!("--hub-timeout must be a positive number of seconds, got {}", self.hub_timeout);
        }
        if self.hub_retries == 0 {
            anyhow::bail!("--hub-retries must be at least 1 (one attempt, no retry)");
        }
        let mut config = HubConfig::from_env(&ProcessEnv, self.token_file.as_deref())?;
        config.retry.timeout = Duration::from_secs_f64(self.hub_timeout);
        config.retry.attempts = self.hub_retries;
        config.retry.backoff = Duration::from_millis(self.hub_backoff_ms);
        Ok(HubClient::new(config).with_notifier(Arc::new(|msg: &str| eprintln!("note: {msg}"))))
    }
}

/// Flags for summarizing from the Hugging Face hub.
#[derive(Debug, Clone, clap::Args)]
pub struct HubArgs {
    /// Which step-named checkpoints to use, by name: of `hf:` inputs without `@REV`, their branches and tags; of
    /// run directories, their subdirectories. `all` (filtered by --steps), or a comma-separated list of names and
    /// globs, e.g. 'stage2-ingredient1-*' to choose one series where step numbers repeat or restart.
    #[arg(long, value_name = "all|NAMES|GLOBS", default_value = "all")]
    pub revisions: String,
    /// How steps map to revision names in repositories outside the known families (Pythia `step{step}`, OLMo
    /// `step{step}-tokens…`, Amber `ckpt_{step:03}`), e.g. `iter_{step:07}`.
    #[arg(long, value_name = "TEMPLATE")]
    pub revision_template: Option<RevisionTemplate>,
    /// Stream single-file safetensors checkpoints into the summarizer without writing them to disk (the default).
    #[arg(long, overrides_with = "no_stream")]
    pub stream: bool,
    /// Download each checkpoint to disk before reading it.
    #[arg(long, overrides_with = "stream")]
    pub no_stream: bool,
    /// Keep downloaded files (in the hub cache layout, so later runs reuse them) instead of deleting them once
    /// each checkpoint is summarized.
    #[arg(long)]
    pub keep_downloads: bool,
    /// Where downloads go (default: the hub cache, `HF_HUB_CACHE` or `$HF_HOME/hub`).
    #[arg(long, value_name = "DIR")]
    pub download_dir: Option<PathBuf>,
    #[command(flatten)]
    pub conn: HubConnArgs,
}

impl HubArgs {
    /// `--revisions`, checked: the names chosen, for hub revisions and local step directories alike.
    pub fn name_filter(&self) -> anyhow::Result<NameFilter> {
        self.revisions.parse::<NameFilter>().context("--revisions")
    }

    /// The typed options, checked.
    pub fn options(&self) -> anyhow::Result<HubOptions> {
        let revisions = RevisionSelector::from_filter(&self.name_filter()?);
        let template = self.revision_template.clone();
        let mode = if self.no_stream {
            FetchMode::Download
        } else if self.stream {
            FetchMode::Stream
        } else {
            FetchMode::Auto
        };
        Ok(HubOptions {
            mode,
            download_dir: self.download_dir.clone(),
            keep_downloads: self.keep_downloads,
            revisions,
            template,
        })
    }
}

/// Turn one `hf:` input into the checkpoints to summarize; one notice names the revisions passed over.
pub fn resolve(
    hub: &HubArgs,
    spec: &str,
    steps: &StepSelection,
    progress: &dyn Progress,
) -> anyhow::Result<Vec<Box<dyn Checkpoint>>> {
    let spec: RepoSpec = spec.parse()?;
    let opts = Arc::new(hub.options()?);
    let client = Arc::new(hub.conn.client()?);
    let found = match ccc_hub::resolve(&client, &spec, &opts, steps, progress) {
        Ok(found) => found,
        Err(e) => {
            // A repository of PEFT adapters has no step revisions nor model weights: say what it is instead.
            let revision = spec.revision.as_deref().unwrap_or("main");
            let adapters = client.revision_info(&spec.repo, revision).is_ok_and(|info| {
                info.siblings.iter().any(|f| f.rfilename.rsplit('/').next() == Some("adapter_config.json"))
            });
            if adapters {
                anyhow::bail!(
                    "{spec} holds PEFT adapters (adapter_config.json): summarize them against the base model they \
                     were trained from with --base DIR or --base hf:ORG/NAME"
                );
            }
            return Err(anyhow::Error::new(e).context(spec.to_string()));
        }
    };
    if let Some(notice) = skipped_notice(&format!("hf:{}", spec.repo), &found.skipped) {
        progress.message(&notice);
    }
    Ok(found.checkpoints.into_iter().map(|c| Box::new(c) as Box<dyn Checkpoint>).collect())
}

/// One line naming each revision of `input` that was passed over, and why.
pub fn skipped_notice(input: &str, skipped: &[ccc_hub::checkpoint::SkippedRevision]) -> Option<String> {
    if skipped.is_empty() {
        return None;
    }
    let list: Vec<String> = skipped.iter().map(|s| format!("{} ({})", s.name, s.reason)).collect();
    let what = if skipped.len() == 1 { "revision" } else { "revisions" };
    Some(format!("{input}: skipped {} {what}: {}", skipped.len(), list.join(", ")))
}

/// The directory of a `--base`: a local checkpoint directory as given, or for `hf:ORG/NAME[@REV]` (default
/// revision `main`) its snapshot in the hub cache, downloaded and verified first if it is not there yet.
pub fn base_dir(base: &std::path::Path, conn: &HubConnArgs) -> anyhow::Result<PathBuf> {
    let Some(text) = base.to_str().filter(|s| RepoSpec::is_hub(s)) else { return Ok(base.to_path_buf()) };
    let spec: RepoSpec = text.parse()?;
    let client = Arc::new(conn.client()?);
    let revision = spec.revision.as_deref().unwrap_or("main");
    ccc_hub::fetch_snapshot(&client, &spec.repo, revision).with_context(|| format!("--base {spec}"))
}

/// The local run directory of an adapter run on the hub, `hf:ORG/NAME[@REV]` (default revision `main`): its
/// `checkpoint-N/` folders that `wanted(name, step)` chooses, fetched into the hub cache.
pub fn adapter_run_dir(input: &str, conn: &HubConnArgs, wanted: &dyn Fn(&str, i64) -> bool) -> anyhow::Result<PathBuf> {
    let spec: RepoSpec = input.parse()?;
    let client = Arc::new(conn.client()?);
    let revision = spec.revision.as_deref().unwrap_or("main");
    ccc_hub::fetch_adapter_run(&client, &spec.repo, revision, wanted).with_context(|| spec.to_string())
}
