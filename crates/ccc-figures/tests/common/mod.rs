//! Test helper: a valid analysis output directory fabricated from the golden experiments of
//! `tests/data/golden/golden-small.json` (301 experiments on `synthetic-small.safetensors`), so figure tests do not
//! depend on the analysis crate's classifiers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ccc_analyze::files::experiments::{ExperimentGroups, GroupNames, GroupRanges, ScorePair};
use ccc_analyze::files::summary::{
    ComponentIndicator, Consensus, OutlierIndicator, PipelineRecord, Precision, StatusCounts, SummaryOptions,
};
use ccc_analyze::files::{AnalysisFile, ExperimentRecord, ExperimentsFile, FormatVersion, Status, SummaryFile};
use ccc_analyze::Aggregation;
use ccc_core::CccTensor;
use serde_json::{json, Value};

/// The repository's `tests/data` directory.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

/// The golden tensor.
pub fn golden_tensor() -> CccTensor {
    ccc_core::file::read(&data_dir().join("golden/synthetic-small.safetensors")).expect("golden tensor")
}

/// Experiments of golden-small.json as `experiments.json` records (`id` = position).
pub fn golden_experiments() -> Vec<Value> {
    let text = std::fs::read_to_string(data_dir().join("golden/golden-small.json")).expect("golden json");
    let v: Value = serde_json::from_str(&text).expect("golden json parses");
    v["experiments"]
        .as_array()
        .expect("experiments")
        .iter()
        .enumerate()
        .map(|(i, e)| {
            json!({"id": i, "source": e["source"], "method": e["method"], "status": "ok",
                   "groups": e["groups"], "scores": e["scores"]})
        })
        .collect()
}

fn list(v: &Value) -> Vec<usize> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_u64()).map(|x| x as usize).collect()).unwrap_or_default()
}

/// Write `experiments.json` and `summary.json` for `tensor` and `experiments` into `dir`, through the files' owner
/// types (so the fixture is always of the current format).
pub fn write_analysis(dir: &Path, tensor: &CccTensor, experiments: &[Value]) {
    let t = tensor.filled_only();
    let (n_c, n_k) = (t.n_coord, t.n_comp());
    let names = t.meta.component_names();
    let records: Vec<ExperimentRecord> = experiments
        .iter()
        .map(|e| {
            let g = &e["groups"];
            let groups = ExperimentGroups {
                coords_in: list(&g["coords_in"]),
                coords_out: list(&g["coords_out"]),
                comps_grp1: list(&g["comps_grp1"]),
                comps_grp2: list(&g["comps_grp2"]),
            };
            ExperimentRecord {
                id: e["id"].as_u64().unwrap() as usize,
                source: e["source"].as_str().unwrap().parse().unwrap(),
                method: e["method"].as_str().unwrap().to_string(),
                status: Status::Ok,
                error: None,
                group_names: GroupNames::of(&groups, &names),
                group_ranges: GroupRanges::of(&groups),
                groups,
                scores: ScorePair {
                    irregularity: e["scores"]["irregularity"].as_f64(),
                    fraction: e["scores"]["fraction"].as_f64(),
                },
                pipeline: None,
                outlier_method: None,
                time_s: None,
            }
        })
        .collect();
    // Outlier indicator, columns ordered by their sums (stable).
    let rows: Vec<(usize, Vec<i8>)> = records
        .iter()
        .map(|e| (e.id, (0..n_c).map(|c| if e.groups.coords_out.contains(&c) { 1 } else { -1 }).collect()))
        .collect();
    let mut order: Vec<usize> = (0..n_c).collect();
    let sums: Vec<i64> = (0..n_c).map(|c| rows.iter().map(|r| i64::from(r.1[c])).sum()).collect();
    order.sort_by(|&a, &b| sums[b].cmp(&sums[a]));
    let outlier_matrix: Vec<Vec<i8>> = rows.iter().map(|r| order.iter().map(|&c| r.1[c]).collect()).collect();
    let comp_matrix: Vec<Vec<i8>> = records
        .iter()
        .map(|e| {
            let (g1, g2) = (&e.groups.comps_grp1, &e.groups.comps_grp2);
            let (plus, minus) = if g1.contains(&0) { (g2, g1) } else { (g1, g2) };
            (0..n_k)
                .map(|k| {
                    if plus.contains(&k) {
                        1
                    } else if minus.contains(&k) {
                        -1
                    } else {
                        0
                    }
                })
                .collect()
        })
        .collect();
    let pipelines: Vec<PipelineRecord> = records
        .iter()
        .take(40)
        .enumerate()
        .map(|(i, e)| PipelineRecord {
            index: i + 1,
            name: format!("p{}", i + 1),
            source: e.source,
            method: e.method.clone(),
            status: Status::Ok,
            error: None,
            groups: e.groups.to_groups(),
            time_s: None,
        })
        .collect();
    let mut sources = Vec::new();
    for e in &records {
        if !sources.contains(&e.source) {
            sources.push(e.source);
        }
    }
    let ids: Vec<usize> = records.iter().map(|e| e.id).collect();
    let summary = SummaryFile {
        format: FormatVersion,
        model: t.meta.model.clone(),
        architecture: t.meta.architecture.clone(),
        mode: t.meta.mode,
        summary: t.meta.summary,
        shape: [n_c, t.n_ckpt(), n_k],
        steps: t.steps.clone(),
        seed: 0,
        options: SummaryOptions {
            aggregation: Aggregation::Sum,
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
        components: names.clone(),
        sources,
        n_experiments: records.len(),
        status_counts: StatusCounts::of(records.iter().map(|e| e.status)),
        outlier_indicator: OutlierIndicator { experiments: ids.clone(), coords: order, matrix: outlier_matrix },
        component_indicator: ComponentIndicator { experiments: ids, comps: (0..n_k).collect(), matrix: comp_matrix },
        consensus: Consensus::default(),
        pipelines,
    };
    std::fs::create_dir_all(dir).unwrap();
    ExperimentsFile { format: FormatVersion, experiments: records }.write(dir).unwrap();
    summary.write(dir).unwrap();
}

/// The golden analysis written into `dir`; returns the tensor.
pub fn golden_analysis(dir: &Path) -> CccTensor {
    let t = golden_tensor();
    write_analysis(dir, &t, &golden_experiments());
    t
}
