//! The parts of an analysis output directory that figures read (`experiments.json`, `summary.json`).
//!
//! Parsing is lenient: unknown fields are ignored and optional parts may be missing, so the figures keep working
//! when the analysis adds fields.

use std::path::Path;

use ccc_core::Groups;
use serde::Deserialize;

use crate::error::FigureError;

/// One scored experiment of `experiments.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Experiment {
    /// Its id (position in the sorted list).
    pub id: usize,
    /// Where its groups come from (e.g. `TCI-comps-coords`).
    #[serde(default)]
    pub source: String,
    /// The instruction string of its method.
    #[serde(default)]
    pub method: String,
    /// `ok`, `degenerate` or `failed`.
    #[serde(default)]
    pub status: Option<String>,
    /// Why it is not `ok`.
    #[serde(default)]
    pub error: Option<String>,
    /// Its groups record.
    #[serde(default)]
    pub groups: Groups,
    /// Its score pair.
    #[serde(default)]
    pub scores: Option<ScorePair>,
    /// Wall time of its pipeline, when recorded.
    #[serde(default)]
    pub time_s: Option<f64>,
}

/// A score pair as written by the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct ScorePair {
    /// Irregularity (null when undefined).
    #[serde(default)]
    pub irregularity: Option<f64>,
    /// Fraction of outlier coordinates.
    #[serde(default)]
    pub fraction: Option<f64>,
}

/// `experiments.json`.
#[derive(Debug, Deserialize)]
pub(crate) struct ExperimentsFile {
    pub(crate) experiments: Vec<Experiment>,
}

/// A ±1 / 0 indicator matrix with its row and column labels.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Indicator {
    /// Experiment id of each row.
    #[serde(default)]
    pub experiments: Vec<usize>,
    /// Column labels: coordinate indices (outliers) …
    #[serde(default, alias = "comps")]
    pub coords: Vec<usize>,
    /// Rows of values.
    #[serde(default)]
    pub matrix: Vec<Vec<f64>>,
}

/// One of the classification pipelines (for the overview figure).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Pipeline {
    /// 1-based position among the pipelines (spec 02 §4 order).
    #[serde(default)]
    pub index: usize,
    /// Its source.
    #[serde(default)]
    pub source: String,
    /// Its instruction string.
    #[serde(default)]
    pub method: String,
    /// `ok`, `degenerate` or `failed`.
    #[serde(default)]
    pub status: Option<String>,
    /// Why it is not `ok`.
    #[serde(default)]
    pub error: Option<String>,
    /// Its groups record.
    #[serde(default)]
    pub groups: Groups,
}

/// Analysis options recorded in `summary.json`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct AnalysisOptions {
    /// Aggregation name (`sum`, …).
    #[serde(default)]
    pub aggregation: Option<String>,
    /// Grid size of the irregularity score.
    #[serde(default)]
    pub grid: Option<usize>,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Summary {
    /// Model name.
    #[serde(default)]
    pub model: String,
    /// Architecture.
    #[serde(default)]
    pub architecture: String,
    /// `full` or `compact`.
    #[serde(default)]
    pub mode: String,
    /// `[C, T, K]` of the analysed tensor.
    #[serde(default)]
    pub shape: Vec<usize>,
    /// The steps used.
    #[serde(default)]
    pub steps: Vec<i64>,
    /// Options of the analysis.
    #[serde(default)]
    pub options: AnalysisOptions,
    /// Component names.
    #[serde(default)]
    pub components: Vec<String>,
    /// Outlier indicator (experiments × coordinates).
    #[serde(default)]
    pub outlier_indicator: Option<Indicator>,
    /// Component indicator (experiments × components).
    #[serde(default)]
    pub component_indicator: Option<Indicator>,
    /// The classification pipelines.
    #[serde(default)]
    pub pipelines: Vec<Pipeline>,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, FigureError> {
    let bytes = std::fs::read(path).map_err(|source| FigureError::Read { path: path.to_path_buf(), source })?;
    serde_json::from_slice(&bytes).map_err(|e| FigureError::Json { path: path.to_path_buf(), message: e.to_string() })
}

/// Read `experiments.json` of an analysis output directory.
pub fn read_experiments(dir: &Path) -> Result<Vec<Experiment>, FigureError> {
    Ok(read_json::<ExperimentsFile>(&dir.join("experiments.json"))?.experiments)
}

/// Read `summary.json` of an analysis output directory.
pub fn read_summary(dir: &Path) -> Result<Summary, FigureError> {
    read_json(&dir.join("summary.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_parsing() {
        let s: Summary = serde_json::from_str(
            r#"{"model": "m", "shape": [4, 3, 2], "steps": [0, 10, 20], "new_field": {"x": 1},
                "options": {"aggregation": "sum", "grid": 100, "other": true},
                "component_indicator": {"experiments": [0], "comps": [0, 1], "matrix": [[1, -1]]},
                "pipelines": [{"index": 0, "source": "s", "method": "m", "groups": {"coords_in": [0]}, "time_s": 1.0}]}"#,
        )
        .unwrap();
        assert_eq!(s.shape, vec![4, 3, 2]);
        assert_eq!(s.options.grid, Some(100));
        assert_eq!(s.component_indicator.unwrap().coords, vec![0, 1]);
        assert_eq!(s.pipelines[0].groups.coords_in, Some(vec![0]));
        assert!(s.outlier_indicator.is_none());
        let e: ExperimentsFile = serde_json::from_str(
            r#"{"experiments": [{"id": 3, "source": "a", "method": "b", "status": "ok",
                "groups": {"comps_grp1": [0], "comps_grp2": [1]}, "scores": {"irregularity": null, "fraction": 0.5}}]}"#,
        )
        .unwrap();
        assert_eq!(e.experiments[0].scores.unwrap().irregularity, None);
    }
}
