//! `ccc analyze` and `ccc score` end to end on the golden synthetic tensor.

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

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn analyze(dir: &Path, extra: &[&str]) {
    ccc()
        .arg("analyze")
        .arg(golden("synthetic-small.safetensors"))
        .arg("-o")
        .arg(dir)
        .arg("--quiet")
        .args(extra)
        .assert()
        .success();
}

#[test]
fn writes_the_three_files_with_301_experiments() {
    let tmp = tempfile::tempdir().unwrap();
    analyze(tmp.path(), &[]);
    let exp = read_json(&tmp.path().join("experiments.json"));
    let exps = exp["experiments"].as_array().unwrap();
    assert_eq!(exps.len(), 301);
    let golden_json = read_json(&golden("golden-small.json"));
    for (i, (e, g)) in exps.iter().zip(golden_json["experiments"].as_array().unwrap()).enumerate() {
        assert_eq!(e["id"], i);
        assert_eq!(e["method"], g["method"], "experiment {i}");
        assert!(e["groups"]["coords_in"].is_array() && e["groups"]["comps_grp2"].is_array());
        assert!(e["scores"]["fraction"].is_number());
    }
    let csv = std::fs::read_to_string(tmp.path().join("scores.csv")).unwrap();
    assert_eq!(csv.lines().count(), 302);
    assert!(csv.starts_with("id,source,method,status,irregularity,fraction\n"));
    let sum = read_json(&tmp.path().join("summary.json"));
    assert_eq!(sum["shape"], serde_json::json!([64, 12, 42]));
    assert_eq!(sum["pipelines"].as_array().unwrap().len(), 40);
    assert_eq!(sum["sources"].as_array().unwrap().len(), 6);
    assert_eq!(sum["consensus"]["coords"].as_array().unwrap().len(), 64);
    assert_eq!(sum["consensus"]["comps"].as_array().unwrap().len(), 42);
    let oi = &sum["outlier_indicator"];
    assert_eq!(oi["matrix"].as_array().unwrap().len(), oi["experiments"].as_array().unwrap().len());
    // The planted outliers (38 and 45) are the coordinates most often called outliers.
    let first_two: Vec<u64> = oi["coords"].as_array().unwrap()[..2].iter().map(|v| v.as_u64().unwrap()).collect();
    let mut first_two = first_two;
    first_two.sort();
    assert_eq!(first_two, vec![38, 45]);
}

/// Every file under `dir`, relative to it, with its bytes, in path order.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push((path.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Issue 20: `--no-timings` promises byte-identical files — every file `analyze` writes (the three analysis files,
/// every figure and thumbnail in PNG and SVG, `figures/index.json`, `report.html`), and `ccc report` again.
#[test]
fn no_timings_gives_byte_identical_output_trees() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = ["--seed", "7", "--no-timings", "--figures", "all", "--format", "both"];
    analyze(a.path(), &args);
    analyze(b.path(), &args);
    let (ta, tb) = (tree(a.path()), tree(b.path()));
    let names: Vec<&PathBuf> = ta.iter().map(|(p, _)| p).collect();
    assert_eq!(names, tb.iter().map(|(p, _)| p).collect::<Vec<_>>(), "the same files");
    for name in ["experiments.json", "scores.csv", "summary.json", "report.html", "figures/index.json"] {
        assert!(names.contains(&&PathBuf::from(name)), "{name} is written");
    }
    assert!(names.iter().any(|p| p.starts_with("figures/sheets") && p.extension().unwrap() == "svg"));
    assert!(names.iter().any(|p| p.starts_with("figures/thumbs")));
    for ((name, x), (_, y)) in ta.iter().zip(&tb) {
        assert!(x == y, "{} differs between two runs with the same seed", name.display());
    }
    let summary = std::fs::read_to_string(a.path().join("summary.json")).unwrap();
    assert!(!summary.contains("time_s"), "no wall time in summary.json");
    let report = std::fs::read_to_string(a.path().join("report.html")).unwrap();
    assert!(!report.contains("run time"));

    // `ccc report` twice writes the same page (and the same as `analyze` did).
    let report_of = |dir: &Path| {
        ccc().arg("report").arg(dir).assert().success();
        std::fs::read(dir.join("report.html")).unwrap()
    };
    let first = report_of(a.path());
    assert!(first == report_of(a.path()), "`ccc report` twice gives the same report.html");
    assert!(first == std::fs::read(b.path().join("report.html")).unwrap());
}

#[test]
fn timings_are_recorded_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    analyze(tmp.path(), &["--pipelines", "17", "--figures", "none"]);
    let sum = read_json(&tmp.path().join("summary.json"));
    assert!(sum["run_time_s"].is_number() && sum["phase_times_s"]["prep"].is_number());
    assert!(sum["pipelines"][0]["time_s"].is_number());
    assert_eq!(sum["format"], "ccc-analysis/1");
    let report = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(report.contains("<dt>run time</dt>"));
}

/// `ccc report DIR` on a damaged analysis: exit 1 and one `error:` line naming the file and the field.
fn report_fails(dir: &Path) -> String {
    let out = ccc().arg("report").arg(dir).assert().failure().code(1).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

#[test]
fn report_names_the_file_and_field_of_a_damaged_analysis() {
    let tmp = tempfile::tempdir().unwrap();
    analyze(tmp.path(), &["--pipelines", "17", "--figures", "none", "--no-report"]);
    let exp_path = tmp.path().join("experiments.json");
    let good = std::fs::read_to_string(&exp_path).unwrap();
    let exp_name = exp_path.display().to_string();

    // Issue 20: renaming `scores` used to give a report with empty scores.
    std::fs::write(&exp_path, good.replacen("\"scores\":", "\"points\":", 1)).unwrap();
    let err = report_fails(tmp.path());
    assert!(err.contains(&format!("`{exp_name}`")) && err.contains("missing field `scores`"), "{err}");
    assert!(err.contains("at `experiments[0]`"), "{err}");

    std::fs::write(&exp_path, good.replacen("ccc-analysis/1", "ccc-analysis/2", 1)).unwrap();
    let err = report_fails(tmp.path());
    assert!(
        err.contains(&format!("`{exp_name}` is format `ccc-analysis/2`; this ccc reads `ccc-analysis/1`")),
        "{err}"
    );

    std::fs::write(&exp_path, good.replacen("\"fraction\":", "\"fraction\":\"high\",\"was\":", 1)).unwrap();
    let err = report_fails(tmp.path());
    assert!(err.contains("at `experiments[0].scores.fraction`: invalid type: string \"high\""), "{err}");

    std::fs::write(&exp_path, good.replacen("\"status\":\"", "\"status\":\"x", 1)).unwrap();
    let err = report_fails(tmp.path());
    assert!(err.contains("at `experiments[0].status`: unknown variant"), "{err}");

    // The summary and the figures' index are checked the same way.
    std::fs::write(&exp_path, &good).unwrap();
    let sum_path = tmp.path().join("summary.json");
    let sum = std::fs::read_to_string(&sum_path).unwrap();
    std::fs::write(&sum_path, sum.replacen("\"consensus\"", "\"agreement\"", 1)).unwrap();
    let err = report_fails(tmp.path());
    assert!(err.contains("summary.json`") && err.contains("missing field `consensus`"), "{err}");
    std::fs::write(&sum_path, &sum).unwrap();
    ccc().arg("report").arg(tmp.path()).assert().success();

    // `plot sheet --experiment` reads through the same types.
    std::fs::write(&exp_path, good.replacen("\"scores\":", "\"points\":", 1)).unwrap();
    let out = ccc()
        .args(["plot", "sheet"])
        .arg(golden("synthetic-small.safetensors"))
        .args(["--experiment", "0", "--analysis"])
        .arg(tmp.path())
        .arg("-o")
        .arg(tmp.path().join("s.png"))
        .assert()
        .failure()
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("missing field `scores`") && err.contains("experiments.json"), "{err}");
}

#[test]
fn pipeline_selection_steps_and_aggregation() {
    let tmp = tempfile::tempdir().unwrap();
    analyze(tmp.path(), &["--pipelines", "folding*", "--agg", "pooled", "--grid", "50"]);
    let sum = read_json(&tmp.path().join("summary.json"));
    assert_eq!(sum["pipelines"].as_array().unwrap().len(), 26);
    assert_eq!(sum["options"]["aggregation"], "pooled");
    assert_eq!(sum["options"]["grid"], 50);
    // 16 joint pipelines + 7 × (16 kept + 2 comps-only + 3 groupings).
    let n = read_json(&tmp.path().join("experiments.json"))["experiments"].as_array().unwrap().len();
    assert_eq!(n, 16 + 7 * (16 + 2 + 2 + 3));

    // Two checkpoints: irregularity is undefined, said so per experiment.
    let tmp2 = tempfile::tempdir().unwrap();
    ccc()
        .arg("analyze")
        .arg(golden("synthetic-small.safetensors"))
        .args(["-o", tmp2.path().to_str().unwrap(), "--steps", "0,11000", "--pipelines", "17"])
        .assert()
        .success()
        .stderr(contains("irregularity needs at least 3"));
    let exp = read_json(&tmp2.path().join("experiments.json"));
    for e in exp["experiments"].as_array().unwrap() {
        assert!(e["scores"]["irregularity"].is_null());
        assert_eq!(e["status"], "degenerate");
        assert!(e["error"].as_str().unwrap().contains("irregularity is undefined with 2 checkpoints"));
    }
}

#[test]
fn extra_pipelines_from_a_toml_file() {
    let tmp = tempfile::tempdir().unwrap();
    let toml = tmp.path().join("p.toml");
    std::fs::write(&toml, "[[pipeline]]\nsteps = [\"median\", \"cols_l2_normalize\", \"dhillon\"]\n").unwrap();
    let out = tmp.path().join("out");
    analyze(&out, &["--pipelines-file", toml.to_str().unwrap(), "--pipelines", "41"]);
    let sum = read_json(&out.join("summary.json"));
    let p = &sum["pipelines"][0];
    assert_eq!(p["index"], 41);
    assert_eq!(
        p["method"],
        "instructions[(_inp111_data101, median), (_inp101_data101, normalize_cols_byL2), (_inp101_out101, bipartition_Dh_normalizeFalse)]"
    );
    std::fs::write(&toml, "[[pipeline]]\nsteps = [\"median\", \"rows_l2\"]\n").unwrap();
    ccc()
        .arg("analyze")
        .arg(golden("synthetic-small.safetensors"))
        .args(["-o", out.to_str().unwrap(), "--pipelines-file", toml.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(contains("follow it with `mad`"));
}

#[test]
fn bad_options_say_how_to_fix_them() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        ccc().arg("analyze").arg(golden("synthetic-small.safetensors")).arg("-o").arg(tmp.path()).args(args).assert()
    };
    run(&["--grid", "0"]).failure().stderr(contains("grid must be at least 1"));
    run(&["--pipelines", "nothing-like-this"]).failure().stderr(contains("no pipeline matches"));
    run(&["--steps", "5..1"]).failure().stderr(contains("bad --steps"));
    run(&["--steps", "99999"]).failure().stderr(contains("keeps none of the 12 filled checkpoints"));
    run(&["--agg", "mean"]).failure().stderr(contains("possible values"));
}

#[test]
fn non_finite_input_names_the_first_bad_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let mut t = ccc_core::file::read(&golden("synthetic-small.safetensors")).unwrap();
    let i = t.index(5, 3, 2);
    t.mags[i] = f32::NAN;
    let bad = tmp.path().join("bad.safetensors");
    ccc_core::file::write(&bad, &t).unwrap();
    ccc()
        .arg("analyze")
        .arg(&bad)
        .args(["-o", tmp.path().join("out").to_str().unwrap()])
        .assert()
        .failure()
        .stderr(contains("L0.H0.Q"))
        .stderr(contains("3000"));
}

#[test]
fn score_reproduces_golden_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let g = read_json(&golden("golden-small.json"));
    let picks: Vec<Value> = g["experiments"].as_array().unwrap()[..5].iter().map(|e| e["groups"].clone()).collect();
    let gfile = tmp.path().join("g.json");
    std::fs::write(&gfile, serde_json::to_string(&picks).unwrap()).unwrap();
    let out = ccc()
        .arg("score")
        .arg(golden("synthetic-small.safetensors"))
        .args(["--groups", gfile.to_str().unwrap(), "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let got: Value = serde_json::from_slice(&out).unwrap();
    let got = got.as_array().unwrap();
    assert_eq!(got.len(), 5);
    for (i, s) in got.iter().enumerate() {
        let want = &g["experiments"][i]["scores"];
        assert_eq!(s["fraction"], want["fraction"]);
        let (a, b) = (s["irregularity"].as_f64().unwrap(), want["irregularity"].as_f64().unwrap());
        assert!((a - b).abs() <= 1e-4, "{i}: {a} vs {b}");
    }
}

#[test]
fn score_by_component_globs() {
    let f = golden("synthetic-small.safetensors");
    ccc()
        .arg("score")
        .arg(&f)
        .args(["--grp1", "L*.H*.Q", "--grp2", "L*.mlp_in", "--outliers", "MAD-union-dif"])
        .assert()
        .success()
        .stdout(contains("irregularity"))
        .stdout(contains("fraction"));
    ccc()
        .arg("score")
        .arg(&f)
        .args(["--grp1", "L*.H*.Q", "--grp2", "L*.mlp_in"])
        .assert()
        .failure()
        .stderr(contains("--outliers"));
    ccc()
        .arg("score")
        .arg(&f)
        .args(["--grp1", "nope*", "--grp2", "L*.mlp_in", "--outliers", "MAD-last-sum"])
        .assert()
        .failure()
        .stderr(contains("matches no component"));
    ccc()
        .arg("score")
        .arg(&f)
        .args(["--grp1", "L*.H*.Q", "--grp2", "L*.mlp_in", "--outliers", "MAD-nope"])
        .assert()
        .failure()
        .stderr(contains("MAD-union-lincomb"));
}

/// Issue 24: `ccc analyze --shard I/N` then `ccc merge` of the directories writes the files of one run, byte for
/// byte; in any order of the directories, blockwise or in memory.
#[test]
fn sharded_analysis_merges_into_the_files_of_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for reading in ["auto", "blockwise"] {
        let one = t.join(format!("one-{reading}"));
        analyze(&one, &["--no-timings", "--figures", "none", "--no-report", "--reading", reading, "--block-mib", "1"]);
        let parts: Vec<PathBuf> = (1..=3).map(|i| t.join(format!("{reading}-part{i}"))).collect();
        for (i, p) in parts.iter().enumerate() {
            let shard = format!("{}/3", i + 1);
            analyze(p, &["--no-timings", "--shard", &shard, "--reading", reading, "--block-mib", "1"]);
            assert!(p.join("partial.json").is_file() && !p.join("experiments.json").exists());
        }
        let merged = t.join(format!("merged-{reading}"));
        ccc().arg("merge").args(parts.iter().rev()).arg("-o").arg(&merged).arg("--quiet").assert().success();
        for f in ["experiments.json", "scores.csv", "summary.json"] {
            assert!(std::fs::read(one.join(f)).unwrap() == std::fs::read(merged.join(f)).unwrap(), "{reading}: {f}");
        }
    }
    // A missing shard, a file mixed with directories, a bad shard number: one clear line each.
    let p = |i: usize| t.join(format!("auto-part{i}"));
    ccc()
        .args(["merge"])
        .args([p(1), p(2)])
        .arg("-o")
        .arg(t.join("x"))
        .assert()
        .failure()
        .stderr(contains("missing shard(s) 3/3"));
    ccc()
        .args(["merge"])
        .arg(p(1))
        .arg(golden("synthetic-small.safetensors"))
        .arg("-o")
        .arg(t.join("x"))
        .assert()
        .failure()
        .stderr(contains("not both"));
    ccc()
        .arg("analyze")
        .arg(golden("synthetic-small.safetensors"))
        .args(["-o", "unused", "--shard", "0/3"])
        .assert()
        .failure()
        .stderr(contains("shards are numbered 1/N to N/N"));
}

/// Issue 24: `--resumable N` writes the files of one run and leaves no state behind; a part left by a killed run
/// (here: a shard's partial.json put in place) is kept.
#[test]
fn resumable_analysis_resumes_and_equals_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let one = t.join("one");
    analyze(&one, &["--no-timings", "--figures", "none", "--no-report"]);
    let out = t.join("resumed");
    analyze(&out.join(".ccc-resume/part-0001"), &["--no-timings", "--shard", "1/2"]);
    ccc()
        .arg("analyze")
        .arg(golden("synthetic-small.safetensors"))
        .arg("-o")
        .arg(&out)
        .args(["--no-timings", "--figures", "none", "--no-report", "--resumable", "2"])
        .assert()
        .success()
        .stderr(contains("part 1/2: kept"));
    for f in ["experiments.json", "scores.csv", "summary.json"] {
        assert!(std::fs::read(one.join(f)).unwrap() == std::fs::read(out.join(f)).unwrap(), "{f}");
    }
    assert!(!out.join(".ccc-resume").exists());
}
