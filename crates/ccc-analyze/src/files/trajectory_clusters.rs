//! `trajectory_clusters.json`: the coordinates clustered by the shape of their 2-D trajectories under one
//! grouping (docs/timeline.md §6, schema in docs/outputs.md).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::codec::{nullable, TopLevelLines};
use super::{read_json, AnalysisFile, FilesError, FormatVersion};

/// `trajectory_clusters.json`, in the output directory.
pub const TRAJECTORY_CLUSTERS_JSON: &str = "trajectory_clusters.json";

/// The contents of `trajectory_clusters.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryClustersFile {
    /// Always `ccc-analysis/1`.
    #[serde(default)]
    pub format: FormatVersion,
    /// The component grouping whose trajectories were clustered.
    pub grouping: GroupingRecord,
    /// Steps of the checkpoints (one point of each mean per step).
    pub steps: Vec<i64>,
    /// How `k` was chosen: `silhouette` (auto) or `given`.
    pub criterion: String,
    /// The mean silhouette of each `k` tried (`auto`) or of the `k` given.
    pub silhouettes: Vec<SilhouetteRecord>,
    /// Number of clusters.
    pub k: usize,
    /// The clusters, largest first.
    pub clusters: Vec<ClusterRecord>,
}

/// The grouping whose trajectories were clustered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupingRecord {
    /// The experiment of `experiments.json` it comes from, or `null` (a `--groups` file).
    #[serde(deserialize_with = "nullable")]
    pub experiment: Option<usize>,
    /// Its method (or the groups file's path).
    pub method: String,
    /// Component group 1.
    pub comps_grp1: Vec<usize>,
    /// Component group 2.
    pub comps_grp2: Vec<usize>,
}

/// The mean silhouette of one `k`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SilhouetteRecord {
    /// Number of clusters.
    pub k: usize,
    /// Mean silhouette.
    pub silhouette: f64,
}

/// One cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterRecord {
    /// Member coordinates, ascending.
    pub coords: Vec<usize>,
    /// The members' mean `[x, y]` at each checkpoint.
    pub mean: Vec<[f64; 2]>,
}

impl AnalysisFile for TrajectoryClustersFile {
    const PATH: &'static str = TRAJECTORY_CLUSTERS_JSON;

    fn to_bytes(&self) -> Result<Vec<u8>, FilesError> {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, TopLevelLines::new());
        self.serialize(&mut ser)
            .map_err(|e| FilesError::Encode { name: TRAJECTORY_CLUSTERS_JSON, message: e.to_string() })?;
        out.push(b'\n');
        Ok(out)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, FilesError> {
        read_json(bytes, path)
    }
}
