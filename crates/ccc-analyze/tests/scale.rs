//! Scale (docs/analysis.md §10) on real tensors: the blockwise reading gives the in-memory analysis, and the
//! shards of a sharded analysis merge into exactly the files of one run.

use std::path::{Path, PathBuf};

use ccc_analyze::files::AnalysisFile;
use ccc_analyze::shard::{analyze_shard, merge};
use ccc_analyze::{analyze_mapped, Analysis, AnalyzeOptions, MappedTensor, ReadMode, Reading, Shard};
use ccc_core::NoProgress;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The demo run (37 checkpoints of a pythia-14m-shaped model) and the reference tool's synthetic tensor.
fn inputs() -> Vec<PathBuf> {
    vec![
        root().join("crates/ccc-cli/data/mini-neox-full.safetensors"),
        root().join("tests/data/golden/synthetic-small.safetensors"),
    ]
}

fn opts() -> AnalyzeOptions {
    AnalyzeOptions { timings: false, ..AnalyzeOptions::default() }
}

fn run(path: &Path, reading: Reading) -> Analysis {
    let view = MappedTensor::open(path, &opts().steps).unwrap();
    analyze_mapped(&view, &opts(), &reading, &NoProgress).unwrap()
}

fn reading(mode: ReadMode, block_bytes: usize) -> Reading {
    Reading { mode, block_bytes }
}

#[test]
fn blockwise_gives_the_in_memory_analysis() {
    for path in inputs() {
        let mem = run(&path, reading(ReadMode::InMemory, 1 << 20));
        // Small blocks: many of them in every pass.
        let blk = run(&path, reading(ReadMode::Blockwise, 20_000));
        assert_eq!(mem.experiments.len(), blk.experiments.len());
        for (a, b) in mem.pipelines.iter().zip(&blk.pipelines) {
            assert_eq!(
                (a.status, &a.groups),
                (b.status, &b.groups),
                "{}: pipeline {}",
                path.display(),
                a.pipeline.name()
            );
        }
        for (a, b) in mem.experiments.iter().zip(&blk.experiments) {
            assert_eq!((&a.method, a.status, &a.groups), (&b.method, b.status, &b.groups), "{}", path.display());
            let (sa, sb) = (a.scores.unwrap(), b.scores.unwrap());
            assert!((sa.fraction - sb.fraction).abs() <= 1e-4, "{}", a.method);
            match (sa.irregularity, sb.irregularity) {
                (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-4, "{}: {x} vs {y}", a.method),
                (x, y) => assert_eq!(x, y),
            }
        }
    }
}

/// Byte-identical `experiments.json`, `scores.csv` and `summary.json` from `N` shards and from one run.
fn shards_merge_to_one_run(path: &Path, reading: Reading, counts: &[usize]) {
    let one = run(path, reading);
    let want = (
        one.experiments_file().to_bytes().unwrap(),
        one.scores_file().to_bytes().unwrap(),
        one.summary_file().to_bytes().unwrap(),
    );
    let view = MappedTensor::open(path, &opts().steps).unwrap();
    for &n in counts {
        let mut parts: Vec<_> = (1..=n)
            .map(|i| analyze_shard(&view, &opts(), &reading, Shard::new(i, n).unwrap(), &NoProgress).unwrap())
            .collect();
        // Through the file format, in any order.
        let dir = tempfile::tempdir().unwrap();
        parts = parts
            .into_iter()
            .rev()
            .map(|p| {
                let d = dir.path().join(format!("part{}", p.shard.index));
                std::fs::create_dir_all(&d).unwrap();
                let f = p.write(&d).unwrap();
                ccc_analyze::files::PartialFile::read_file(&f).unwrap()
            })
            .collect();
        let merged = merge(&parts).unwrap();
        let got = (
            merged.experiments_file().to_bytes().unwrap(),
            merged.scores_file().to_bytes().unwrap(),
            merged.summary_file().to_bytes().unwrap(),
        );
        assert!(got.0 == want.0, "{}: experiments.json of {n} shards", path.display());
        assert!(got.1 == want.1, "{}: scores.csv of {n} shards", path.display());
        assert!(got.2 == want.2, "{}: summary.json of {n} shards", path.display());
        // A missing shard is an error that names it.
        if n > 1 {
            let e = merge(&parts[1..]).unwrap_err().to_string();
            assert!(e.contains("missing shard"), "{e}");
        }
    }
}

#[test]
fn shards_merge_into_the_files_of_one_run() {
    let [demo, golden] = <[PathBuf; 2]>::try_from(inputs()).unwrap();
    shards_merge_to_one_run(&demo, Reading::default(), &[1, 3, 7]);
    shards_merge_to_one_run(&golden, reading(ReadMode::Blockwise, 50_000), &[2, 5]);
}

#[test]
fn merge_refuses_shards_of_other_analyses() {
    let path = &inputs()[1];
    let view = MappedTensor::open(path, &opts().steps).unwrap();
    let r = Reading::default();
    let a = analyze_shard(&view, &opts(), &r, Shard::new(1, 2).unwrap(), &NoProgress).unwrap();
    let other = AnalyzeOptions { seed: 1, ..opts() };
    let b = analyze_shard(&view, &other, &r, Shard::new(2, 2).unwrap(), &NoProgress).unwrap();
    let e = merge(&[a.clone(), b]).unwrap_err().to_string();
    assert!(e.contains("another analysis"), "{e}");
    let e = merge(&[a.clone(), a]).unwrap_err().to_string();
    assert!(e.contains("given twice"), "{e}");
}

/// Issue 24: a resumable analysis keeps the parts an earlier (killed) run finished, computes the others, and
/// gives the files of one run.
#[test]
fn a_resumed_analysis_keeps_finished_parts_and_equals_one_run() {
    let path = &inputs()[1];
    let one = run(path, Reading::default());
    let view = MappedTensor::open(path, &opts().steps).unwrap();
    let state = tempfile::tempdir().unwrap();
    // The "killed" run finished part 2 of 3 only; mark it to see that it is kept, not recomputed.
    let mut p2 = analyze_shard(&view, &opts(), &Reading::default(), Shard::new(2, 3).unwrap(), &NoProgress).unwrap();
    p2.phase_time_bits.insert("kept".into(), 1.0f64.to_bits());
    let d2 = state.path().join("part-0002");
    std::fs::create_dir_all(&d2).unwrap();
    p2.write(&d2).unwrap();
    let rec = ccc_core::progress::RecordingProgress::default();
    let a = ccc_analyze::resume::analyze_resumable(&view, &opts(), &Reading::default(), 3, state.path(), &rec).unwrap();
    assert!(a.phase_times_s.contains_key("kept"), "part 2 was recomputed");
    let msgs = rec.messages.lock().unwrap().join("\n");
    assert!(msgs.contains("part 2/3: kept") && msgs.contains("part 1/3: running"), "{msgs}");
    assert!(a.experiments_file().to_bytes().unwrap() == one.experiments_file().to_bytes().unwrap());
    assert!(a.scores_file().to_bytes().unwrap() == one.scores_file().to_bytes().unwrap());
    // All parts are kept now: a third run computes nothing.
    let rec = ccc_core::progress::RecordingProgress::default();
    ccc_analyze::resume::analyze_resumable(&view, &opts(), &Reading::default(), 3, state.path(), &rec).unwrap();
    assert!(!rec.messages.lock().unwrap().iter().any(|m| m.contains("running")));
    // Other options: nothing is kept.
    let other = AnalyzeOptions { seed: 5, ..opts() };
    let rec = ccc_core::progress::RecordingProgress::default();
    ccc_analyze::resume::analyze_resumable(&view, &other, &Reading::default(), 3, state.path(), &rec).unwrap();
    assert_eq!(rec.messages.lock().unwrap().iter().filter(|m| m.contains("running")).count(), 3);
}
