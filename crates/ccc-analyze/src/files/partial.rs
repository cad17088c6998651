//! `partial.json`: the share of an analysis one shard ran (`ccc analyze --shard I/N`), which `ccc merge` combines
//! with the other shards' into exactly the files one run writes (docs/outputs.md, docs/slurm.md).
//!
//! It holds what the shard computed before the final ordering: its pipelines' results and its experiments, each
//! with its position in the unsorted experiment list. Floats are stored as their IEEE-754 bits, so a merged file
//! has the same bytes as one run's whatever the JSON float parser does.

use std::collections::BTreeMap;
use std::path::Path;

use ccc_core::{Groups, Mode, Summary};
use serde::{Deserialize, Serialize};

use super::codec::by_name;
use super::{read_json, to_json_writer, AnalysisFile, FilesError, FormatVersion, Source, Status};
use crate::outliers::OutlierMethod;
use crate::trajectory::Aggregation;

/// The file name of a shard's partial analysis, in its output directory.
pub const PARTIAL_JSON: &str = "partial.json";

/// `partial.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialFile {
    /// The format version ([`super::FORMAT`]).
    pub format: FormatVersion,
    /// Which shard this is (1-based) of how many.
    pub shard: ShardRecord,
    /// What was analyzed; every shard of one analysis has the same.
    pub input: InputRecord,
    /// The options; every shard of one analysis has the same.
    pub options: OptionsRecord,
    /// Indices of all selected pipelines, in run order (each is run by exactly one shard).
    pub all_pipelines: Vec<usize>,
    /// Length of the unsorted experiment list of the whole analysis.
    pub n_experiments: usize,
    /// Whether this shard built the experiments of the `comps_grps:*` groupings.
    pub extras: bool,
    /// The pipelines this shard ran, in run order.
    pub pipelines: Vec<PartialPipeline>,
    /// The experiments this shard built, by position.
    pub experiments: Vec<PartialExperiment>,
    /// Wall time of the shard, as `f64` bits.
    pub run_time_bits: u64,
    /// Wall time per phase, as `f64` bits.
    pub phase_time_bits: BTreeMap<String, u64>,
}

/// `I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// 1-based.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

/// What was analyzed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRecord {
    /// The model.
    pub model: String,
    /// Its architecture.
    pub architecture: String,
    /// Full or compact.
    #[serde(with = "by_name")]
    pub mode: Mode,
    /// The row summary.
    #[serde(with = "by_name")]
    pub summary: Summary,
    /// `[C, T, K]` analyzed.
    pub shape: [usize; 3],
    /// Steps analyzed.
    pub steps: Vec<i64>,
    /// Component names.
    pub components: Vec<String>,
}

/// The options of the analysis, as `summary.json` records them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionsRecord {
    /// Seed.
    pub seed: u64,
    /// Aggregation.
    pub aggregation: Aggregation,
    /// Grid.
    pub grid: usize,
    /// The step selection as written.
    pub steps: String,
    /// The pipeline selection (`None`: all).
    pub pipelines: Option<String>,
    /// The extra pipelines' file.
    pub pipelines_file: Option<String>,
    /// Whether wall times are recorded.
    pub timings: bool,
}

/// A pipeline's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialPipeline {
    /// 1-based index.
    pub index: usize,
    /// Its steps (the short name, `>`-separated for matrix chains).
    pub name: String,
    /// The method string.
    pub method: String,
    /// Outcome.
    pub status: Status,
    /// Why not ok.
    pub reason: Option<String>,
    /// Its groups.
    pub groups: Groups,
    /// Wall time, `f64` bits.
    pub time_bits: u64,
}

/// An experiment before ordering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialExperiment {
    /// Position in the unsorted list of the whole analysis.
    pub position: usize,
    /// Source.
    pub source: Source,
    /// Method string.
    pub method: String,
    /// Outcome.
    pub status: Status,
    /// Why not ok.
    pub error: Option<String>,
    /// Groups.
    pub groups: Groups,
    /// Irregularity (`f64` bits; `None` when undefined); absent scores when failed.
    pub irregularity_bits: Option<u64>,
    /// Fraction (`f64` bits), `None` when failed.
    pub fraction_bits: Option<u64>,
    /// Pipeline index.
    pub pipeline: Option<usize>,
    /// Outlier method that completed it.
    pub outlier_method: Option<OutlierMethod>,
    /// Wall time, `f64` bits.
    pub time_bits: u64,
}

impl AnalysisFile for PartialFile {
    const PATH: &'static str = PARTIAL_JSON;

    fn to_bytes(&self) -> Result<Vec<u8>, FilesError> {
        let mut v = Vec::new();
        to_json_writer(&mut v, self, PARTIAL_JSON)?;
        v.push(b'\n');
        Ok(v)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, FilesError> {
        read_json(bytes, path)
    }
}
