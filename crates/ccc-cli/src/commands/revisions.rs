//! `ccc revisions`: the step-bearing revisions of a hub repository, with sizes and duplicate warnings.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use ccc_core::step_name::check_series;
use ccc_core::{Progress, StepSelection};
use ccc_hub::checkpoint::{choose_revisions, open_revisions};
use ccc_hub::{HubOptions, RepoSpec, RevisionSelector, RevisionTemplate};
use ccc_summarize::Checkpoint;

use super::hub_args::HubConnArgs;
use crate::progress::CliProgress;

/// Flags of `ccc revisions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The repository, `hf:ORG/NAME`.
    pub repo: String,
    /// Only these steps: a list (`0,1000`), ranges (`1000..5000`), a modulo filter (`%1000==0`).
    #[arg(long, default_value = "all")]
    pub steps: StepSelection,
    /// How steps map to revision names outside the known conventions, e.g. `iter_{step:07}`.
    #[arg(long, value_name = "TEMPLATE")]
    pub revision_template: Option<RevisionTemplate>,
    /// Print JSON (one object per revision) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Show only warnings.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub conn: HubConnArgs,
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Run `ccc revisions`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let spec: RepoSpec = args.repo.parse()?;
    if spec.revision.is_some() {
        anyhow::bail!("`ccc revisions` lists a whole repository: drop `@{}`", spec.revision.unwrap_or_default());
    }
    let (steps, template) = (args.steps, args.revision_template);
    let progress = CliProgress::new(args.quiet);
    let client = Arc::new(args.conn.client()?);
    let opts = Arc::new(HubOptions { revisions: RevisionSelector::All, template, ..HubOptions::default() });
    // List the branches even for explicit steps: this command shows what exists.
    let listing = StepSelection::all();
    let mut chosen = choose_revisions(&client, &spec, &opts, &listing, &progress).with_context(|| spec.to_string())?;
    chosen.revisions.retain(|r| steps.contains(r.step));
    // Several series whose steps repeat or restart are all listed; summarizing needs one of them chosen.
    if let Err(e) = check_series(chosen.revisions.iter().map(|r| &r.parsed)) {
        progress.warn(&format!("for `ccc summarize`: {e}"));
    }
    let found = open_revisions(&client, &spec.repo, chosen, &opts, &progress).with_context(|| spec.to_string())?;
    if let Some(notice) = super::hub_args::skipped_notice(&spec.to_string(), &found.skipped) {
        progress.message(&notice);
    }
    let rows = found.checkpoints;

    let mut first_of: HashMap<String, usize> = HashMap::new();
    let mut dup_of: Vec<Option<usize>> = vec![None; rows.len()];
    for (i, ck) in rows.iter().enumerate() {
        if let Some(id) = ck.content_id() {
            match first_of.get(&id) {
                Some(&j) => dup_of[i] = Some(j),
                None => {
                    first_of.insert(id, i);
                }
            }
        }
    }
    let total: u64 = rows.iter().map(|c| c.files().weight_bytes()).sum();
    if args.json {
        for (i, ck) in rows.iter().enumerate() {
            let files: Vec<&str> = ck.files().weights().map(|f| f.name.as_str()).collect();
            let v = serde_json::json!({
                "step": rows[i].step(),
                "revision": ck.revision(),
                "commit": ck.commit(),
                "weight_bytes": ck.files().weight_bytes(),
                "weight_files": files,
                "content_id": ck.content_id(),
                "duplicate_of": dup_of[i].map(|j| rows[j].revision().to_string()),
            });
            println!("{v}");
        }
    } else {
        println!("{:>10}  {:<28}  {:<10}  {:>10}  files", "step", "revision", "commit", "weights");
        for (i, ck) in rows.iter().enumerate() {
            let files: Vec<&str> = ck.files().weights().map(|f| f.name.as_str()).collect();
            let files = if files.len() > 2 { format!("{} files", files.len()) } else { files.join(", ") };
            let dup = dup_of[i].map(|j| format!("  (same weights as {})", rows[j].revision())).unwrap_or_default();
            println!(
                "{:>10}  {:<28}  {:<10}  {:>10}  {files}{dup}",
                rows[i].step(),
                ck.revision(),
                &ck.commit()[..ck.commit().len().min(10)],
                human(ck.files().weight_bytes())
            );
        }
        println!("{} revisions, {} of weights", rows.len(), human(total));
    }
    for (i, d) in dup_of.iter().enumerate() {
        if let Some(j) = d {
            progress.warn(&format!(
                "step {} (`{}`) has the same weights as step {} (`{}`): a duplicate checkpoint",
                rows[i].step(),
                rows[i].revision(),
                rows[*j].step(),
                rows[*j].revision()
            ));
        }
    }
    Ok(())
}
