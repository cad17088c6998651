//! `subsets.json`: the analysis on named subsets of the components and their merged consensus
//! (docs/timeline.md §3, schema in docs/outputs.md).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::codec::TopLevelLines;
use super::{read_json, AnalysisFile, FilesError, FormatVersion};
use crate::timeline::CompLabel;

/// `subsets.json`, in the output directory.
pub const SUBSETS_JSON: &str = "subsets.json";

/// The contents of `subsets.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubsetsFile {
    /// Always `ccc-analysis/1`.
    #[serde(default)]
    pub format: FormatVersion,
    /// A coordinate is an outlier of a subset by consensus when its share is at least this.
    pub consensus_threshold: f64,
    /// Component names, in tensor order.
    pub components: Vec<String>,
    /// The subsets, in the order given.
    pub subsets: Vec<SubsetRecord>,
    /// Every coordinate's share per subset and merged.
    pub coords: Vec<SubsetCoord>,
    /// Coordinates whose merged share reaches the threshold, ascending.
    pub outliers: Vec<usize>,
    /// Every component's place in each subset that holds it.
    pub comps: Vec<SubsetComp>,
}

/// One subset's analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubsetRecord {
    /// As given (`attention`, `L0-5`, `L*.H*.Q`).
    pub name: String,
    /// Its components (positions in the tensor).
    pub components: Vec<usize>,
    /// Experiments with a coordinate split.
    pub n_experiments: usize,
    /// Outlier coordinates of the subset by consensus.
    pub outliers: Vec<usize>,
}

/// One coordinate over the subsets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubsetCoord {
    /// The coordinate.
    pub coord: usize,
    /// Its outlier share in each subset.
    pub shares: Vec<f64>,
    /// The mean of those shares (the merged consensus).
    pub merged: f64,
}

/// One component's place in one subset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubsetPlace {
    /// The subset (position in `subsets`).
    pub subset: usize,
    /// Share in (aligned) group 1.
    pub grp1: f64,
    /// In group 2.
    pub grp2: f64,
    /// Discarded.
    pub discarded: f64,
    /// The majority place.
    pub label: CompLabel,
}

/// One component over the subsets that hold it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubsetComp {
    /// Its name.
    pub name: String,
    /// Its place in each subset that holds it.
    pub places: Vec<SubsetPlace>,
}

impl AnalysisFile for SubsetsFile {
    const PATH: &'static str = SUBSETS_JSON;

    fn to_bytes(&self) -> Result<Vec<u8>, FilesError> {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, TopLevelLines::new());
        self.serialize(&mut ser).map_err(|e| FilesError::Encode { name: SUBSETS_JSON, message: e.to_string() })?;
        out.push(b'\n');
        Ok(out)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, FilesError> {
        read_json(bytes, path)
    }
}
