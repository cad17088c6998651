//! `ccc analyze` over training (issue 22): windows, subsets, the training log and trajectory clusters end to end
//! on the planted tensor of `ccc-analyze/tests/common/emerging.rs`, and one clear error for each bad input.

#[path = "../../ccc-analyze/tests/common/emerging.rs"]
mod planted;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

fn ccc() -> Command {
    Command::cargo_bin("ccc").unwrap()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The planted tensor and a CSV training log, written into `dir`.
fn inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let tensor = dir.join("planted.ccc.safetensors");
    ccc_core::file::write(&tensor, &planted::planted_tensor()).unwrap();
    let log = dir.join("log.csv");
    let mut csv = String::from("step,loss,learning_rate\n");
    for s in (0..4000).step_by(100) {
        let lr = if s < 500 { s as f64 / 500.0 } else { 1.0 };
        csv.push_str(&format!("{s},{},{lr}\n", 5.0 - s as f64 / 1000.0));
    }
    std::fs::write(&log, csv).unwrap();
    (tensor, log)
}

fn analyze(tensor: &Path, out: &Path) -> Command {
    let mut c = ccc();
    c.arg("analyze").arg(tensor).arg("-o").arg(out).args(["--quiet", "--figures", "none", "--no-report"]);
    c
}

#[test]
fn windows_log_subsets_and_clusters_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let (tensor, log) = inputs(tmp.path());
    let out = tmp.path().join("out");
    analyze(&tensor, &out)
        .args(["--windows", "4", "--trajectory-clusters", "auto", "--component-subsets", "attention,mlp,L0,L1"])
        .arg("--train-log")
        .arg(&log)
        .assert()
        .success();
    let t = read_json(&out.join("timeline.json"));
    assert_eq!(t["format"], "ccc-analysis/1");
    assert_eq!(t["windows"].as_array().unwrap().len(), 4);
    let emerging: Vec<u64> = t["emerging"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(emerging, planted::LATE.map(|c| c as u64));
    assert_eq!(t["coords"][5]["emerges_at_step"], planted::PLANTED_STEP);
    assert!(t["change_points"].as_array().unwrap().iter().any(|s| s == planted::PLANTED_STEP));
    assert_eq!(t["training_log"]["steps"].as_array().unwrap().len(), 40);
    assert!(t["training_log"]["loss"].is_array() && t["training_log"]["learning_rate"].is_array());
    assert_eq!(t["events"][0]["kind"], "warmup_end");
    let c = read_json(&out.join("trajectory_clusters.json"));
    assert_eq!(c["k"].as_u64().unwrap() as usize, c["clusters"].as_array().unwrap().len());
    assert_eq!(c["clusters"][0]["mean"].as_array().unwrap().len(), 40);
    let s = read_json(&out.join("subsets.json"));
    assert_eq!(s["subsets"].as_array().unwrap().len(), 4);
    // The whole-run files are there as always.
    assert!(out.join("experiments.json").is_file() && out.join("summary.json").is_file());
}

#[test]
fn bad_windows_logs_and_thresholds_are_one_error_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (tensor, _) = inputs(tmp.path());
    let nostep = tmp.path().join("nostep.csv");
    std::fs::write(&nostep, "loss,lr\n1,2\n").unwrap();
    let elsewhere = tmp.path().join("elsewhere.jsonl");
    std::fs::write(&elsewhere, "{\"step\": 90000, \"loss\": 1}\n").unwrap();
    let out = tmp.path().join("out");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--windows".into(), "20".into()], "use at most 13 windows"),
        (vec!["--windows".into(), "0..150,150..".into()], "holds 2 checkpoint(s)"),
        (vec!["--windows".into(), "0..1000,500..".into()], "overlap"),
        (vec!["--windows".into(), "size=2".into()], "at least 3 checkpoints"),
        (vec!["--windows".into(), "4".into(), "--consensus".into(), "1.5".into()], "consensus threshold"),
        (vec!["--train-log".into(), nostep.display().to_string()], "has no step column"),
        (vec!["--train-log".into(), elsewhere.display().to_string()], "do not overlap"),
        (vec!["--component-subsets".into(), "embeddings".into()], "holds 1 component(s)"),
        (vec!["--trajectory-clusters".into(), "0".into()], "expected `auto` or a number"),
    ];
    for (args, want) in cases {
        let a = analyze(&tensor, &out).args(&args).assert().failure().code(1).stderr(contains(want));
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert_eq!(err.lines().filter(|l| l.starts_with("error")).count(), 1, "{args:?}: {err}");
    }
}
