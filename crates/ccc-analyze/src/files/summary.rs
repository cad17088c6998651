//! `summary.json`: what was analyzed and how, and the summaries over all experiments.

use std::collections::BTreeMap;
use std::path::Path;

use ccc_core::{Groups, Mode, Summary};
use serde::{Deserialize, Serialize};

use super::codec::{by_name, TopLevelLines};
use super::{read_json, AnalysisFile, FilesError, FormatVersion, Source, Status, SUMMARY_JSON};
use crate::trajectory::Aggregation;

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryFile {
    /// The format version ([`super::FORMAT`]).
    #[serde(default)]
    pub format: FormatVersion,
    /// The model (from the tensor's metadata).
    pub model: String,
    /// Its architecture.
    pub architecture: String,
    /// Full or compact.
    #[serde(with = "by_name")]
    pub mode: Mode,
    /// The row summary of the tensor.
    #[serde(with = "by_name")]
    pub summary: Summary,
    /// `[C, T, K]` of the analyzed tensor (`T` counts the checkpoints used).
    pub shape: [usize; 3],
    /// The training steps of the checkpoints used, in order.
    pub steps: Vec<i64>,
    /// The seed of the one random generator.
    pub seed: u64,
    /// The analysis options.
    pub options: SummaryOptions,
    /// The float precision of each stage.
    pub precision: Precision,
    /// Wall time of the whole analysis, seconds (absent with `--no-timings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time_s: Option<f64>,
    /// Wall time per phase and clusterer family, seconds (absent with `--no-timings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_times_s: Option<BTreeMap<String, f64>>,
    /// The component names, in tensor order.
    pub components: Vec<String>,
    /// The distinct experiment sources, in order of first appearance.
    pub sources: Vec<Source>,
    /// How many experiments there are.
    pub n_experiments: usize,
    /// How many experiments have each status.
    pub status_counts: StatusCounts,
    /// The outlier indicator matrix (experiments × coordinates).
    pub outlier_indicator: OutlierIndicator,
    /// The component indicator matrix (experiments × components).
    pub component_indicator: ComponentIndicator,
    /// How often each coordinate is an outlier and each component in each group.
    pub consensus: Consensus,
    /// The classification pipelines' own results, in run order.
    pub pipelines: Vec<PipelineRecord>,
}

/// The options of the analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryOptions {
    /// How component groups are combined into the trajectories.
    pub aggregation: Aggregation,
    /// Grid size of the irregularity score.
    pub grid: usize,
    /// The step selection as given (`all` by default).
    pub steps: String,
    /// The glob that selected the pipelines (`*` by default).
    pub pipelines: String,
    /// The TOML file extra pipelines came from (absent when none did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipelines_file: Option<String>,
}

/// Which float precision each stage uses (descriptions for people).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Precision {
    /// `prep`.
    pub prep: String,
    /// The foldings.
    pub foldings: String,
    /// The clusterers.
    pub clusterers: String,
    /// The trajectories and scores.
    pub trajectories: String,
}

/// Experiments per status (keys in alphabetical order, as written).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Computed but degenerate.
    pub degenerate: usize,
    /// Not computed.
    pub failed: usize,
    /// Computed.
    pub ok: usize,
}

impl StatusCounts {
    /// Count `statuses`.
    pub fn of(statuses: impl IntoIterator<Item = Status>) -> StatusCounts {
        let mut c = StatusCounts::default();
        for s in statuses {
            *c.get_mut(s) += 1;
        }
        c
    }

    /// The count of `status`.
    pub fn get(&self, status: Status) -> usize {
        match status {
            Status::Ok => self.ok,
            Status::Degenerate => self.degenerate,
            Status::Failed => self.failed,
        }
    }

    fn get_mut(&mut self, status: Status) -> &mut usize {
        match status {
            Status::Ok => &mut self.ok,
            Status::Degenerate => &mut self.degenerate,
            Status::Failed => &mut self.failed,
        }
    }
}

/// The outlier indicator: `+1` where an experiment calls a coordinate an outlier, `−1` elsewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutlierIndicator {
    /// The experiment id of each row.
    pub experiments: Vec<usize>,
    /// The coordinate of each column (columns ordered by their sums, descending).
    pub coords: Vec<usize>,
    /// The rows.
    pub matrix: Vec<Vec<i8>>,
}

/// The component indicator: `+1` for the group without component 0, `−1` for the other, `0` discarded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentIndicator {
    /// The experiment id of each row.
    pub experiments: Vec<usize>,
    /// The component of each column (tensor order).
    pub comps: Vec<usize>,
    /// The rows.
    pub matrix: Vec<Vec<i8>>,
}

/// The consensus over all experiments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Consensus {
    /// Every coordinate, in index order.
    pub coords: Vec<CoordConsensus>,
    /// Every component, in tensor order.
    pub comps: Vec<CompConsensus>,
}

/// How often one coordinate is called an outlier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CoordConsensus {
    /// The coordinate.
    pub coord: usize,
    /// The fraction of experiments (with a coordinate split) that call it an outlier.
    pub outlier_fraction: f64,
}

/// How often one component is in group 1, in group 2, or in neither.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompConsensus {
    /// The component's name.
    pub name: String,
    /// Fraction of experiments (with component groups) with it in group 1.
    pub grp1: f64,
    /// … in group 2.
    pub grp2: f64,
    /// … in neither.
    pub discarded: f64,
}

/// One classification pipeline's own result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineRecord {
    /// 1-based index (the built-in order, then the extra pipelines).
    pub index: usize,
    /// Its short name (what `--pipelines` globs match).
    pub name: String,
    /// `TCI-comps-coords`, `TCI-comps` or `TCI-coords`.
    pub source: Source,
    /// The reference instruction string.
    pub method: String,
    /// Its outcome.
    pub status: Status,
    /// Why it is not `ok` (absent when it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The groups it produced: only the keys its chain gives.
    pub groups: Groups,
    /// Wall time of the computations it used, seconds (absent with `--no-timings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_s: Option<f64>,
}

impl AnalysisFile for SummaryFile {
    const PATH: &'static str = SUMMARY_JSON;

    /// One top-level key per line, values compact.
    fn to_bytes(&self) -> Result<Vec<u8>, FilesError> {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, TopLevelLines::new());
        self.serialize(&mut ser).map_err(|e| FilesError::Encode { name: SUMMARY_JSON, message: e.to_string() })?;
        out.push(b'\n');
        Ok(out)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, FilesError> {
        read_json(bytes, path)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::files::Origin;

    pub(crate) fn summary() -> SummaryFile {
        SummaryFile {
            format: FormatVersion,
            model: "m".into(),
            architecture: "gpt_neox".into(),
            mode: Mode::Full,
            summary: Summary::MeanSq,
            shape: [2, 3, 2],
            steps: vec![0, 10, 20],
            seed: 7,
            options: SummaryOptions {
                aggregation: Aggregation::Pooled,
                grid: 100,
                steps: "all".into(),
                pipelines: "*".into(),
                pipelines_file: None,
            },
            precision: Precision {
                prep: "f32".into(),
                foldings: "f32".into(),
                clusterers: "f64".into(),
                trajectories: "f64".into(),
            },
            run_time_s: None,
            phase_times_s: None,
            components: vec!["emb_in".into(), "L0.H0.Q".into()],
            sources: vec![Source::new(Origin::TciCompsCoords)],
            n_experiments: 1,
            status_counts: StatusCounts::of([Status::Ok]),
            outlier_indicator: OutlierIndicator { experiments: vec![0], coords: vec![1, 0], matrix: vec![vec![1, -1]] },
            component_indicator: ComponentIndicator {
                experiments: vec![0],
                comps: vec![0, 1],
                matrix: vec![vec![-1, 1]],
            },
            consensus: Consensus {
                coords: vec![
                    CoordConsensus { coord: 0, outlier_fraction: 0.0 },
                    CoordConsensus { coord: 1, outlier_fraction: 1.0 },
                ],
                comps: vec![CompConsensus { name: "emb_in".into(), grp1: 1.0, grp2: 0.0, discarded: 0.0 }],
            },
            pipelines: vec![PipelineRecord {
                index: 1,
                name: "median>dhillon".into(),
                source: Source::new(Origin::TciCoords),
                method: "instructions[]".into(),
                status: Status::Ok,
                error: None,
                groups: Groups { coords_in: Some(vec![0]), coords_out: Some(vec![1]), ..Groups::default() },
                time_s: None,
            }],
        }
    }

    #[test]
    fn written_layout_and_round_trip() {
        let s = summary();
        let bytes = s.to_bytes().unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with("{\n  \"format\": \"ccc-analysis/1\",\n  \"model\": \"m\",\n"), "{text}");
        assert!(text.contains("\n  \"status_counts\": {\"degenerate\":0,\"failed\":0,\"ok\":1},\n"), "{text}");
        assert!(text.contains(
            "\n  \"options\": {\"aggregation\":\"pooled\",\"grid\":100,\"steps\":\"all\",\"pipelines\":\"*\"},\n"
        ));
        assert!(!text.contains("run_time_s") && !text.contains("phase_times_s"), "no wall times when not recorded");
        assert!(text.ends_with("\"coords_out\":[1]}}]\n}\n"), "{text}");
        assert_eq!(SummaryFile::from_bytes(&bytes, Path::new("s")).unwrap(), s);
        let timed = SummaryFile {
            run_time_s: Some(1.5),
            phase_times_s: Some(BTreeMap::from([("prep".to_string(), 0.5)])),
            ..summary()
        };
        let text = String::from_utf8(timed.to_bytes().unwrap()).unwrap();
        assert!(text.contains("\n  \"run_time_s\": 1.5,\n  \"phase_times_s\": {\"prep\":0.5},\n"), "{text}");
    }

    #[test]
    fn required_and_typed_fields() {
        let mut v = serde_json::to_value(summary()).unwrap();
        v.as_object_mut().unwrap().remove("consensus");
        let e = SummaryFile::from_bytes(&serde_json::to_vec(&v).unwrap(), Path::new("o/summary.json")).unwrap_err();
        assert_eq!(
            e.to_string().split(" at line").next().unwrap(),
            "`o/summary.json` is not a valid `ccc-analysis/1` file: missing field `consensus`"
        );
        let mut v = serde_json::to_value(summary()).unwrap();
        v["options"]["aggregation"] = "mean".into();
        let e = SummaryFile::from_bytes(&serde_json::to_vec(&v).unwrap(), Path::new("o/summary.json")).unwrap_err();
        assert!(e.to_string().contains("at `options.aggregation`: unknown aggregation `mean`"), "{e}");
        let mut v = serde_json::to_value(summary()).unwrap();
        v["mode"] = "tiny".into();
        v["pipelines"][0]["status"] = "ok".into();
        v["extra"] = serde_json::json!(1);
        let e = SummaryFile::from_bytes(&serde_json::to_vec(&v).unwrap(), Path::new("o/summary.json")).unwrap_err();
        assert!(e.to_string().contains("at `mode`: "), "{e}");
    }
}
