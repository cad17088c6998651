//! A PEFT run published on the hub: `checkpoint-N/` folders of adapter files in one revision (what the Trainer
//! uploads with `push_to_hub` and `hub_strategy="all_checkpoints"`), fetched into the hub cache so that the
//! summarizer reads it as a local run directory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use ccc_core::StepName;

use crate::client::{HubClient, Sibling};
use crate::download::{download_file, record_ref, snapshot_dir, write_atomic};
use crate::error::{HubError, Result};
use crate::files::{safe_relative, FileRole, MetaSource, NeededFile};

/// The files of one adapter checkpoint folder.
#[derive(Default)]
struct Folder<'a> {
    config: Option<&'a Sibling>,
    weights: Option<&'a Sibling>,
}

/// The adapter checkpoints of `repo` at `revision`: every top-level folder whose name carries a step and which
/// holds `adapter_config.json` and `adapter_model.safetensors` (else `adapter_model.bin`), if
/// `wanted(folder, step)`. Their two files are downloaded — verified and resumable like weights, the rest of the
/// folder (optimizer states, trainer state) left on the hub — into the revision's snapshot in the hub cache, and
/// kept. Returns that snapshot directory: a run directory of the chosen folders.
pub fn fetch_adapter_run(
    client: &Arc<HubClient>,
    repo: &str,
    revision: &str,
    wanted: &dyn Fn(&str, i64) -> bool,
) -> Result<PathBuf> {
    let info = client.revision_info(repo, revision)?;
    let mut folders: BTreeMap<&str, Folder> = BTreeMap::new();
    for s in &info.siblings {
        let Some((folder, file)) = s.rfilename.split_once('/') else { continue };
        let f = folders.entry(folder).or_default();
        match file {
            "adapter_config.json" => f.config = Some(s),
            "adapter_model.safetensors" => f.weights = Some(s),
            "adapter_model.bin" if f.weights.is_none() => f.weights = Some(s),
            _ => {}
        }
    }
    let mut chosen = Vec::new();
    let mut found = 0;
    for (name, f) in &folders {
        let (Some(step), Some(config), Some(weights)) = (StepName::parse(name).map(|s| s.step), f.config, f.weights)
        else {
            continue;
        };
        found += 1;
        if wanted(name, step) {
            chosen.push((config, weights));
        }
    }
    if found == 0 {
        let root = info.siblings.iter().any(|s| s.rfilename == "adapter_config.json");
        return Err(HubError::Invalid(format!(
            "hf:{repo}@{revision} has no adapter checkpoints (checkpoint-N/ folders with adapter_config.json and \
             adapter_model.safetensors){}",
            if root {
                "; it holds one adapter at its root: download it (e.g. `huggingface-cli download`) and give its \
                 directory"
            } else {
                ""
            }
        )));
    }
    let cache = client.config().cache_dir.clone();
    let dir = snapshot_dir(&cache, repo, &info.sha);
    let mut to_fetch = Vec::new();
    for (config, weights) in chosen {
        let dest = dir.join(safe_relative(&config.rfilename)?);
        if !dest.is_file() {
            let bytes = client.get_small(repo, &info.sha, &config.rfilename)?;
            write_atomic(&dest, &bytes)?;
        }
        let mut file = NeededFile::from_listing(weights, FileRole::Weights)?;
        if file.source == MetaSource::Missing {
            let meta = client.file_meta(repo, &info.sha, &file.name)?;
            file.size = meta.size;
            file.sha256 = file.sha256.take().or(meta.sha256);
            file.source = MetaSource::ResolveHeaders;
        }
        to_fetch.push(file);
    }
    let missing: Vec<&NeededFile> = to_fetch
        .iter()
        .filter(|f| {
            let p = safe_relative(&f.name).map(|rel| dir.join(rel));
            !p.is_ok_and(|p| std::fs::metadata(p).is_ok_and(|m| m.len() == f.size))
        })
        .collect();
    if !missing.is_empty() {
        client.notice(&format!(
            "downloading {} adapter checkpoints of {repo}@{revision} ({:.1} MB) to {}",
            missing.len(),
            missing.iter().map(|f| f.size).sum::<u64>() as f64 / 1e6,
            dir.display()
        ));
    }
    for f in &to_fetch {
        download_file(client, repo, &info.sha, f, &dir.join(safe_relative(&f.name)?))?;
    }
    record_ref(&cache, repo, revision, &info.sha)?;
    // The run directory exists even when nothing was chosen, so that it reads as an empty run.
    std::fs::create_dir_all(&dir).map_err(|e| HubError::io(&dir, e))?;
    Ok(dir)
}
