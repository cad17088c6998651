//! Sharded checkpoints: one weight source made of several, in order (any format).
//!
//! Hugging Face writes large checkpoints as shards plus an index (`model.safetensors.index.json` or
//! `pytorch_model.bin.index.json`) whose `weight_map` names the shard of every tensor. [`open_index`] reads such an
//! index, checks it against the shards, and chains the per-shard sources with [`ChainSource`].

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::SummarizeError;
use crate::source::{TensorSink, WeightSource};
use crate::tensor::TensorInfo;

/// Several weight sources streamed one after the other, as one.
pub(crate) struct ChainSource {
    label: String,
    parts: Vec<Box<dyn WeightSource>>,
    infos: Vec<TensorInfo>,
}

impl ChainSource {
    /// Chain `parts`; a tensor name present in two parts is an error.
    pub(crate) fn new(label: impl Into<String>, parts: Vec<Box<dyn WeightSource>>) -> Result<Self, SummarizeError> {
        let label = label.into();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, p) in parts.iter().enumerate() {
            for t in p.tensors() {
                if let Some(j) = seen.insert(&t.name, i) {
                    return Err(SummarizeError::BadWeights {
                        path: PathBuf::from(&label),
                        reason: format!(
                            "tensor `{}` is in two shards: {} and {}",
                            t.name,
                            parts[j].describe(),
                            p.describe()
                        ),
                    });
                }
            }
        }
        let infos = parts.iter().flat_map(|p| p.tensors().iter().cloned()).collect();
        Ok(ChainSource { label, parts, infos })
    }
}

impl WeightSource for ChainSource {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.infos
    }

    fn total_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.total_bytes()).sum()
    }

    fn stream(&mut self, sink: &mut dyn TensorSink, chunk_bytes: usize) -> Result<(), SummarizeError> {
        for p in &mut self.parts {
            p.stream(sink, chunk_bytes)?;
        }
        Ok(())
    }
}

/// Opens one shard file as a weight source.
pub(crate) type OpenShard = dyn Fn(&Path) -> Result<Box<dyn WeightSource>, SummarizeError>;

/// Read a shard index (`*.index.json` with a `weight_map` of tensor name → shard file name) and open its shards,
/// in file-name order, with `open_one`. Errors name the index and the problem: invalid JSON, a shard file that
/// is missing or outside the directory, a tensor the index puts in a shard that does not hold it.
pub(crate) fn open_index(index: &Path, open_one: &OpenShard) -> Result<ChainSource, SummarizeError> {
    let bad = |reason: String| SummarizeError::BadWeights { path: index.to_path_buf(), reason };
    let text = std::fs::read_to_string(index).map_err(|source| SummarizeError::Io { path: index.into(), source })?;
    let files = index_shards(&text).map_err(bad)?;
    let dir = index.parent().unwrap_or(Path::new("."));
    let mut parts = Vec::with_capacity(files.len());
    for (file, names) in &files {
        let path = dir.join(file);
        if !path.is_file() {
            return Err(bad(format!("the index names shard `{file}`, which does not exist")));
        }
        let src = open_one(&path)?;
        let have: HashSet<&str> = src.tensors().iter().map(|t| t.name.as_str()).collect();
        if let Some(missing) = names.iter().find(|n| !have.contains(n.as_str())) {
            return Err(bad(format!("the index puts tensor `{missing}` in shard `{file}`, which does not hold it")));
        }
        parts.push(src);
    }
    ChainSource::new(index.display().to_string(), parts)
}

/// The shard files of an index and the tensors it puts in each, sorted by file name.
fn index_shards(text: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("index is not valid JSON: {e}"))?;
    let map = v
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or("index has no `weight_map` object (tensor name → shard file)")?;
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, file) in map {
        let file = file.as_str().ok_or_else(|| format!("weight_map entry `{name}` is not a file name"))?;
        let p = Path::new(file);
        if p.components().count() != 1 || p.is_absolute() || file == ".." || file == "." {
            return Err(format!("weight_map entry `{name}` names `{file}`, which is not a file in the same directory"));
        }
        files.entry(file.to_string()).or_default().push(name.clone());
    }
    if files.is_empty() {
        return Err("index `weight_map` is empty".into());
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_parsing() {
        let f = index_shards(
            r#"{"metadata":{},"weight_map":{"a":"m-2.safetensors","b":"m-1.safetensors","c":"m-2.safetensors"}}"#,
        )
        .unwrap();
        assert_eq!(f.keys().collect::<Vec<_>>(), ["m-1.safetensors", "m-2.safetensors"]);
        assert_eq!(f["m-2.safetensors"], ["a", "c"]);
        assert!(index_shards(r#"{"weight_map":{"a":"../x"}}"#).unwrap_err().contains("same directory"));
        assert!(index_shards(r#"{"weight_map":{}}"#).is_err());
        assert!(index_shards("{").is_err());
    }
}
