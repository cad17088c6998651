//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ccc_core::{file, CccTensor, Mode, NoProgress, StepSelection};
use ccc_summarize::{local, run, Checkpoint, Output, RunOptions};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fixtures")
}

pub fn cli_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ccc-cli/data")
}

pub fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/bad/safetensors")
}

pub fn boxed(c: Vec<local::LocalCheckpoint>) -> Vec<Box<dyn Checkpoint>> {
    c.into_iter().map(|c| Box::new(c) as Box<dyn Checkpoint>).collect()
}

/// Summarize `input` (both modes) into `out_dir`; returns (full, compact).
pub fn summarize_dir(input: &Path, steps: &str, out_dir: &Path) -> (CccTensor, CccTensor) {
    let found = local::discover(&[input.to_path_buf()], &steps.parse::<StepSelection>().unwrap()).unwrap();
    let cks = boxed(found.checkpoints);
    let full = out_dir.join("x.full.safetensors");
    let compact = out_dir.join("x.compact.safetensors");
    let opts = RunOptions::new(
        vec![Output { mode: Mode::Full, path: full.clone() }, Output { mode: Mode::Compact, path: compact.clone() }],
        "test",
    );
    run(&cks, &opts, &NoProgress).unwrap();
    (file::read(&full).unwrap(), file::read(&compact).unwrap())
}

/// Largest |a - b| / max(|b|, tiny) over two arrays.
pub fn max_rel_err(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let (x, y) = (x as f64, y as f64);
            if x == y {
                0.0
            } else {
                (x - y).abs() / y.abs().max(1e-30)
            }
        })
        .fold(0.0, f64::max)
}
