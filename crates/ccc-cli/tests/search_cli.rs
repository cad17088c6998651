//! `ccc search` end to end on the golden synthetic tensor (issue 21).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/golden").join(name)
}

fn ccc() -> Command {
    Command::cargo_bin("ccc").unwrap()
}

fn search(dir: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    ccc()
        .arg("search")
        .arg(golden("synthetic-small.safetensors"))
        .arg("-o")
        .arg(dir)
        .args(["--budget", "3000", "--nulls", "1", "--random", "10", "--no-timings", "--quiet"])
        .args(extra)
        .assert()
}

#[test]
fn search_is_deterministic_and_scores_as_ccc_score() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    // Without experiments.json the analysis runs first.
    search(a.path(), &[]).success();
    assert!(a.path().join("experiments.json").exists());
    search(b.path(), &[]).success();
    for f in ["search.json", "search.csv"] {
        let (x, y) = (std::fs::read(a.path().join(f)).unwrap(), std::fs::read(b.path().join(f)).unwrap());
        assert_eq!(x, y, "{f} differs between two runs with the same seed and budget");
    }
    let s: Value = serde_json::from_slice(&std::fs::read(a.path().join("search.json")).unwrap()).unwrap();
    // A sheet per front point.
    let n = s["front"].as_array().unwrap().len();
    for i in 0..n {
        assert!(a.path().join(format!("figures/search/front-{i:03}.png")).is_file());
    }
    assert_eq!(s["format"], "ccc-analysis/1");
    let front = s["front"].as_array().unwrap();
    assert!(!front.is_empty());
    assert_eq!(s["null"]["fronts"].as_array().unwrap().len(), 1);
    // The front's groups, scored by `ccc score`, give the front's scores exactly.
    let groups: Vec<Value> = front.iter().map(|p| p["groups"].clone()).collect();
    let g = a.path().join("front.json");
    std::fs::write(&g, serde_json::to_vec(&groups).unwrap()).unwrap();
    let out = ccc()
        .arg("score")
        .arg(golden("synthetic-small.safetensors"))
        .arg("--groups")
        .arg(&g)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success());
    let scored: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    for (p, s) in front.iter().zip(&scored) {
        assert_eq!(p["scores"]["irregularity"], s["irregularity"]);
        assert_eq!(p["scores"]["fraction"], s["fraction"]);
    }
    // An existing analysis with other options is refused, with the way out.
    search(a.path(), &["--grid", "50"]).failure().stderr(contains("was scored with --agg sum --grid 100"));
}

#[test]
fn bad_flags_say_how_to_fix_them() {
    let d = tempfile::tempdir().unwrap();
    ccc()
        .args(["search", "x.safetensors", "-o"])
        .arg(d.path())
        .args(["--budget", "fast"])
        .assert()
        .failure()
        .stderr(contains("give evaluations (`200000`) or a time"));
    search(d.path(), &["--max-fraction", "1.5"]).failure().stderr(contains("max-fraction must be in [0, 1)"));
    search(d.path(), &["--min-group", "0"]).failure().stderr(contains("min-group must be at least 1"));
}
