//! The hostile-file corpus (`tests/data/bad/safetensors/`, made by `make_bad.py` there) and property tests over
//! arbitrary and mutated bytes: every bad input gives a clear error, never a panic.

mod common;

use std::path::Path;

use ccc_core::{Mode, NoProgress, StepSelection};
use ccc_summarize::{
    local, run, Output, RunOptions, SafetensorsFile, SafetensorsStream, SummarizeError, TensorInfo, TensorSink,
    WeightSource,
};
use common::*;
use proptest::prelude::*;

/// A sink that wants everything and checks the chunks it gets are whole rows.
struct Everything(u64);

impl TensorSink for Everything {
    fn wants(&self, _: &TensorInfo) -> bool {
        true
    }
    fn rows(&mut self, info: &TensorInfo, _first: usize, bytes: &[u8]) -> Result<(), SummarizeError> {
        let rb = info.row_len() * info.dtype.size();
        assert!(rb > 0 && bytes.len() % rb == 0, "chunk of {} bytes for rows of {rb}", bytes.len());
        self.0 += bytes.len() as u64;
        Ok(())
    }
}

fn read_file(path: &Path) -> Result<u64, SummarizeError> {
    let mut src = SafetensorsFile::open(path)?;
    let mut sink = Everything(0);
    src.stream(&mut sink, 64)?;
    Ok(sink.0)
}

fn read_stream(bytes: &[u8]) -> Result<u64, SummarizeError> {
    let mut src = SafetensorsStream::new(bytes, "stream")?;
    let mut sink = Everything(0);
    src.stream(&mut sink, 64)?;
    Ok(sink.0)
}

fn expected() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(bad_dir().join("EXPECTED.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (a, b) = l.split_once('\t').unwrap();
            (a.to_string(), b.to_string())
        })
        .collect()
}

#[test]
fn corpus_files_give_clear_errors() {
    let cases: Vec<_> = expected().into_iter().filter(|(n, _)| n.ends_with(".safetensors")).collect();
    assert!(cases.len() >= 10, "corpus has {} files", cases.len());
    for (name, want) in cases {
        let path = bad_dir().join(&name);
        let err = read_file(&path).expect_err(&name).to_string();
        assert!(err.contains(&name), "{name}: error does not name the file: {err}");
        assert!(err.contains(&want), "{name}: expected `{want}` in: {err}");
        assert!(!err.contains('\n'), "{name}: not one line: {err}");
        // The streaming reader rejects the same bytes (it cannot see trailing bytes after the last tensor).
        let bytes = std::fs::read(&path).unwrap();
        if name != "trailing-bytes.safetensors" {
            assert!(read_stream(&bytes).is_err(), "{name}: stream accepted it");
        }
    }
}

#[test]
fn corpus_checkpoints_give_clear_errors() {
    let cases: Vec<_> = expected().into_iter().filter(|(n, _)| n.starts_with("ckpt-")).collect();
    assert!(cases.len() >= 8);
    for (name, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.safetensors");
        let err = (|| -> Result<(), SummarizeError> {
            let found = local::discover(&[bad_dir().join(&name)], &StepSelection::all())?;
            let cks = boxed(found.checkpoints);
            let opts = RunOptions::new(vec![Output { mode: Mode::Full, path: out.clone() }], "bad");
            run(&cks, &opts, &NoProgress).map(|_| ())
        })()
        .expect_err(&name)
        .to_string();
        assert!(err.contains(&want), "{name}: expected `{want}` in: {err}");
        assert!(err.contains(&name), "{name}: error does not name the checkpoint: {err}");
        assert!(!out.exists(), "{name}: a partial output file was left behind");
    }
    // The good one works.
    let dir = tempfile::tempdir().unwrap();
    summarize_dir(&bad_dir().join("ckpt-good"), "all", dir.path());
}

#[test]
fn nonfinite_can_be_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.safetensors");
    let found = local::discover(&[bad_dir().join("ckpt-nonfinite")], &StepSelection::all()).unwrap();
    let cks = boxed(found.checkpoints);
    let mut opts = RunOptions::new(vec![Output { mode: Mode::Full, path: out.clone() }], "bad");
    opts.allow_nonfinite = true;
    let report = run(&cks, &opts, &NoProgress).unwrap();
    assert_eq!(report.nonfinite, vec![(0, "gpt_neox.layers.0.mlp.dense_4h_to_h.weight".to_string())]);
    let t = ccc_core::file::read(&out).unwrap();
    let k = t.meta.components.iter().position(|c| c.name() == "L0.mlp_out").unwrap();
    let nan_coords = (0..t.n_coord).filter(|&c| t.get(c, 0, k).is_nan()).count();
    assert_eq!(nan_coords, 1, "one row of dense_4h_to_h holds the NaN");
}

fn good_bytes() -> Vec<u8> {
    std::fs::read(bad_dir().join("ckpt-good/model.safetensors")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_stream(&bytes);
    }

    #[test]
    fn arbitrary_headers_never_panic(json in "\\{(\"[a-z]\":\\{\"dtype\":\"(F32|BF16|I64|X)\",\"shape\":\\[[0-9, ]{0,12}\\],\"data_offsets\":\\[[0-9]{1,3},[0-9]{1,3}\\]\\},?){0,3}\\}", tail in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(json.as_bytes());
        bytes.extend_from_slice(&tail);
        let _ = read_stream(&bytes);
    }

    #[test]
    fn mutated_files_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6), cut in any::<prop::sample::Index>(), do_cut in any::<bool>()) {
        let mut bytes = good_bytes();
        // Mutations concentrate on the length prefix and the header, where the structure is.
        let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        for (i, b) in edits {
            let at = i.index(header_end.min(bytes.len()));
            bytes[at] = b;
        }
        if do_cut {
            let n = cut.index(bytes.len());
            bytes.truncate(n);
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        std::fs::write(&p, &bytes).unwrap();
        let a = read_file(&p);
        let b = read_stream(&bytes);
        if let Ok(n) = a {
            // Whatever the file reader accepts, the stream reader reads identically.
            prop_assert_eq!(b.ok(), Some(n));
        }
    }
}
