//! Writing an [`Analysis`]: `experiments.json`, `scores.csv`, `summary.json` (schema in `docs/outputs.md`).
//!
//! JSON floats use the shortest round-trip formatting, every list is in a fixed order, and wall times can be left
//! out, so the same input and seed give byte-identical files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use ccc_core::Groups;
use serde::Serialize;

use crate::analysis::Analysis;
use crate::error::AnalyzeError;
use crate::experiments::Experiment;

/// File names in the output directory.
pub const EXPERIMENTS_JSON: &str = "experiments.json";
/// See [`EXPERIMENTS_JSON`].
pub const SCORES_CSV: &str = "scores.csv";
/// See [`EXPERIMENTS_JSON`].
pub const SUMMARY_JSON: &str = "summary.json";

#[derive(Serialize)]
struct GroupsOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    coords_in: Option<&'a [usize]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    coords_out: Option<&'a [usize]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comps_grp1: Option<&'a [usize]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comps_grp2: Option<&'a [usize]>,
}

impl<'a> From<&'a Groups> for GroupsOut<'a> {
    fn from(g: &'a Groups) -> Self {
        GroupsOut {
            coords_in: g.coords_in.as_deref(),
            coords_out: g.coords_out.as_deref(),
            comps_grp1: g.comps_grp1.as_deref(),
            comps_grp2: g.comps_grp2.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct ScoresOut {
    irregularity: Option<f64>,
    fraction: Option<f64>,
}

#[derive(Serialize)]
struct ExperimentOut<'a> {
    id: usize,
    source: &'a str,
    method: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    groups: GroupsOut<'a>,
    group_names: BTreeMap<&'static str, Vec<&'a str>>,
    group_ranges: BTreeMap<&'static str, String>,
    scores: ScoresOut,
    pipeline: Option<usize>,
    outlier_method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_s: Option<f64>,
}

/// Index lists as compact ranges: `[0, 1, 2, 5, 7, 8]` → `"0-2, 5, 7-8"`.
pub fn ranges(v: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        parts.push(if j > i { format!("{}-{}", v[i], v[j]) } else { v[i].to_string() });
        i = j + 1;
    }
    parts.join(", ")
}

fn round_time(t: f64) -> f64 {
    (t * 1e6).round() / 1e6
}

fn experiment_out<'a>(a: &'a Analysis, e: &'a Experiment) -> ExperimentOut<'a> {
    let names = |g: &Option<Vec<usize>>| -> Vec<&'a str> {
        g.as_deref().unwrap_or(&[]).iter().filter_map(|&k| a.components.get(k).map(String::as_str)).collect()
    };
    let mut group_names = BTreeMap::new();
    if e.groups.has_comps() {
        group_names.insert("comps_grp1", names(&e.groups.comps_grp1));
        group_names.insert("comps_grp2", names(&e.groups.comps_grp2));
    }
    let mut group_ranges = BTreeMap::new();
    for (k, v) in [
        ("coords_in", &e.groups.coords_in),
        ("coords_out", &e.groups.coords_out),
        ("comps_grp1", &e.groups.comps_grp1),
        ("comps_grp2", &e.groups.comps_grp2),
    ] {
        if let Some(v) = v {
            group_ranges.insert(k, ranges(v));
        }
    }
    ExperimentOut {
        id: e.id,
        source: &e.source,
        method: &e.method,
        status: e.status.name(),
        error: e.error.as_deref(),
        groups: (&e.groups).into(),
        group_names,
        group_ranges,
        scores: ScoresOut {
            irregularity: e.scores.and_then(|s| s.irregularity),
            fraction: e.scores.map(|s| s.fraction),
        },
        pipeline: e.pipeline,
        outlier_method: e.outlier_method.map(|m| m.name()),
        time_s: a.options.timings.then(|| round_time(e.time_s)),
    }
}

#[derive(Serialize)]
struct OptionsOut<'a> {
    aggregation: &'static str,
    grid: usize,
    steps: &'a str,
    pipelines: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pipelines_file: Option<&'a str>,
}

#[derive(Serialize)]
struct PrecisionOut {
    prep: &'static str,
    foldings: &'static str,
    clusterers: &'static str,
    trajectories: &'static str,
}

#[derive(Serialize)]
struct OutlierIndicator {
    experiments: Vec<usize>,
    coords: Vec<usize>,
    matrix: Vec<Vec<i8>>,
}

#[derive(Serialize)]
struct ComponentIndicator {
    experiments: Vec<usize>,
    comps: Vec<usize>,
    matrix: Vec<Vec<i8>>,
}

#[derive(Serialize)]
struct CoordConsensus {
    coord: usize,
    outlier_fraction: f64,
}

#[derive(Serialize)]
struct CompConsensus<'a> {
    name: &'a str,
    grp1: f64,
    grp2: f64,
    discarded: f64,
}

#[derive(Serialize)]
struct Consensus<'a> {
    coords: Vec<CoordConsensus>,
    comps: Vec<CompConsensus<'a>>,
}

#[derive(Serialize)]
struct PipelineOut<'a> {
    index: usize,
    name: String,
    source: &'static str,
    method: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    groups: GroupsOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_s: Option<f64>,
}

#[derive(Serialize)]
struct SummaryFile<'a> {
    model: &'a str,
    architecture: &'a str,
    mode: &'a str,
    summary: &'a str,
    shape: [usize; 3],
    steps: &'a [i64],
    seed: u64,
    options: OptionsOut<'a>,
    precision: PrecisionOut,
    run_time_s: f64,
    phase_times_s: BTreeMap<&'a str, f64>,
    components: &'a [String],
    sources: Vec<String>,
    n_experiments: usize,
    status_counts: BTreeMap<&'static str, usize>,
    outlier_indicator: OutlierIndicator,
    component_indicator: ComponentIndicator,
    consensus: Consensus<'a>,
    pipelines: Vec<PipelineOut<'a>>,
}

impl Analysis {
    /// `experiments.json` as a string.
    pub fn experiments_json(&self) -> Result<String, AnalyzeError> {
        // One experiment per line: compact, yet readable and diffable.
        let mut s = String::from("{\"experiments\": [\n");
        for (i, e) in self.experiments.iter().enumerate() {
            let line =
                serde_json::to_string(&experiment_out(self, e)).map_err(|e| AnalyzeError::Output(e.to_string()))?;
            s.push_str("  ");
            s.push_str(&line);
            s.push_str(if i + 1 < self.experiments.len() { ",\n" } else { "\n" });
        }
        s.push_str("]}");
        Ok(s)
    }

    /// `summary.json` as a string.
    pub fn summary_json(&self) -> Result<String, AnalyzeError> {
        let (oi_ids, oi_cols, oi_m) = self.outlier_indicator();
        let (ci_ids, ci_m) = self.component_indicator();
        let f = SummaryFile {
            model: &self.model,
            architecture: &self.architecture,
            mode: &self.mode,
            summary: &self.summary,
            shape: self.shape,
            steps: &self.steps,
            seed: self.options.seed,
            options: OptionsOut {
                aggregation: self.options.aggregation.name(),
                grid: self.options.grid,
                steps: &self.options.steps_text,
                pipelines: self.options.pipelines.as_deref().unwrap_or("*"),
                pipelines_file: self.options.pipelines_file.as_deref(),
            },
            precision: PrecisionOut {
                prep: "f32",
                foldings: "f32",
                clusterers: "f64",
                trajectories: "f32 group sums (NumPy pairwise order), f64 after",
            },
            run_time_s: round_time(self.run_time_s),
            phase_times_s: self.phase_times_s.iter().map(|(k, v)| (k.as_str(), round_time(*v))).collect(),
            components: &self.components,
            sources: self.sources(),
            n_experiments: self.experiments.len(),
            status_counts: self.status_counts(),
            outlier_indicator: OutlierIndicator { experiments: oi_ids, coords: oi_cols, matrix: oi_m },
            component_indicator: ComponentIndicator {
                experiments: ci_ids,
                comps: (0..self.shape[2]).collect(),
                matrix: ci_m,
            },
            consensus: Consensus {
                coords: self
                    .coord_consensus()
                    .into_iter()
                    .enumerate()
                    .map(|(coord, outlier_fraction)| CoordConsensus { coord, outlier_fraction })
                    .collect(),
                comps: self
                    .comp_consensus()
                    .into_iter()
                    .enumerate()
                    .map(|(k, (grp1, grp2, discarded))| CompConsensus {
                        name: self.components.get(k).map_or("", String::as_str),
                        grp1,
                        grp2,
                        discarded,
                    })
                    .collect(),
            },
            pipelines: self
                .pipelines
                .iter()
                .map(|p| PipelineOut {
                    index: p.pipeline.index,
                    name: p.pipeline.name(),
                    source: p.pipeline.chain.source(),
                    method: &p.pipeline.method,
                    status: p.status.name(),
                    error: p.reason.as_deref(),
                    groups: (&p.groups).into(),
                    time_s: self.options.timings.then(|| round_time(p.time_s)),
                })
                .collect(),
        };
        top_level_lines(&f)
    }

    /// `scores.csv` as a string: `id,source,method,status,irregularity,fraction`.
    pub fn scores_csv(&self) -> String {
        let mut s = String::from("id,source,method,status,irregularity,fraction\n");
        let f = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        for e in &self.experiments {
            s.push_str(&format!(
                "{},{},{},{},{},{}\n",
                e.id,
                csv_field(&e.source),
                csv_field(&e.method),
                e.status.name(),
                f(e.scores.and_then(|x| x.irregularity)),
                f(e.scores.map(|x| x.fraction)),
            ));
        }
        s
    }

    /// Write `experiments.json`, `scores.csv` and `summary.json` into `dir` (created if missing), each atomically.
    pub fn write_to(&self, dir: &Path) -> Result<(), AnalyzeError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| AnalyzeError::Output(format!("cannot create {}: {e}", dir.display())))?;
        let exp = self.experiments_json()?;
        let sum = self.summary_json()?;
        let csv = self.scores_csv();
        // The JSON texts end without a line break; the CSV already ends with one.
        for (name, text, nl) in [(EXPERIMENTS_JSON, exp, true), (SCORES_CSV, csv, false), (SUMMARY_JSON, sum, true)] {
            ccc_core::atomic::write_atomic(&dir.join(name), |w: &mut dyn Write| {
                w.write_all(text.as_bytes())?;
                if nl {
                    w.write_all(b"\n")?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// A JSON object with one top-level key per line (values compact), so big matrices stay on one line each.
fn top_level_lines<T: Serialize>(v: &T) -> Result<String, AnalyzeError> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, TopLevelLines { depth: 0 });
    v.serialize(&mut ser).map_err(|e| AnalyzeError::Output(e.to_string()))?;
    String::from_utf8(out).map_err(|e| AnalyzeError::Output(e.to_string()))
}

/// A `serde_json` formatter that breaks lines only between the keys of the outermost object.
struct TopLevelLines {
    depth: usize,
}

impl serde_json::ser::Formatter for TopLevelLines {
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth -= 1;
        if self.depth == 0 {
            w.write_all(b"\n}")
        } else {
            w.write_all(b"}")
        }
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        match (self.depth, first) {
            (1, true) => w.write_all(b"\n  "),
            (1, false) => w.write_all(b",\n  "),
            (_, true) => Ok(()),
            (_, false) => w.write_all(b","),
        }
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(if self.depth == 1 { b": " } else { b":" })
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_csv() {
        assert_eq!(ranges(&[0, 1, 2, 5, 7, 8]), "0-2, 5, 7-8");
        assert_eq!(ranges(&[]), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("x\"y"), "\"x\"\"y\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
