//! `search.json`: the front `ccc search` found, how it compares with the null model and with random groupings,
//! and the null fronts (docs/search.md, docs/outputs.md).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::codec::{nullable, TopLevelLines};
use super::experiments::{ExperimentGroups, GroupNames};
use super::{read_json, AnalysisFile, FilesError, FormatVersion, SEARCH_JSON};
use crate::search::NullMethod;
use crate::trajectory::Aggregation;

/// `search.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchFile {
    /// The format version ([`super::FORMAT`]).
    #[serde(default)]
    pub format: FormatVersion,
    /// The model (from the tensor's metadata).
    pub model: String,
    /// `[C, T, K]` of the searched tensor (`T` counts the checkpoints used).
    pub shape: [usize; 3],
    /// The seed of every random draw of the search.
    pub seed: u64,
    /// The options of the search.
    pub options: SearchFileOptions,
    /// The front: non-dominated groupings by increasing fraction, scored exactly as `ccc score` does.
    pub front: Vec<FrontRecord>,
    /// The null model and the front the same search found on each null tensor.
    pub null: NullRecord,
    /// The experiments' own Pareto front, and which front point dominates each.
    pub experiments_front: Vec<ExperimentVsFront>,
    /// Where the runs started.
    pub starts: StartCounts,
    /// Evaluations done, over the real search and every null.
    pub evaluations: u64,
    /// Whether the search was stopped (Ctrl-C) before its budget was spent; the front is then the best so far.
    pub interrupted: bool,
    /// Wall time of the whole search, seconds (absent with `--no-timings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time_s: Option<f64>,
}

/// The options of a search, as run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchFileOptions {
    /// How component groups are aggregated (as `ccc score --agg`).
    pub aggregation: Aggregation,
    /// Grid `G` of the irregularity (as `ccc score --grid`).
    pub grid: usize,
    /// The step selection as given (`all` by default).
    pub steps: String,
    /// Evaluations of each search (the real one and every null): pass it as `--budget` to repeat the run.
    pub budget: u64,
    /// How many null tensors.
    pub nulls: usize,
    /// How many random groupings per front point for `random_percentile`.
    pub random: usize,
    /// How many random start points besides the experiments.
    pub random_starts: usize,
    /// Largest fraction of outlier coordinates allowed.
    pub max_fraction: f64,
    /// Fewest components in each group.
    pub min_group: usize,
}

/// One point of the front.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontRecord {
    /// The four sorted index lists, as in `experiments.json`.
    pub groups: ExperimentGroups,
    /// The component groups by name.
    pub group_names: GroupNames,
    /// The score pair, exactly as `ccc score --groups` gives it.
    pub scores: FrontScores,
    /// Irregularity over the best any null front reaches at the same or a lower fraction (`null` without nulls).
    #[serde(deserialize_with = "nullable")]
    pub null_ratio: Option<f64>,
    /// `(1 + nulls at least as good) / (1 + nulls)` (`null` without nulls).
    #[serde(deserialize_with = "nullable")]
    pub p_value: Option<f64>,
    /// Percentage of random groupings of the same sizes at least as regular (`null` with `--random 0`).
    #[serde(deserialize_with = "nullable")]
    pub random_percentile: Option<f64>,
    /// The start point of the run that found it: an experiment id, or `"random"`.
    pub start: StartRef,
}

/// A score pair that is always defined (front points and null fronts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FrontScores {
    /// Irregularity in [0, 1].
    pub irregularity: f64,
    /// Fraction of outlier coordinates.
    pub fraction: f64,
}

/// An experiment id, or `"random"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StartRef {
    /// The experiment of `experiments.json` with this id.
    Experiment(usize),
    /// A random grouping.
    Random(RandomWord),
}

/// The word `random`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RandomWord {
    /// `"random"`.
    #[serde(rename = "random")]
    Random,
}

/// The null model and its fronts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NullRecord {
    /// How the null tensors were made.
    pub method: NullMethod,
    /// One front per null tensor, by increasing fraction.
    pub fronts: Vec<Vec<FrontScores>>,
}

/// A point of the experiments' own Pareto front and the front point that dominates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentVsFront {
    /// The experiment's id.
    pub id: usize,
    /// Its scores.
    pub scores: FrontScores,
    /// The index in `front` of the most regular front point that strictly dominates it (`null`: none does).
    #[serde(deserialize_with = "nullable")]
    pub dominated_by: Option<usize>,
    /// That point's irregularity over the experiment's.
    #[serde(deserialize_with = "nullable")]
    pub ratio: Option<f64>,
}

/// Start points of the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartCounts {
    /// Distinct experiments used as start points.
    pub experiments: usize,
    /// Random start points.
    pub random: usize,
    /// Experiments not used: degenerate, failed, outside the limits, or a duplicate grouping.
    pub skipped: usize,
}

impl AnalysisFile for SearchFile {
    const PATH: &'static str = SEARCH_JSON;

    /// One top-level key per line, values compact (as `summary.json`).
    fn to_bytes(&self) -> Result<Vec<u8>, FilesError> {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, TopLevelLines::new());
        self.serialize(&mut ser).map_err(|e| FilesError::Encode { name: SEARCH_JSON, message: e.to_string() })?;
        out.push(b'\n');
        Ok(out)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, FilesError> {
        read_json(bytes, path)
    }
}
