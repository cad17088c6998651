//! Downloading one file to disk, verified and resumable, and finding files already in a hub cache.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::client::HubClient;
use crate::error::{HubError, Result};
use crate::files::{safe_relative, CheckpointFiles, FileRole, NeededFile};
use crate::stream::RemoteReader;

/// The directory of a repository in a hub cache (`models--org--name`).
pub fn repo_cache_dir(cache: &Path, repo: &str) -> PathBuf {
    cache.join(format!("models--{}", repo.replace('/', "--")))
}

/// The snapshot directory of a commit in a hub cache.
pub fn snapshot_dir(cache: &Path, repo: &str, commit: &str) -> PathBuf {
    repo_cache_dir(cache, repo).join("snapshots").join(commit)
}

/// The snapshot of `commit` in `cache` if it holds every weight and index file of `files` with the announced
/// size (the layout `huggingface_hub` writes; its blobs may be symlinks).
pub fn cached_snapshot(cache: &Path, repo: &str, commit: &str, files: &CheckpointFiles) -> Option<PathBuf> {
    let dir = snapshot_dir(cache, repo, commit);
    let complete = files.files.iter().filter(|f| f.role != FileRole::Config).all(|f| {
        safe_relative(&f.name)
            .ok()
            .and_then(|rel| std::fs::metadata(dir.join(rel)).ok())
            .is_some_and(|m| m.is_file() && (f.size == 0 || m.len() == f.size))
    });
    complete.then_some(dir)
}

/// A revision of `repo` as a local directory: its snapshot in the user's hub cache (`snapshots/<commit>/`, the
/// layout `huggingface_hub` reads too) with `config.json` and the weight files, each downloaded and verified
/// ([`download_file`]) unless already there, and kept — a base model is read again by every run over its
/// adapters. The revision's commit is recorded in `refs/<revision>`, as `huggingface_hub` does.
pub fn fetch_snapshot(client: &Arc<HubClient>, repo: &str, revision: &str) -> Result<PathBuf> {
    let cache = client.config().cache_dir.clone();
    let (commit, files) = match CheckpointFiles::look_up(client, repo, revision) {
        Ok(found) => found,
        // The hub cannot be reached (a compute node without internet): a snapshot the cache already holds for
        // this revision is used, as `huggingface_hub` does offline.
        Err(e @ HubError::Network { .. }) => {
            let dir = cached_revision(&cache, repo, revision).ok_or(e)?;
            client.notice(&format!("the hub cannot be reached: using {repo}@{revision} from {}", dir.display()));
            return Ok(dir);
        }
        Err(e) => return Err(e),
    };
    let dir = snapshot_dir(&cache, repo, &commit);
    if cached_snapshot(&cache, repo, &commit, &files).is_none() {
        client.notice(&format!(
            "downloading {repo}@{revision} ({:.2} GB of weights) to {}",
            files.weight_bytes() as f64 / 1e9,
            dir.display()
        ));
    }
    for f in &files.files {
        let dest = dir.join(safe_relative(&f.name)?);
        if f.role == FileRole::Config {
            if !dest.is_file() {
                let bytes = client.get_small(repo, &commit, &f.name)?;
                write_atomic(&dest, &bytes)?;
            }
        } else {
            download_file(client, repo, &commit, f, &dest)?;
        }
    }
    record_ref(&cache, repo, revision, &commit)?;
    Ok(dir)
}

/// The snapshot of `revision` (a ref recorded in the cache, or a commit) if it holds `config.json` and weights.
fn cached_revision(cache: &Path, repo: &str, revision: &str) -> Option<PathBuf> {
    let recorded =
        std::fs::read_to_string(repo_cache_dir(cache, repo).join("refs").join(safe_relative(revision).ok()?));
    let commit = recorded.map_or_else(|_| revision.to_string(), |c| c.trim().to_string());
    let dir = snapshot_dir(cache, repo, safe_relative(&commit).ok()?.to_str()?);
    (dir.join("config.json").is_file() && ccc_summarize::local::WeightFiles::find(&dir).is_ok()).then_some(dir)
}

/// Record in the hub cache which commit `revision` of `repo` points to (`refs/<revision>`, as `huggingface_hub`
/// does), unless it is a commit itself.
pub(crate) fn record_ref(cache: &Path, repo: &str, revision: &str, commit: &str) -> Result<()> {
    if revision == commit {
        return Ok(());
    }
    write_atomic(&repo_cache_dir(cache, repo).join("refs").join(safe_relative(revision)?), commit.as_bytes())
}

/// Write a small file through a temporary one and a rename, so that a reader never sees half of it.
pub(crate) fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| HubError::io(parent, e))?;
    let mut tmp = dest.as_os_str().to_owned();
    tmp.push(".ccc-part");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| HubError::io(&tmp, e))?;
    std::fs::rename(&tmp, dest).map_err(|e| HubError::io(dest, e))
}

/// Take a [`HubError`] back out of an `io::Error` made by [`RemoteReader`].
pub(crate) fn hub_error(e: io::Error, path: &Path) -> HubError {
    if e.get_ref().is_some_and(|r| r.is::<HubError>()) {
        if let Some(inner) = e.into_inner() {
            if let Ok(h) = inner.downcast::<HubError>() {
                return *h;
            }
        }
        return HubError::Invalid("lost error".into());
    }
    HubError::io(path, e)
}

/// Download `file` of `repo` at `commit` to `dest`, through `dest.ccc-part`: a partial file left by an interrupted
/// run is continued with a `Range` request; the bytes are checked against the hub's sha256 and size, and a mismatch
/// restarts the file (up to 3 times) before it is an error. Returns whether bytes were fetched (`false` when
/// `dest` was already complete).
pub fn download_file(
    client: &Arc<HubClient>,
    repo: &str,
    commit: &str,
    file: &NeededFile,
    dest: &Path,
) -> Result<bool> {
    if std::fs::metadata(dest).is_ok_and(|m| m.is_file() && m.len() == file.size) {
        return Ok(false);
    }
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| HubError::io(parent, e))?;
    }
    let mut part = dest.as_os_str().to_owned();
    part.push(".ccc-part");
    let part = PathBuf::from(part);
    let tries = client.config().retry.attempts.clamp(1, 3);
    for attempt in 1..=tries {
        let (offset, hasher) = existing_prefix(&part, file.size)?;
        if offset > 0 {
            client.notice(&format!("{}: resuming a partial download at byte {offset}", file.name));
        }
        let mut reader = RemoteReader::resume(client.clone(), repo, commit, file.expected(), offset, hasher);
        let out = OpenOptions::new().create(true).append(true).open(&part).map_err(|e| HubError::io(&part, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, out);
        let copied = copy(&mut reader, &mut out).and_then(|_| out.flush());
        drop(out);
        match copied {
            Ok(()) => {
                File::open(&part).and_then(|f| f.sync_all()).map_err(|e| HubError::io(&part, e))?;
                std::fs::rename(&part, dest).map_err(|e| HubError::io(dest, e))?;
                return Ok(true);
            }
            Err(e) => match hub_error(e, &part) {
                err @ HubError::Integrity { .. } => {
                    let _ = std::fs::remove_file(&part);
                    if attempt == tries {
                        return Err(err);
                    }
                    client.notice(&format!("{err}; downloading it again"));
                    std::thread::sleep(client.config().retry.delay(attempt));
                }
                err => return Err(err),
            },
        }
    }
    Err(HubError::Invalid(format!("`{}`: download failed", file.name)))
}

fn copy(r: &mut impl Read, w: &mut impl Write) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        w.write_all(&buf[..n])?;
    }
}

/// The length and hash of a partial download (nothing if it is absent or longer than the file).
fn existing_prefix(part: &Path, size: u64) -> Result<(u64, Sha256)> {
    let mut hasher = Sha256::new();
    let Ok(meta) = std::fs::metadata(part) else { return Ok((0, hasher)) };
    if meta.len() > size {
        std::fs::remove_file(part).map_err(|e| HubError::io(part, e))?;
        return Ok((0, hasher));
    }
    let mut f = File::open(part).map_err(|e| HubError::io(part, e))?;
    let n = io::copy(&mut f, &mut hasher).map_err(|e| HubError::io(part, e))?;
    Ok((n, hasher))
}
