//! `figures/index.json`: every figure the figures stage wrote, with paths relative to `figures/`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{read_json, AnalysisFile, FilesError, FormatVersion, Source, FIGURES_INDEX_JSON};

/// `figures/index.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FigureIndex {
    /// The format version ([`super::FORMAT`]).
    #[serde(default)]
    pub format: FormatVersion,
    /// The image formats written: `["png"]`, `["svg"]` or `["png", "svg"]`.
    pub formats: Vec<ImageFormat>,
    /// Trajectory sheets, by experiment id.
    pub sheets: Vec<SheetEntry>,
    /// Per-run figures.
    pub run: Vec<RunEntry>,
}

/// An image file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// SVG.
    Svg,
}

/// One trajectory sheet (paths relative to `figures/`; `null` when that format was not written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetEntry {
    /// Experiment id.
    pub id: usize,
    /// Experiment source.
    pub source: Source,
    /// Experiment method.
    pub method: String,
    /// The PNG file.
    #[serde(deserialize_with = "super::codec::nullable")]
    pub png: Option<String>,
    /// The SVG file.
    #[serde(deserialize_with = "super::codec::nullable")]
    pub svg: Option<String>,
    /// A small PNG of the sheet, for the report's table.
    #[serde(deserialize_with = "super::codec::nullable")]
    pub thumb: Option<String>,
}

/// The kinds of per-run figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Scores scatter by source.
    Scores,
    /// Outlier indicator and its Gram products.
    OutlierMemberships,
    /// Component indicator and its Gram products.
    ComponentMemberships,
    /// `Σ_k mags` per coordinate against checkpoints.
    Aggregate,
    /// One panel per classification pipeline.
    Overview,
    /// The analysis over windows beside the training log (`timeline.json`).
    Timeline,
    /// The trajectory clusters (`trajectory_clusters.json`).
    TrajectoryClusters,
    /// The scores of the experiments, the search front and the null fronts (`search.json`).
    Search,
}

impl RunKind {
    /// Every kind.
    pub const ALL: [RunKind; 8] = [
        RunKind::Scores,
        RunKind::OutlierMemberships,
        RunKind::ComponentMemberships,
        RunKind::Aggregate,
        RunKind::Overview,
        RunKind::Timeline,
        RunKind::TrajectoryClusters,
        RunKind::Search,
    ];

    /// The name in the file, e.g. `outlier_memberships`.
    pub fn name(self) -> &'static str {
        match self {
            RunKind::Scores => "scores",
            RunKind::OutlierMemberships => "outlier_memberships",
            RunKind::ComponentMemberships => "component_memberships",
            RunKind::Aggregate => "aggregate",
            RunKind::Overview => "overview",
            RunKind::Timeline => "timeline",
            RunKind::TrajectoryClusters => "trajectory_clusters",
            RunKind::Search => "search",
        }
    }
}

/// One per-run figure (paths relative to `figures/`; `null` when that format was not written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEntry {
    /// What it shows.
    pub kind: RunKind,
    /// Its title.
    pub title: String,
    /// The PNG file.
    #[serde(deserialize_with = "super::codec::nullable")]
    pub png: Option<String>,
    /// The SVG file.
    #[serde(deserialize_with = "super::codec::nullable")]
    pub svg: Option<String>,
}

impl AnalysisFile for FigureIndex {
    const PATH: &'static str = FIGURES_INDEX_JSON;

    /// Pretty-printed, two-space indents, no final line break.
    fn to_bytes(&self) -> Result<Vec<u8>, FilesError> {
        serde_json::to_vec_pretty(self)
            .map_err(|e| FilesError::Encode { name: FIGURES_INDEX_JSON, message: e.to_string() })
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, FilesError> {
        read_json(bytes, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::Origin;

    #[test]
    fn round_trip_and_names() {
        for k in RunKind::ALL {
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.name()));
        }
        let index = FigureIndex {
            format: FormatVersion,
            formats: vec![ImageFormat::Png, ImageFormat::Svg],
            sheets: vec![SheetEntry {
                id: 3,
                source: Source::new(Origin::CompsGrpsWte).completed(),
                method: "|MAD-last-sum".into(),
                png: Some("sheets/0003-x.png".into()),
                svg: None,
                thumb: Some("thumbs/0003-x.png".into()),
            }],
            run: vec![RunEntry {
                kind: RunKind::Overview,
                title: "t".into(),
                png: None,
                svg: Some("overview.svg".into()),
            }],
        };
        let bytes = index.to_bytes().unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(
            text.starts_with("{\n  \"format\": \"ccc-analysis/1\",\n  \"formats\": [\n    \"png\",\n    \"svg\"\n  ],"),
            "{text}"
        );
        assert_eq!(FigureIndex::from_bytes(&bytes, Path::new("i")).unwrap(), index);
        let mut v = serde_json::to_value(&index).unwrap();
        v["run"][0]["kind"] = "pie_chart".into();
        let e =
            FigureIndex::from_bytes(&serde_json::to_vec(&v).unwrap(), Path::new("o/figures/index.json")).unwrap_err();
        assert!(e.to_string().contains("`o/figures/index.json` is not a valid `ccc-analysis/1` file: at `run[0].kind`: unknown variant `pie_chart`"), "{e}");
        v["run"][0]["kind"] = "overview".into();
        v["sheets"][0].as_object_mut().unwrap().remove("svg");
        let e = FigureIndex::from_bytes(&serde_json::to_vec(&v).unwrap(), Path::new("i")).unwrap_err();
        assert!(e.to_string().contains("at `sheets[0]`: missing field `svg`"), "{e}");
    }
}
