//! Which files of a revision a checkpoint needs (config + weights + index, never optimizer states), their
//! safety as local paths, and the content identity of the weights.

use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::client::{FileMeta, HubClient, RevisionInfo, Sibling};
use crate::error::{HubError, Result};
use crate::stream::Expected;

/// The role of a needed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// `config.json`.
    Config,
    /// A weight index (`*.index.json`).
    Index,
    /// A weight file.
    Weights,
}

/// Where a file's size and sha256 come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaSource {
    /// The revision listing (`size`, `lfs`), as huggingface.co gives them.
    Listing,
    /// The listing lacks them (some mirrors, older hub-compatible servers): they are still to be asked of the
    /// file's `resolve` URL ([`CheckpointFiles::lookups`]); until then the size is 0.
    Missing,
    /// Taken from the `resolve` answer's headers (`X-Linked-Size` / `Content-Length`, `X-Linked-Etag`).
    ResolveHeaders,
}

/// One file a checkpoint needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeededFile {
    /// The path in the repository (checked safe).
    pub name: String,
    /// What it is.
    pub role: FileRole,
    /// Size in bytes (0 when the hub did not say: the config, which is read whole, or a file still
    /// [`MetaSource::Missing`]).
    pub size: u64,
    /// Hex sha256 for LFS files.
    pub sha256: Option<String>,
    /// The git blob id.
    pub blob_id: Option<String>,
    /// Where `size` and `sha256` come from.
    pub source: MetaSource,
}

impl NeededFile {
    /// A file of a revision listing, as `role` (its name checked safe): the config is read whole; the others
    /// are read to their size, and weights checked by their sha256 — what the listing lacks is
    /// [`MetaSource::Missing`], to be completed ([`CheckpointFiles::complete`]).
    pub fn from_listing(s: &Sibling, role: FileRole) -> Result<NeededFile> {
        safe_relative(&s.rfilename)?;
        let size = s.lfs.as_ref().map(|l| l.size).or(s.size);
        let sha256 = s.lfs.as_ref().map(|l| l.sha256.to_ascii_lowercase());
        let missing = match role {
            FileRole::Config => false,
            FileRole::Index => size.is_none(),
            FileRole::Weights => size.is_none() || sha256.is_none(),
        };
        Ok(NeededFile {
            name: s.rfilename.clone(),
            role,
            size: size.unwrap_or(0),
            sha256,
            blob_id: s.blob_id.clone(),
            source: if missing { MetaSource::Missing } else { MetaSource::Listing },
        })
    }

    /// What a download of this file is checked against.
    pub fn expected(&self) -> Expected {
        Expected { file: self.name.clone(), size: self.size, sha256: self.sha256.clone() }
    }
}

/// The files of one checkpoint revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointFiles {
    /// config.json, then the index (if sharded), then the weight files in name order.
    pub files: Vec<NeededFile>,
}

/// Check that a file name from the hub is a plain relative path that stays inside a directory.
pub fn safe_relative(name: &str) -> Result<PathBuf> {
    let p = Path::new(name);
    let ok = !name.is_empty()
        && !name.contains('\\')
        && !name.contains('\0')
        && p.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(p.to_path_buf())
    } else {
        Err(HubError::UnsafeFileName(name.to_string()))
    }
}

fn is_shard(name: &str, stem: &str, ext: &str) -> bool {
    // `model-00001-of-00004.safetensors`, `pytorch_model-00001-of-00002.bin`
    let Some(mid) = name.strip_prefix(stem).and_then(|r| r.strip_prefix('-')).and_then(|r| r.strip_suffix(ext)) else {
        return false;
    };
    match mid.split_once("-of-") {
        Some((a, b)) => !a.is_empty() && !b.is_empty() && (a.bytes().chain(b.bytes())).all(|c| c.is_ascii_digit()),
        None => false,
    }
}

impl CheckpointFiles {
    /// Choose the files: `config.json` and, in this order of preference, `model.safetensors`; the safetensors
    /// index and its shards; `pytorch_model.bin`; the PyTorch index and its shards. Everything else (optimizer
    /// states, tokenizers, training arguments) is left on the hub. Every chosen name is checked safe.
    pub fn choose(repo: &str, revision: &str, info: &RevisionInfo) -> Result<Self> {
        let find = |n: &str| info.siblings.iter().find(|s| s.rfilename == n);
        let to_needed = NeededFile::from_listing;
        // Refuse unsafe names anywhere in the listing of a file we would otherwise consider.
        for s in &info.siblings {
            if s.rfilename.ends_with(".safetensors") || s.rfilename.ends_with(".json") || s.rfilename.ends_with(".bin")
            {
                safe_relative(&s.rfilename)?;
            }
        }
        let no_weights = || HubError::NoWeights {
            repo: repo.to_string(),
            revision: revision.to_string(),
            files: info.siblings.iter().map(|s| s.rfilename.as_str()).collect::<Vec<_>>().join(", "),
        };
        let config = find("config.json").ok_or_else(no_weights)?;
        let mut files = vec![to_needed(config, FileRole::Config)?];
        let layouts: [(&str, Option<(&str, &str)>); 4] = [
            ("model.safetensors", None),
            ("model.safetensors.index.json", Some(("model", ".safetensors"))),
            ("pytorch_model.bin", None),
            ("pytorch_model.bin.index.json", Some(("pytorch_model", ".bin"))),
        ];
        for (name, shards) in layouts {
            let Some(s) = find(name) else { continue };
            match shards {
                None => files.push(to_needed(s, FileRole::Weights)?),
                Some((stem, ext)) => {
                    let mut parts: Vec<&Sibling> =
                        info.siblings.iter().filter(|s| is_shard(&s.rfilename, stem, ext)).collect();
                    if parts.is_empty() {
                        continue;
                    }
                    parts.sort_by(|a, b| a.rfilename.cmp(&b.rfilename));
                    files.push(to_needed(s, FileRole::Index)?);
                    for p in parts {
                        files.push(to_needed(p, FileRole::Weights)?);
                    }
                }
            }
            return Ok(CheckpointFiles { files });
        }
        Err(no_weights())
    }

    /// The commit a revision points to and the files a checkpoint there needs, complete: for files the listing
    /// gives no size or sha256 (some mirrors), a `HEAD` of each one's `resolve` URL ([`HubClient::file_meta`]).
    pub fn look_up(client: &HubClient, repo: &str, revision: &str) -> Result<(String, Self)> {
        let info = client.revision_info(repo, revision)?;
        let mut files = CheckpointFiles::choose(repo, revision, &info)?;
        let bare: Vec<String> = files.lookups().map(|f| f.name.clone()).collect();
        for name in bare {
            // By commit, as the bytes will be read.
            let meta = client.file_meta(repo, &info.sha, &name)?;
            files.complete(&name, meta)?;
        }
        Ok((info.sha, files))
    }

    /// The files whose size or sha256 the listing lacks (to ask [`HubClient::file_meta`](crate::HubClient::file_meta)
    /// for, then [`CheckpointFiles::complete`]).
    pub fn lookups(&self) -> impl Iterator<Item = &NeededFile> {
        self.files.iter().filter(|f| f.source == MetaSource::Missing)
    }

    /// Fill in what a `resolve` answer said about file `name` (a size from the listing is kept, and checked
    /// against the answer's).
    pub fn complete(&mut self, name: &str, meta: FileMeta) -> Result<()> {
        let Some(f) = self.files.iter_mut().find(|f| f.name == name && f.source == MetaSource::Missing) else {
            return Ok(());
        };
        if f.size != 0 && f.size != meta.size {
            return Err(HubError::Integrity {
                file: f.name.clone(),
                what: "size",
                expected: f.size.to_string(),
                actual: format!("{} (the `resolve` answer's)", meta.size),
            });
        }
        f.size = meta.size;
        f.sha256 = f.sha256.take().or(meta.sha256);
        f.source = MetaSource::ResolveHeaders;
        Ok(())
    }

    /// Total bytes of the weight files (the size hint for sharding and progress).
    pub fn weight_bytes(&self) -> u64 {
        self.weights().map(|f| f.size).sum()
    }

    /// The weight files.
    pub fn weights(&self) -> impl Iterator<Item = &NeededFile> {
        self.files.iter().filter(|f| f.role == FileRole::Weights)
    }

    /// Whether the weights are one safetensors file (what streaming mode reads).
    pub fn single_safetensors(&self) -> Option<&NeededFile> {
        let mut w = self.weights();
        match (w.next(), w.next()) {
            (Some(f), None) if f.name.ends_with(".safetensors") => Some(f),
            _ => None,
        }
    }

    /// The identity of the weights' content: a sha256 over the hub's per-file hashes (the LFS sha256, else the
    /// git blob id). Two revisions with equal ids hold identical weights. `None` when a hash is missing.
    pub fn content_id(&self) -> Option<String> {
        let mut h = Sha256::new();
        for f in self.weights() {
            let id = f.sha256.as_deref().or(f.blob_id.as_deref())?;
            h.update(f.name.as_bytes());
            h.update(b"\0");
            h.update(id.as_bytes());
            h.update(b"\n");
        }
        Some(format!("sha256:{}", hex::encode(h.finalize())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::LfsInfo;

    fn sib(name: &str, lfs: Option<(&str, u64)>) -> Sibling {
        Sibling {
            rfilename: name.into(),
            size: Some(lfs.map(|l| l.1).unwrap_or(10)),
            blob_id: Some(format!("blob-{name}")),
            lfs: lfs.map(|(h, s)| LfsInfo { sha256: h.into(), size: s }),
        }
    }

    #[test]
    fn files_the_listing_leaves_bare_are_looked_up() {
        let bare = |name: &str| Sibling { rfilename: name.into(), size: None, blob_id: None, lfs: None };
        let info = RevisionInfo {
            sha: "c".into(),
            siblings: vec![
                bare("config.json"),
                bare("model.safetensors.index.json"),
                bare("model-00001-of-00002.safetensors"),
                sib("model-00002-of-00002.safetensors", Some(("b2", 20))),
            ],
        };
        let mut f = CheckpointFiles::choose("o/n", "r", &info).unwrap();
        let names: Vec<&str> = f.lookups().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["model.safetensors.index.json", "model-00001-of-00002.safetensors"]);
        f.complete("model.safetensors.index.json", FileMeta { size: 7, sha256: None }).unwrap();
        f.complete("model-00001-of-00002.safetensors", FileMeta { size: 10, sha256: Some("b1".into()) }).unwrap();
        assert_eq!(f.lookups().count(), 0);
        assert_eq!(f.weight_bytes(), 30);
        assert_eq!(f.files[2].sha256.as_deref(), Some("b1"));
        assert_eq!(f.files[2].source, MetaSource::ResolveHeaders);
        assert_eq!(f.files[3].source, MetaSource::Listing);
        // A weight file with a listed size but no LFS sha256 is looked up too, and the sizes must agree.
        let mut w = sib("model.safetensors", None);
        w.size = Some(5);
        let info = RevisionInfo { sha: "c".into(), siblings: vec![bare("config.json"), w] };
        let mut f = CheckpointFiles::choose("o/n", "r", &info).unwrap();
        assert_eq!(f.lookups().count(), 1);
        let err = f.complete("model.safetensors", FileMeta { size: 6, sha256: None }).unwrap_err();
        assert!(matches!(err, HubError::Integrity { what: "size", .. }), "{err}");
    }

    #[test]
    fn chooses_only_what_is_needed() {
        let info = RevisionInfo {
            sha: "c".into(),
            siblings: vec![
                sib("config.json", None),
                sib("optimizer.pt", Some(("aa", 1000))),
                sib("model.safetensors", Some(("bb", 500))),
                sib("pytorch_model.bin", Some(("cc", 500))),
                sib("tokenizer.json", None),
            ],
        };
        let f = CheckpointFiles::choose("o/n", "r", &info).unwrap();
        let names: Vec<&str> = f.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["config.json", "model.safetensors"]);
        assert_eq!(f.weight_bytes(), 500);
        assert!(f.single_safetensors().is_some());

        let info = RevisionInfo {
            sha: "c".into(),
            siblings: vec![
                sib("model-00002-of-00002.safetensors", Some(("b2", 20))),
                sib("config.json", None),
                sib("model.safetensors.index.json", None),
                sib("model-00001-of-00002.safetensors", Some(("b1", 10))),
                sib("model-extra.safetensors", Some(("b3", 10))),
            ],
        };
        let f = CheckpointFiles::choose("o/n", "r", &info).unwrap();
        let names: Vec<&str> = f.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "config.json",
                "model.safetensors.index.json",
                "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors"
            ]
        );
        assert_eq!(f.weight_bytes(), 30);
        assert!(f.single_safetensors().is_none());
    }

    #[test]
    fn content_id_follows_weights_only() {
        let mk = |w: &str, cfg_blob: &str| {
            let mut c = sib("config.json", None);
            c.blob_id = Some(cfg_blob.into());
            RevisionInfo { sha: "c".into(), siblings: vec![c, sib("model.safetensors", Some((w, 5)))] }
        };
        let id = |i: &RevisionInfo| CheckpointFiles::choose("o/n", "r", i).unwrap().content_id();
        assert_eq!(id(&mk("aa", "x")), id(&mk("aa", "y")));
        assert_ne!(id(&mk("aa", "x")), id(&mk("ab", "x")));
    }

    #[test]
    fn refuses_escaping_names() {
        for bad in ["../model.safetensors", "/etc/passwd", "a/../../b.json", "a\\..\\b.bin", "", "./x/../../y.json"] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
        assert!(safe_relative("sub/model.safetensors").is_ok());
        let info = RevisionInfo {
            sha: "c".into(),
            siblings: vec![sib("config.json", None), sib("../../evil.safetensors", Some(("a", 1)))],
        };
        assert!(matches!(CheckpointFiles::choose("o/n", "r", &info), Err(HubError::UnsafeFileName(_))));
        let info = RevisionInfo { sha: "c".into(), siblings: vec![sib("config.json", None)] };
        assert!(matches!(CheckpointFiles::choose("o/n", "r", &info), Err(HubError::NoWeights { .. })));
    }
}
