//! `ccc summarize hf:…` and `ccc revisions` against a hub on loopback (`HF_ENDPOINT`), the path a user's run takes.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use ccc_hub_testing::{Faults, HubServer, Listing, TestRepo};
use predicates::prelude::*;

const TOKEN: &str = "hf_cli_secret_token";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    root().join("tests/data/fixtures/tiny-neox")
}

/// The tiny-neox series as `org/tiny-neox`; `org/dups` adds `step3000` with step1000's weights; `org/gated` needs
/// the token.
fn repos() -> Vec<TestRepo> {
    let plain = TestRepo::from_step_dirs("org/tiny-neox", &fixtures(), &|s| format!("step{s}")).unwrap();
    let mut dups = TestRepo::from_step_dirs("org/dups", &fixtures(), &|s| format!("step{s}")).unwrap();
    let d = fixtures().join("step1000");
    dups.branch(
        "step3000",
        vec![
            ("config.json".into(), std::fs::read(d.join("config.json")).unwrap()),
            ("model.safetensors".into(), std::fs::read(d.join("model.safetensors")).unwrap()),
        ],
    );
    let gated = TestRepo::from_step_dirs("org/gated", &fixtures(), &|s| format!("step{s}")).unwrap().gated(TOKEN);
    vec![plain, dups, gated]
}

struct Env {
    server: HubServer,
    tmp: tempfile::TempDir,
}

fn env(faults: Faults) -> Env {
    Env { server: HubServer::start_with(repos(), faults).unwrap(), tmp: tempfile::tempdir().unwrap() }
}

impl Env {
    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// `ccc SUBCOMMAND` with the hub conventions pointing at the test server and an empty `HF_HOME`.
    fn ccc(&self, subcommand: &str) -> Command {
        let mut c = Command::cargo_bin("ccc").unwrap();
        c.arg(subcommand)
            .args(["--hub-timeout", "2", "--hub-backoff-ms", "20"])
            .env("HF_HOME", self.path("hf-home"))
            .env("HF_ENDPOINT", self.server.endpoint())
            .env_remove("HF_TOKEN")
            .env_remove("HUGGING_FACE_HUB_TOKEN")
            .env_remove("HF_HUB_CACHE")
            .env_remove("HF_TOKEN_PATH");
        c
    }

    fn cdn_requests(&self) -> usize {
        self.server.requests().iter().filter(|r| r.path.starts_with("/cdn/")).count()
    }
}

/// A safetensors file's JSON header (without its space padding, whose length differs between a file written by a
/// run, which reserves room to update its metadata in place, and one written by `ccc merge`) and its data bytes.
fn split(bytes: &[u8]) -> (&[u8], &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (bytes[8..8 + n].trim_ascii_end(), &bytes[8 + n..])
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const STEPS: &str = "0,4,64,512,1500,2000";

/// The same steps summarized from the fixture directory on disk.
fn from_disk(e: &Env) -> (PathBuf, PathBuf) {
    let out = e.path("disk.safetensors");
    Command::cargo_bin("ccc")
        .unwrap()
        .arg("summarize")
        .arg(fixtures())
        .args(["--steps", STEPS, "--mode", "full,compact", "--model", "org/tiny-neox", "--quiet", "-o"])
        .arg(&out)
        .assert()
        .success();
    (e.path("disk.full.safetensors"), e.path("disk.compact.safetensors"))
}

#[test]
fn summarize_from_the_hub_equals_summarize_from_disk() {
    let e = env(Faults::default());
    let (full, compact) = from_disk(&e);
    for (name, extra) in [("stream", vec![]), ("download", vec!["--no-stream"])] {
        let out = e.path(&format!("{name}.safetensors"));
        e.ccc("summarize")
            .args(["hf:org/tiny-neox", "--steps", STEPS, "--mode", "full,compact", "--quiet", "-o"])
            .arg(&out)
            .args(&extra)
            .assert()
            .success();
        assert!(read(&full) == read(&e.path(&format!("{name}.full.safetensors"))), "{name}: full differs");
        assert!(read(&compact) == read(&e.path(&format!("{name}.compact.safetensors"))), "{name}: compact differs");
    }
    // Nothing left in the hub cache: downloads are deleted once summarized.
    let cache = e.path("hf-home/hub");
    let left: Vec<_> = walk(&cache);
    assert!(left.is_empty(), "{left:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// A hub whose listing has no sizes or hashes (some mirrors): the same bytes out as from disk, and one warning.
#[test]
fn a_listing_without_sizes_gives_the_same_file_and_one_warning() {
    let e = env(Faults { listing: Listing::NamesOnly, ..Faults::default() });
    let (full, _) = from_disk(&e);
    let out = e.path("bare.safetensors");
    let assert = e
        .ccc("summarize")
        .args(["hf:org/tiny-neox", "--steps", STEPS, "--mode", "full,compact", "--quiet", "-o"])
        .arg(&out)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_eq!(err.matches("no sizes or hashes").count(), 1, "{err}");
    assert!(err.contains("6 verified by the sha256"), "{err}");
    assert!(read(&full) == read(&e.path("bare.full.safetensors")));
    let err = e.ccc("revisions").args(["hf:org/tiny-neox", "--steps", "0,4"]).output().unwrap().stderr;
    assert!(String::from_utf8_lossy(&err).contains("no sizes or hashes"));
}

#[test]
fn faults_are_survived_end_to_end() {
    let faults = Faults { cut_once_at: Some(50_000), error_500_once: true, ..Faults::default() };
    let e = env(faults);
    let (full, _) = from_disk(&e);
    let out = e.path("hub.safetensors");
    e.ccc("summarize")
        .args(["hf:org/tiny-neox", "--steps", STEPS, "--mode", "full,compact", "--jobs", "1", "-o"])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("retrying").and(predicate::str::contains("resuming")));
    assert!(read(&full) == read(&e.path("hub.full.safetensors")));
}

#[test]
fn duplicates_are_skipped_before_download_and_recorded() {
    let e = env(Faults::default());
    let out = e.path("dups.safetensors");
    e.ccc("summarize")
        .args(["hf:org/dups", "--steps", "1000,2000,3000", "--jobs", "1", "-o"])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("step 3000 has the same weights as step 1000"));
    // Two distinct weight files were fetched, not three.
    assert_eq!(e.cdn_requests(), 2);
    let t = ccc_core::file::read(&out).unwrap();
    assert_eq!(t.steps, vec![1000, 2000, 3000]);
    assert!(t.meta.duplicates.iter().any(|d| d.step == 3000 && d.same_as == 1000));
    assert_eq!(t.column(2), t.column(0));
    assert_eq!(t.filled, [true, true, true]);
}

#[test]
fn revisions_lists_steps_sizes_and_duplicates() {
    let e = env(Faults::default());
    let size = std::fs::metadata(fixtures().join("step1000/model.safetensors")).unwrap().len();
    let assert = e.ccc("revisions").args(["hf:org/dups"]).assert().success();
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let err = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    let steps: Vec<i64> = out
        .lines()
        .skip(1)
        .filter(|l| l.split_whitespace().nth(1).is_some_and(|r| r.starts_with("step")))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(out.contains("15 revisions"), "{out}");
    assert_eq!(steps, [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1500, 2000, 3000]);
    assert!(out.contains("step3000") && out.contains("(same weights as step1000)"), "{out}");
    assert!(!out.contains(" main "), "branches without a step are not listed: {out}");
    assert!(err.contains("step 3000 (`step3000`) has the same weights as step 1000"), "{err}");
    assert_eq!(e.cdn_requests(), 0, "listing downloads no weights");
    // JSON: sizes from the hub's metadata.
    let assert = e.ccc("revisions").args(["hf:org/dups", "--json", "--steps", "1000..", "--quiet"]).assert().success();
    let rows: Vec<serde_json::Value> = String::from_utf8(assert.get_output().stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["weight_bytes"], size);
    assert_eq!(rows[3]["duplicate_of"], "step1000");
}

#[test]
fn gated_repositories_and_tokens() {
    let e = env(Faults::default());
    let out = e.path("gated.safetensors");
    // No token: one clear line saying how to pass one.
    e.ccc("summarize")
        .args(["hf:org/gated@step16", "-o"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicate::str::contains("HF_TOKEN").and(predicate::str::contains("huggingface-cli login")))
        .stderr(predicate::function(|s: &str| s.lines().filter(|l| l.starts_with("error")).count() == 1));
    assert!(!out.exists());
    // HF_TOKEN works and is never printed.
    let a = e.ccc("summarize").env("HF_TOKEN", TOKEN).args(["hf:org/gated@step16", "-o"]).arg(&out).assert().success();
    let o = a.get_output();
    assert!(!String::from_utf8_lossy(&o.stderr).contains(TOKEN) && !String::from_utf8_lossy(&o.stdout).contains(TOKEN));
    // So does the token file under HF_HOME (as `huggingface-cli login` writes it).
    std::fs::create_dir_all(e.path("hf-home")).unwrap();
    std::fs::write(e.path("hf-home/token"), format!("{TOKEN}\n")).unwrap();
    e.ccc("summarize").args(["hf:org/gated@step32", "-o"]).arg(e.path("g2.safetensors")).assert().success();
    // A wrong token is refused without echoing it.
    e.ccc("summarize")
        .env("HF_TOKEN", "hf_wrong_one")
        .args(["hf:org/gated@step32", "-o"])
        .arg(e.path("g3.safetensors"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("refused the token").and(predicate::str::contains("hf_wrong_one").not()));
    // The token never left the hub's origin.
    let reqs = e.server.requests();
    assert!(reqs.iter().filter(|r| r.path.starts_with("/cdn/")).all(|r| !r.authorized));
}

#[test]
fn missing_revision_lists_near_names() {
    let e = env(Faults::default());
    e.ccc("summarize")
        .args(["hf:org/tiny-neox@step1100", "-o"])
        .arg(e.path("x.safetensors"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("no revision `step1100`").and(predicate::str::contains("step1000, step1500")));
    e.ccc("summarize")
        .args(["hf:org/tiny-neox@main", "-o"])
        .arg(e.path("x.safetensors"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("carries no step number"));
    e.ccc("summarize")
        .args(["hf:org/tiny-neox", "--revision-template", "iter", "-o"])
        .arg(e.path("x.safetensors"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("--revision-template"));
}

/// The Slurm array script, run as three array tasks (fake `SLURM_ARRAY_*`) and its merge step, equals one process.
#[test]
fn slurm_array_of_three_shards_then_merge_equals_one_process() {
    let e = env(Faults::default());
    let one = e.path("one.safetensors");
    e.ccc("summarize")
        .args(["hf:org/tiny-neox", "--steps", "..2000", "--mode", "full,compact", "--quiet", "-o"])
        .arg(&one)
        .assert()
        .success();
    let script = root().join("scripts/slurm/ccc-array.sbatch");
    let ccc = assert_cmd::cargo::cargo_bin("ccc");
    let parts = e.path("parts");
    for task in 0..3 {
        let status = StdCommand::new("bash")
            .arg(&script)
            .arg("hf:org/tiny-neox")
            .arg(&parts)
            .args(["--steps", "..2000", "--mode", "full,compact", "--quiet"])
            .args(["--hub-timeout", "2"])
            .env("CCC", &ccc)
            .env("SLURM_ARRAY_TASK_ID", task.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .env("SLURM_ARRAY_JOB_ID", "4242")
            .env("TMPDIR", e.tmp.path())
            .env("HF_ENDPOINT", e.server.endpoint())
            .env("HF_HOME", e.path("hf-home"))
            .env_remove("HF_TOKEN")
            .env_remove("HF_HUB_CACHE")
            .status()
            .unwrap();
        assert!(status.success(), "task {task}");
    }
    for i in 1..=3 {
        let t = ccc_core::file::read(&parts.join(format!("part-{i:04}.full.safetensors"))).unwrap();
        assert!(t.filled.iter().filter(|&&f| f).count() >= 4, "shard {i} is balanced: {:?}", t.steps);
    }
    let merged = e.path("merged.safetensors");
    let status = StdCommand::new("bash")
        .arg(&script)
        .arg("--merge")
        .arg(&parts)
        .arg(&merged)
        .env("CCC", &ccc)
        .env("CCC_EXPECT_PARTS", "3")
        .status()
        .unwrap();
    assert!(status.success());
    for mode in ["full", "compact"] {
        let (one, merged) =
            (read(&e.path(&format!("one.{mode}.safetensors"))), read(&e.path(&format!("merged.{mode}.safetensors"))));
        let (a, b) = (split(&one), split(&merged));
        assert!(
            a.0 == b.0,
            "{mode}: headers differ:\n{}\n{}",
            String::from_utf8_lossy(a.0),
            String::from_utf8_lossy(b.0)
        );
        assert!(a.1 == b.1, "{mode}: merged shards' data differ from one process");
    }
    // Per-task download directories are cleaned up.
    assert!(!e.path("ccc-4242-0").exists());
}

/// The same `--revisions` glob chooses a series on the hub as in a local run directory; the revisions passed over
/// are named in one notice, and mixing series is one clear error.
#[test]
fn revisions_glob_chooses_a_series_on_the_hub() {
    let mut repo = TestRepo::new("org/olmo2");
    for (name, step) in [
        ("stage1-step0-tokens0B", 0),
        ("stage1-step1000-tokens5B", 1000),
        ("stage2-ingredient1-step0-tokens0B", 1),
        ("stage2-ingredient1-step1000-tokens5B", 2),
        ("stage2-ingredient2-step1000-tokens5B", 4),
        ("it-SFT", 0),
    ] {
        let d = fixtures().join(format!("step{step}"));
        repo.branch(
            name,
            ["config.json", "model.safetensors"].iter().map(|f| (f.to_string(), read(&d.join(f)))).collect(),
        );
    }
    let e = Env { server: HubServer::start(vec![repo]).unwrap(), tmp: tempfile::tempdir().unwrap() };
    let out = e.path("o.safetensors");
    let assert = e.ccc("summarize").args(["hf:org/olmo2", "-o"]).arg(&out).assert().failure();
    let err = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_eq!(err.lines().filter(|l| l.starts_with("error:")).count(), 1, "{err}");
    assert!(
        err.contains("`stage2-ingredient2-step*-tokens*` (1 name, step 1000)") && err.contains("--revisions"),
        "{err}"
    );
    assert!(!out.exists());

    let assert = e
        .ccc("summarize")
        .args(["hf:org/olmo2", "--revisions", "stage2-ingredient1-*", "-o"])
        .arg(&out)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        err.contains("hf:org/olmo2: skipped 2 revisions: it-SFT (no step number in its name), main (no step"),
        "{err}"
    );
    assert_eq!(ccc_core::file::read(&out).unwrap().steps, [0, 1000]);

    // `ccc revisions` lists every series, and says that summarizing needs one chosen.
    let assert = e.ccc("revisions").arg("hf:org/olmo2").assert().success();
    let o = assert.get_output();
    assert!(String::from_utf8_lossy(&o.stdout).contains("5 revisions"));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("for `ccc summarize`: the checkpoints found belong to 3 series")
    );
}

/// `ccc summarize RUN --base BASE FLAGS -o OUT` with everything local: what the hub runs are compared with.
fn summarize_adapters_locally(run: &Path, base: &Path, flags: &[&str], out: &Path) {
    Command::cargo_bin("ccc")
        .unwrap()
        .arg("summarize")
        .arg(run)
        .arg("--base")
        .arg(base)
        .args(flags)
        .args(["--quiet", "-o"])
        .arg(out)
        .assert()
        .success();
}

#[test]
fn a_lora_base_from_the_hub_is_downloaded_once_and_gives_the_local_bits() {
    let llama = root().join("tests/data/fixtures/tiny-llama/step400");
    let mut repo = TestRepo::new("org/tiny-llama");
    let files = ["config.json", "model.safetensors"].map(|f| (f.to_string(), read(&llama.join(f))));
    repo.branch("main", files.to_vec());
    let e = Env { server: HubServer::start(vec![repo]).unwrap(), tmp: tempfile::tempdir().unwrap() };
    let run = root().join("tests/data/fixtures/lora/tiny-llama-lora");
    let local = e.path("local.safetensors");
    summarize_adapters_locally(&run, &llama, &["--adapter", "merged"], &local);
    for round in 0..2 {
        let out = e.path(&format!("hub{round}.safetensors"));
        e.ccc("summarize")
            .arg(&run)
            .args(["--base", "hf:org/tiny-llama", "--adapter", "merged", "--quiet", "-o"])
            .arg(&out)
            .assert()
            .success();
        assert!(split(&read(&local)).1 == split(&read(&out)).1, "round {round}: values differ from the local base's");
        // The base stays in the hub cache, as huggingface_hub lays it out, and is not fetched again.
        assert_eq!(e.cdn_requests(), 1, "round {round}: the weights are downloaded once");
    }
    let repo_dir = e.path("hf-home/hub/models--org--tiny-llama");
    let commit = std::fs::read_to_string(repo_dir.join("refs/main")).unwrap();
    let snapshot = repo_dir.join("snapshots").join(&commit);
    assert!(read(&snapshot.join("model.safetensors")) == read(&llama.join("model.safetensors")));
    // Offline (no hub at the endpoint), the cached snapshot of the revision is used.
    let offline = e.path("offline.safetensors");
    e.ccc("summarize")
        .arg(&run)
        .args(["--base", "hf:org/tiny-llama", "--adapter", "merged", "--hub-retries", "1", "-o"])
        .arg(&offline)
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .assert()
        .success()
        .stderr(predicate::str::contains("cannot be reached"));
    assert!(split(&read(&local)).1 == split(&read(&offline)).1);
    // inspect takes the same base.
    e.ccc("inspect").arg(run.join("checkpoint-10")).args(["--base", "hf:org/tiny-llama"]).assert().success().stdout(
        predicate::str::contains("model.layers.0.mlp.down_proj.weight").and(predicate::str::contains("rank 2")),
    );
    // A base that is not there is one clear line (like huggingface.co, the test hub answers 401 without a token).
    e.ccc("summarize")
        .arg(&run)
        .args(["--base", "hf:org/nope", "--quiet", "-o"])
        .arg(e.path("nope.safetensors"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("--base hf:org/nope").and(predicate::str::contains("missing")));
}

#[test]
fn an_adapter_run_on_the_hub_is_fetched_by_its_chosen_folders() {
    let lora = root().join("tests/data/fixtures/lora/tiny-llama-lora");
    let base = root().join("tests/data/fixtures/tiny-llama/step400");
    let mut files = Vec::new();
    for step in [0, 10, 20] {
        for f in ["adapter_config.json", "adapter_model.safetensors"] {
            files.push((format!("checkpoint-{step}/{f}"), read(&lora.join(format!("checkpoint-{step}")).join(f))));
        }
        // What the Trainer uploads besides the adapter, never needed.
        files.push((format!("checkpoint-{step}/optimizer.pt"), vec![7u8; 4096]));
    }
    files.push(("README.md".into(), b"# a LoRA run".to_vec()));
    let mut repo = TestRepo::new("org/lora-run");
    repo.branch("main", files);
    let e = Env { server: HubServer::start(vec![repo]).unwrap(), tmp: tempfile::tempdir().unwrap() };
    let local = e.path("local.safetensors");
    summarize_adapters_locally(&lora, &base, &["--adapter", "delta", "--steps", "10,20"], &local);
    for round in 0..2 {
        let out = e.path(&format!("hub{round}.safetensors"));
        e.ccc("summarize")
            .args(["hf:org/lora-run", "--adapter", "delta", "--steps", "10,20", "--quiet", "--base"])
            .arg(&base)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        assert!(split(&read(&local)).1 == split(&read(&out)).1, "round {round}: values differ from the local run's");
        let t = ccc_core::file::read(&out).unwrap();
        assert_eq!(t.steps, vec![10, 20]);
        // Only the two chosen adapters' weights were downloaded, once.
        assert_eq!(e.cdn_requests(), 2, "round {round}");
        let paths: Vec<String> = e.server.requests().iter().map(|r| r.path.clone()).collect();
        assert!(!paths.iter().any(|p| p.contains("optimizer.pt") || p.contains("checkpoint-0/")), "{paths:?}");
    }
    // Without --base, the adapters are named as such.
    for input in ["hf:org/lora-run", "hf:org/lora-run@main"] {
        e.ccc("summarize")
            .args([input, "--quiet", "-o"])
            .arg(e.path("nobase.safetensors"))
            .assert()
            .failure()
            .stderr(predicate::str::contains("PEFT adapters").and(predicate::str::contains("--base")));
    }
    // No folder chosen is one clear line.
    e.ccc("summarize")
        .args(["hf:org/lora-run@main", "--steps", "10", "--quiet", "--base"])
        .arg(&base)
        .args(["--revisions", "nothing-*", "-o"])
        .arg(e.path("none.safetensors"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("no checkpoints selected"));
}
