//! `ccc summarize`, `inspect`, `info` and `merge` from the command line: outputs, exit codes, one-line errors.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    repo().join("tests/data/fixtures")
}

fn ccc() -> Command {
    Command::cargo_bin("ccc").unwrap()
}

/// Runs `ccc args…`, expects failure, and returns stderr, checking it is one `error:` line.
fn fails(args: &[&str]) -> String {
    let out = ccc().args(args).output().unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{args:?}: {err}");
    err
}

#[test]
fn summarize_both_modes_then_info_and_resume() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("neox.safetensors");
    let input = fixtures().join("tiny-neox");
    ccc()
        .args(["summarize", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--mode", "full,compact"])
        .args(["--steps", "0..64", "--quiet"])
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    let full = d.path().join("neox.full.safetensors");
    let compact = d.path().join("neox.compact.safetensors");
    assert!(full.is_file() && compact.is_file() && !out.exists());
    let t = ccc_core::file::read(&full).unwrap();
    assert_eq!(t.steps, vec![0, 1, 2, 4, 8, 16, 32, 64]);
    assert_eq!(t.meta.model, "tiny-neox");
    // The file is what the reference implementation computed.
    let reference = ccc_core::file::read(&fixtures().join("tiny-neox-full.ccc.safetensors")).unwrap();
    for (ti, &s) in t.steps.iter().enumerate() {
        let rt = reference.step_index(s).unwrap();
        for (a, b) in t.column(ti).iter().zip(reference.column(rt)) {
            assert!((a - b).abs() <= 1e-5 * b.abs().max(1e-30), "step {s}: {a} vs {b}");
        }
    }

    ccc()
        .args(["info", full.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("gpt_neox"))
        .stdout(predicate::str::contains("mags [64, 8, 42]"))
        .stdout(predicate::str::contains("filled        all 8"))
        .stdout(predicate::str::contains("Q:    8 (L0–L1 × H0–H3), length 16"));

    // Run again with all steps: only the new ones are computed.
    ccc()
        .args(["summarize", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--mode", "full,compact"])
        .assert()
        .success()
        .stderr(predicate::str::contains("8 already there"));
    assert_eq!(ccc_core::file::read_header(&compact).unwrap().steps.len(), 14);
}

#[test]
fn shards_then_merge() {
    let d = tempfile::tempdir().unwrap();
    let input = fixtures().join("tiny-llama");
    let mut parts = Vec::new();
    for i in 1..=2 {
        let p = d.path().join(format!("part{i}.safetensors"));
        ccc()
            .args(["summarize", input.to_str().unwrap(), "-o", p.to_str().unwrap(), "--shard", &format!("{i}/2"), "-q"])
            .assert()
            .success();
        parts.push(p);
    }
    let all = d.path().join("all.safetensors");
    ccc()
        .args(["merge", parts[0].to_str().unwrap(), parts[1].to_str().unwrap(), "-o", all.to_str().unwrap(), "-q"])
        .assert()
        .success();
    let t = ccc_core::file::read(&all).unwrap();
    assert_eq!(t.steps, vec![0, 200, 400]);
    assert!(t.filled.iter().all(|&f| f));
    // Different runs do not merge.
    let other = d.path().join("neox.safetensors");
    ccc()
        .args(["summarize", fixtures().join("tiny-neox/step0").to_str().unwrap(), "-o", other.to_str().unwrap(), "-q"])
        .assert()
        .success();
    let err =
        fails(&["merge", all.to_str().unwrap(), other.to_str().unwrap(), "-o", d.path().join("x").to_str().unwrap()]);
    assert!(err.contains("cannot merge"), "{err}");
}

#[test]
fn inspect_lists_components_and_ignored_tensors() {
    ccc()
        .args(["inspect", fixtures().join("tiny-qwen2/step400").to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("architecture  qwen2"))
        .stdout(predicate::str::contains("tied embeddings"))
        .stdout(predicate::str::contains("K:    4 (L0–L1 × H0–H1), length 16"))
        .stdout(predicate::str::contains("model.layers.0.self_attn.q_proj.bias: not a component weight"));
}

/// Output into a pipe whose reader has gone (`ccc inspect DIR | head -1`) ends the command quietly, as for any
/// Unix filter, not with a panic about a broken pipe.
#[test]
#[cfg(unix)]
fn a_closed_pipe_ends_output_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let bin = assert_cmd::cargo::cargo_bin("ccc");
    let dir = fixtures().join("tiny-neox/step0");
    for _ in 0..5 {
        let mut child = std::process::Command::new(&bin)
            .args(["inspect", dir.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes before the first line is written (almost always)
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
        assert!(out.status.success() || out.status.signal() == Some(13), "{:?}", out.status);
    }
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o.safetensors");
    let o = out.to_str().unwrap();
    let bad = repo().join("tests/data/bad/safetensors");
    let b = |n: &str| bad.join(n).to_str().unwrap().to_string();
    for (args, want) in [
        (vec!["summarize", "/nonexistent/run", "-o", o], "no such directory"),
        (vec!["summarize", &b("ckpt-no-config"), "-o", o], "no config.json"),
        (vec!["summarize", &b("ckpt-no-weights"), "-o", o], "no weights"),
        (vec!["summarize", &b("ckpt-truncated"), "-o", o], "truncated"),
        (vec!["summarize", &b("ckpt-config-contradicts"), "-o", o], "implies"),
        (vec!["summarize", &b("ckpt-nonfinite"), "-o", o], "--allow-nonfinite"),
        (vec!["summarize", &b("ckpt-index-missing-shard"), "-o", o], "does not exist"),
        (vec!["summarize", &b("ckpt-good"), "-o", o, "--mode", "fast"], "unknown mode `fast`"),
        (vec!["summarize", &b("ckpt-good"), "-o", o, "--summary", "mean"], "unknown summary `mean`"),
        (vec!["summarize", &b("ckpt-good"), "-o", o, "--steps", "5..1"], "bad step selection"),
        (vec!["summarize", &b("ckpt-good"), "-o", o, "--shard", "3/2"], "bad shard"),
        (vec!["summarize", &b("ckpt-good"), "-o", "/nonexistent/dir/o.safetensors"], "does not exist"),
        (vec!["summarize", &b("ckpt-good"), &b("ckpt-good"), "-o", o], "two checkpoints have step 0"),
        (vec!["info", &b("bad-json.safetensors")], "bad-json.safetensors"),
    ] {
        let err = fails(&args);
        assert!(err.contains(want), "{args:?}: expected `{want}` in {err}");
        assert!(!out.exists(), "{args:?}: output left behind");
    }
    // Unknown architecture: names the model_type and shows a mapping file.
    let err = String::from_utf8(ccc().args(["summarize", &b("ckpt-unknown-arch"), "-o", o]).output().unwrap().stderr)
        .unwrap();
    assert!(err.contains("model_type `mamba`") && err.contains("--arch") && err.contains("[[tensors]]"), "{err}");
    // --allow-nonfinite continues, with a warning naming the tensor.
    ccc()
        .args(["summarize", &b("ckpt-nonfinite"), "-o", o, "--allow-nonfinite", "-q"])
        .assert()
        .success()
        .stderr(predicate::str::contains("warning: step 0: tensor `gpt_neox.layers.0.mlp.dense_4h_to_h.weight`"));
}

#[test]
fn verbose_lists_skipped_directories() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o.safetensors");
    ccc()
        .args(["summarize", fixtures().join("tiny-gpt2").to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--steps", "0,400,600", "--verbose"])
        .assert()
        .success()
        .stderr(predicate::str::contains("tokenizer (no step number in its name)"))
        .stderr(predicate::str::contains("not selected by --steps"))
        .stderr(predicate::str::contains("warning: --steps names steps that were not found: 600"));
}

/// `--no-mmap` reads with positioned reads instead of memory maps: the same bytes out.
#[test]
fn no_mmap_gives_the_same_file() {
    let d = tempfile::tempdir().unwrap();
    for name in ["tiny-neox", "tiny-llama"] {
        let input = fixtures().join(name);
        let mut files = Vec::new();
        for flags in [&[][..], &["--no-mmap"][..]] {
            let out = d.path().join(format!("{name}{}.safetensors", flags.len()));
            ccc()
                .args(["summarize", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--quiet"])
                .args(flags)
                .assert()
                .success();
            files.push(std::fs::read(&out).unwrap());
        }
        assert!(files[0] == files[1], "{}: --no-mmap changed the output", input.display());
    }
}

/// A run directory in `dir` whose subdirectories are tiny-neox checkpoints under other names (`None`: an empty
/// directory).
fn renamed_run(dir: &Path, names: &[(&str, Option<i64>)]) {
    for (name, step) in names {
        let to = dir.join(name);
        std::fs::create_dir_all(&to).unwrap();
        if let Some(step) = step {
            for f in ["config.json", "model.safetensors"] {
                std::fs::copy(fixtures().join(format!("tiny-neox/step{step}")).join(f), to.join(f)).unwrap();
            }
        }
    }
}

/// Regression (issue 20): a local run directory of OLMo-2-style folders failed ("neither a checkpoint nor a parent
/// of step directories"), and the annealing ingredients, which repeat step numbers, were passed over silently.
/// Now the series are named, `--revisions` chooses one as it does on the hub, and every skipped folder is named.
#[test]
fn olmo2_run_directories_and_series_choice() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("olmo2");
    renamed_run(
        &run,
        &[
            ("stage1-step0-tokens0B", Some(0)),
            ("stage1-step1000-tokens5B", Some(1000)),
            ("stage2-ingredient1-step0-tokens0B", Some(1)),
            ("stage2-ingredient1-step1000-tokens5B", Some(2)),
            ("stage2-ingredient2-step1000-tokens5B", Some(4)),
            ("stage1-step2000-tokens9B", None),
            ("tokenizer", None),
        ],
    );
    let out = d.path().join("o.safetensors");
    let (r, o) = (run.to_str().unwrap(), out.to_str().unwrap());
    let err = fails(&["summarize", r, "-o", o]);
    assert!(err.contains("`stage2-ingredient1-step*-tokens*` (2 names, steps 0..1000)"), "{err}");
    assert!(err.contains("--revisions 'stage1-step*-tokens*'"), "{err}");
    assert!(!out.exists());

    ccc().args(["summarize", r, "-o", o, "--revisions", "stage2-ingredient1-*", "-q"]).assert().success();
    let t = ccc_core::file::read(&out).unwrap();
    assert_eq!(t.steps, [0, 1000]);
    // The ingredient's step-1000 folder holds tiny-neox step 2: the same column as summarizing that one.
    let one = d.path().join("one.safetensors");
    let step2 = fixtures().join("tiny-neox/step2");
    ccc().args(["summarize", step2.to_str().unwrap(), "-o", one.to_str().unwrap(), "-q"]).assert().success();
    assert_eq!(t.column(1), ccc_core::file::read(&one).unwrap().column(0));

    // The first stage alone, with one notice naming every folder passed over and why.
    let out1 = d.path().join("s1.safetensors");
    let assert =
        ccc().args(["summarize", r, "-o", out1.to_str().unwrap(), "--revisions", "stage1-*"]).assert().success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let notice: Vec<&str> = stderr.lines().filter(|l| l.contains("skipped")).collect();
    assert_eq!(notice.len(), 1, "one notice: {stderr}");
    assert!(notice[0].contains("skipped 2 subdirectories"), "{stderr}");
    assert!(notice[0].contains("stage1-step2000-tokens9B (no config.json)"), "{stderr}");
    assert!(notice[0].contains("tokenizer (no step number in its name)"), "{stderr}");
    assert_eq!(ccc_core::file::read(&out1).unwrap().steps, [0, 1000]);
}

/// Issue 25: a PEFT LoRA run against its base, merged and delta; a run of adapters without `--base` is one
/// error saying what to give.
#[test]
fn lora_runs_merged_and_delta() {
    let d = tempfile::tempdir().unwrap();
    let run = fixtures().join("lora/tiny-llama-lora");
    let base = fixtures().join("tiny-llama/step400");
    let mut comps = Vec::new();
    for mode in ["merged", "delta"] {
        let out = d.path().join(format!("{mode}.safetensors"));
        ccc()
            .args(["summarize", run.to_str().unwrap(), "--base", base.to_str().unwrap(), "--adapter", mode])
            .args(["-o", out.to_str().unwrap(), "--quiet"])
            .assert()
            .success();
        let t = ccc_core::file::read(&out).unwrap();
        assert_eq!(t.steps, vec![0, 10, 20]);
        // The file says what its values are, and `info` shows it.
        assert_eq!(t.meta.extra.get("adapter").map(String::as_str), Some(mode));
        assert!(t.meta.extra["adapter_base"].ends_with("tiny-llama/step400"));
        let info = ccc().args(["info", out.to_str().unwrap()]).output().unwrap();
        assert!(String::from_utf8(info.stdout).unwrap().contains(&format!("({mode}) on base")));
        comps.push(t.n_comp());
    }
    assert_eq!(comps, [34, 16]);
    let err = fails(&["summarize", run.to_str().unwrap(), "-o", d.path().join("x.safetensors").to_str().unwrap()]);
    assert!(err.contains("adapter_config.json") && err.contains("--base"), "{err}");
    // The base the adapters name (a path relative to the repository): offered as a hub id where it is no
    // directory (here, from the crate's directory), as a directory where it is one.
    assert!(err.contains("--base hf:tests/data/fixtures/tiny-llama/step400 if that is a hub model"), "{err}");
    let out = ccc()
        .current_dir(repo())
        .args(["summarize", run.to_str().unwrap(), "-o", d.path().join("x.safetensors").to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--base tests/data/fixtures/tiny-llama/step400)"), "{err}");
    let err = fails(&[
        "summarize",
        run.to_str().unwrap(),
        "--base",
        fixtures().join("tiny-olmo/step400").to_str().unwrap(),
        "-o",
        d.path().join("y.safetensors").to_str().unwrap(),
    ]);
    assert!(err.contains("do not fit"), "{err}");
}

#[test]
fn inspect_shows_experts_router_and_adapters() {
    let moe = fixtures().join("tiny-qwen2-moe/step2");
    ccc()
        .args(["inspect", moe.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("4 experts per MoE layer"))
        .stdout(predicate::str::contains("mlp_in:   10 (L0–L1 × E0–E3, 2 dense/shared)"))
        .stdout(predicate::str::contains("router:    2 (L0–L1), length 4"));
    let run = fixtures().join("lora/tiny-llama-rslora");
    let base = fixtures().join("tiny-llama/step400");
    ccc()
        .args(["inspect", run.to_str().unwrap(), "--base", base.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("rsLoRA"))
        .stdout(predicate::str::contains("regex `.*\\.(k_proj|o_proj|up_proj)`"))
        .stdout(predicate::str::contains(
            "model.layers.1.mlp.up_proj.weight [176, 64]: rank 8, scale 1.4142 → L1.mlp_in",
        ));
}

#[test]
fn watch_follows_a_peft_run_against_its_base() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    for s in [0, 10, 20] {
        let (src, dst) =
            (fixtures().join(format!("lora/tiny-llama-lora/checkpoint-{s}")), run.join(format!("checkpoint-{s}")));
        std::fs::create_dir_all(&dst).unwrap();
        for f in ["adapter_config.json", "adapter_model.safetensors"] {
            std::fs::copy(src.join(f), dst.join(f)).unwrap();
        }
    }
    let out = d.path().join("live.safetensors");
    let base = fixtures().join("tiny-llama/step400");
    ccc()
        .args(["watch", run.to_str().unwrap(), "-o", out.to_str().unwrap(), "--base", base.to_str().unwrap()])
        .args(["--adapter", "delta", "--idle-exit", "2", "--poll", "0.2", "--quiet"])
        .assert()
        .success();
    let t = ccc_core::file::read(&out).unwrap();
    assert_eq!((t.steps.clone(), t.n_comp()), (vec![0, 10, 20], 16));
    let err = fails(&["watch", run.to_str().unwrap(), "-o", d.path().join("x.safetensors").to_str().unwrap()]);
    assert!(err.contains("PEFT adapters") && err.contains("--base"), "{err}");
}
