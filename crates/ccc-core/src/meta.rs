//! The metadata of a `ccc/1` file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::component::{Component, Mode};
use crate::summary::Summary;

/// The `format` metadata value this crate reads and writes.
pub const FORMAT: &str = "ccc/1";

/// A checkpoint whose weights are identical to an earlier one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Duplicate {
    /// The duplicate checkpoint's step.
    pub step: i64,
    /// The (earlier) step it is identical to.
    pub same_as: i64,
}

/// The typed metadata of a CCC tensor (`__metadata__` of the file; every value is stored as a string).
#[derive(Debug, Clone, PartialEq)]
pub struct CccMeta {
    /// Free text naming the model, e.g. a hub id.
    pub model: String,
    /// The architecture, e.g. `gpt_neox`, `llama`, `olmo`, `gpt2`.
    pub architecture: String,
    /// Full or compact.
    pub mode: Mode,
    /// Number of layers.
    pub n_layer: usize,
    /// Number of attention (query) heads.
    pub n_head: usize,
    /// Number of key/value heads.
    pub n_kv_head: usize,
    /// The row summary.
    pub summary: Summary,
    /// The components, in order (one per entry of the tensor's last axis).
    pub components: Vec<Component>,
    /// Checkpoints found identical to earlier ones (metadata key `duplicates`, a JSON array).
    pub duplicates: Vec<Duplicate>,
    /// Any other metadata keys, kept as they are.
    pub extra: BTreeMap<String, String>,
}

impl CccMeta {
    /// The component names, in order.
    pub fn component_names(&self) -> Vec<String> {
        self.components.iter().map(|c| c.name()).collect()
    }

    /// Metadata as the string map stored in the file.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut m = self.extra.clone();
        m.insert("format".into(), FORMAT.into());
        m.insert("model".into(), self.model.clone());
        m.insert("architecture".into(), self.architecture.clone());
        m.insert("mode".into(), self.mode.name().into());
        m.insert("n_layer".into(), self.n_layer.to_string());
        m.insert("n_head".into(), self.n_head.to_string());
        m.insert("n_kv_head".into(), self.n_kv_head.to_string());
        m.insert("summary".into(), self.summary.name().into());
        let names = self.component_names();
        m.insert("components".into(), serde_json::to_string(&names).unwrap_or_default());
        if self.duplicates.is_empty() {
            m.remove("duplicates");
        } else {
            let pairs: Vec<[i64; 2]> = self.duplicates.iter().map(|d| [d.step, d.same_as]).collect();
            m.insert("duplicates".into(), serde_json::to_string(&pairs).unwrap_or_default());
        }
        m
    }

    /// Parse the string map of a file. Errors are plain reasons; the caller adds the path.
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Self, String> {
        let get = |k: &str| map.get(k).ok_or_else(|| format!("metadata key `{k}` is missing"));
        let format = get("format")?;
        if format != FORMAT {
            return Err(format!("metadata `format` is `{format}`, expected `{FORMAT}`"));
        }
        let int = |k: &str| -> Result<usize, String> {
            get(k)?.trim().parse::<usize>().map_err(|_| format!("metadata `{k}` is not a non-negative integer"))
        };
        let names: Vec<String> = serde_json::from_str(get("components")?)
            .map_err(|e| format!("metadata `components` is not a JSON array of strings: {e}"))?;
        let components =
            names.iter().map(|n| n.parse::<Component>().map_err(|e| e.to_string())).collect::<Result<Vec<_>, _>>()?;
        let duplicates = match map.get("duplicates") {
            None => Vec::new(),
            Some(s) => {
                let pairs: Vec<[i64; 2]> = serde_json::from_str(s)
                    .map_err(|e| format!("metadata `duplicates` is not a JSON array of [step, same_as] pairs: {e}"))?;
                pairs.into_iter().map(|[step, same_as]| Duplicate { step, same_as }).collect()
            }
        };
        let known = [
            "format",
            "model",
            "architecture",
            "mode",
            "n_layer",
            "n_head",
            "n_kv_head",
            "summary",
            "components",
            "duplicates",
        ];
        let extra =
            map.iter().filter(|(k, _)| !known.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        Ok(CccMeta {
            model: map.get("model").cloned().unwrap_or_default(),
            architecture: map.get("architecture").cloned().unwrap_or_default(),
            mode: get("mode")?.parse().map_err(|e: crate::CoreError| e.to_string())?,
            n_layer: int("n_layer")?,
            n_head: int("n_head")?,
            n_kv_head: int("n_kv_head")?,
            summary: get("summary")?.parse().map_err(|e: crate::CoreError| e.to_string())?,
            components,
            duplicates,
            extra,
        })
    }
}
