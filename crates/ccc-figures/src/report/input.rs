//! Reading an analysis output directory: `experiments.json`, `summary.json` and `figures/index.json`.
//!
//! The reader is lenient by design: it takes the fields it needs, ignores unknown ones, and treats every optional
//! piece (the summary, the figures, single fields) as possibly absent, so a report can be written for any output
//! directory that has an `experiments.json`.

use std::path::{Component as PathComponent, Path};

use serde::Deserialize;

use super::ReportError;

// `experiments.json` is read with the same lenient types as the figures: one reader of the schema.
pub(crate) use crate::input::{Experiment, ExperimentsFile};

/// `summary.json` (the fields the report shows).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Summary {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub shape: Option<Vec<u64>>,
    #[serde(default)]
    pub steps: Option<Vec<i64>>,
    #[serde(default)]
    pub seed: Option<serde_json::Value>,
    #[serde(default)]
    pub options: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub run_time_s: Option<f64>,
    #[serde(default)]
    pub consensus: Option<Consensus>,
}

/// The consensus block of `summary.json`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Consensus {
    #[serde(default)]
    pub coords: Vec<CoordConsensus>,
    #[serde(default)]
    pub comps: Vec<CompConsensus>,
}

/// How often one coordinate is called an outlier.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CoordConsensus {
    pub coord: u64,
    pub outlier_fraction: f64,
}

/// How often one component is in group 1, group 2, or discarded.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CompConsensus {
    pub name: String,
    #[serde(default)]
    pub grp1: f64,
    #[serde(default)]
    pub grp2: f64,
    #[serde(default)]
    pub discarded: f64,
}

/// `figures/index.json`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct FigureIndex {
    #[serde(default)]
    pub sheets: Vec<SheetEntry>,
    #[serde(default)]
    pub run: Vec<RunFigure>,
}

/// One trajectory sheet of the figure index.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SheetEntry {
    pub id: u64,
    #[serde(default)]
    pub png: Option<String>,
    #[serde(default)]
    pub svg: Option<String>,
    #[serde(default)]
    pub thumb: Option<String>,
}

/// One per-run figure of the figure index.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RunFigure {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub png: Option<String>,
    #[serde(default)]
    pub svg: Option<String>,
}

/// Everything the report is built from.
#[derive(Debug, Clone)]
pub(crate) struct Inputs {
    pub experiments: Vec<Experiment>,
    pub summary: Summary,
    pub figures: FigureIndex,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ReportError> {
    let bytes = std::fs::read(path).map_err(|source| ReportError::Io { path: path.to_path_buf(), source })?;
    serde_json::from_slice(&bytes).map_err(|source| ReportError::Json { path: path.to_path_buf(), source })
}

impl Inputs {
    /// Read the inputs of `out_dir`. `experiments.json` is required; the summary and the figures are optional.
    pub fn read(out_dir: &Path) -> Result<Self, ReportError> {
        let exp_path = out_dir.join("experiments.json");
        if !exp_path.is_file() {
            return Err(ReportError::NotAnAnalysis { dir: out_dir.to_path_buf() });
        }
        let experiments: ExperimentsFile = read_json(&exp_path)?;
        let summary_path = out_dir.join("summary.json");
        let summary = if summary_path.is_file() { read_json(&summary_path)? } else { Summary::default() };
        let index_path = out_dir.join("figures").join("index.json");
        let mut figures: FigureIndex =
            if index_path.is_file() { read_json(&index_path)? } else { FigureIndex::default() };
        // Keep only figure files that are inside `figures/` and exist: a broken image is worse than none.
        let figures_dir = out_dir.join("figures");
        let keep = |p: &mut Option<String>| {
            if let Some(rel) = p.as_deref() {
                if !is_safe_relative(rel) || !figures_dir.join(rel).is_file() {
                    *p = None;
                }
            }
        };
        for s in &mut figures.sheets {
            keep(&mut s.png);
            keep(&mut s.svg);
            keep(&mut s.thumb);
        }
        for r in &mut figures.run {
            keep(&mut r.png);
            keep(&mut r.svg);
        }
        figures.run.retain(|r| r.png.is_some() || r.svg.is_some());
        Ok(Inputs { experiments: experiments.experiments, summary, figures })
    }
}

/// Whether `rel` is a plain relative path that stays inside its base directory (no root, no `..`).
pub(crate) fn is_safe_relative(rel: &str) -> bool {
    let p = Path::new(rel);
    !rel.is_empty() && !rel.contains('\\') && p.components().all(|c| matches!(c, PathComponent::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_relative_paths() {
        assert!(is_safe_relative("sheets/0000-a.png"));
        assert!(!is_safe_relative("../x.png"));
        assert!(!is_safe_relative("/etc/passwd"));
        assert!(!is_safe_relative("sheets/../../x.png"));
        assert!(!is_safe_relative(""));
        assert!(!is_safe_relative("a\\..\\b"));
    }

    #[test]
    fn unknown_fields_and_missing_optionals_are_fine() {
        let e: ExperimentsFile = serde_json::from_str(
            r#"{"experiments": [{"id": 3, "source": "s", "method": "m", "new_field": [1],
                "scores": {"irregularity": null, "fraction": 0.5}}], "extra": 1}"#,
        )
        .unwrap();
        assert_eq!(e.experiments[0].id, 3);
        assert_eq!(e.experiments[0].scores.as_ref().unwrap().irregularity, None);
        assert!(e.experiments[0].groups.coords_out.is_none());
        let s: Summary = serde_json::from_str(r#"{"model": "m", "unknown": {"a": 1}}"#).unwrap();
        assert_eq!(s.model.as_deref(), Some("m"));
        assert!(s.consensus.is_none());
    }
}
