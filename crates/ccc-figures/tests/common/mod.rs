//! Test helper: a valid analysis output directory fabricated from the golden experiments of
//! `tests/data/golden/golden-small.json` (301 experiments on `synthetic-small.safetensors`), so figure tests do not
//! depend on the analysis crate's classifiers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

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

/// Write `experiments.json` and `summary.json` for `tensor` and `experiments` into `dir`.
pub fn write_analysis(dir: &Path, tensor: &CccTensor, experiments: &[Value]) {
    let t = tensor.filled_only();
    let (n_c, n_k) = (t.n_coord, t.n_comp());
    // Outlier indicator, columns ordered by their sums (stable).
    let rows: Vec<(usize, Vec<f64>)> = experiments
        .iter()
        .filter(|e| e["groups"]["coords_out"].is_array())
        .map(|e| {
            let out = list(&e["groups"]["coords_out"]);
            let id = e["id"].as_u64().unwrap() as usize;
            (id, (0..n_c).map(|c| if out.contains(&c) { 1.0 } else { -1.0 }).collect())
        })
        .collect();
    let mut order: Vec<usize> = (0..n_c).collect();
    let sums: Vec<f64> = (0..n_c).map(|c| rows.iter().map(|r| r.1[c]).sum()).collect();
    order.sort_by(|&a, &b| sums[a].total_cmp(&sums[b]));
    let outlier_matrix: Vec<Vec<f64>> = rows.iter().map(|r| order.iter().map(|&c| r.1[c]).collect()).collect();
    let comp_rows: Vec<(usize, Vec<f64>)> = experiments
        .iter()
        .filter(|e| e["groups"]["comps_grp1"].is_array())
        .map(|e| {
            let (g1, g2) = (list(&e["groups"]["comps_grp1"]), list(&e["groups"]["comps_grp2"]));
            let (plus, minus) = if g1.contains(&0) { (g2, g1) } else { (g1, g2) };
            let id = e["id"].as_u64().unwrap() as usize;
            let row = (0..n_k)
                .map(|k| {
                    if plus.contains(&k) {
                        1.0
                    } else if minus.contains(&k) {
                        -1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            (id, row)
        })
        .collect();
    let pipelines: Vec<Value> = experiments
        .iter()
        .take(40)
        .enumerate()
        .map(|(i, e)| {
            json!({"index": i + 1, "source": e["source"], "method": e["method"], "status": "ok",
                             "groups": e["groups"], "time_s": 0.01})
        })
        .collect();
    let summary = json!({
        "model": t.meta.model, "architecture": t.meta.architecture, "mode": t.meta.mode.name(),
        "shape": [n_c, t.n_ckpt(), n_k], "steps": t.steps, "seed": 0,
        "options": {"aggregation": "sum", "grid": 100},
        "components": t.meta.component_names(),
        "outlier_indicator": {"experiments": rows.iter().map(|r| r.0).collect::<Vec<_>>(), "coords": order,
                              "matrix": outlier_matrix},
        "component_indicator": {"experiments": comp_rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                                "comps": (0..n_k).collect::<Vec<_>>(),
                                "matrix": comp_rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>()},
        "pipelines": pipelines,
    });
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("experiments.json"), serde_json::to_vec(&json!({"experiments": experiments})).unwrap())
        .unwrap();
    std::fs::write(dir.join("summary.json"), serde_json::to_vec(&summary).unwrap()).unwrap();
}

/// The golden analysis written into `dir`; returns the tensor.
pub fn golden_analysis(dir: &Path) -> CccTensor {
    let t = golden_tensor();
    write_analysis(dir, &t, &golden_experiments());
    t
}
