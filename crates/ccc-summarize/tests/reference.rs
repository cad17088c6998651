//! The summarizer against tensors computed by an independent implementation (numpy): the tiny-neox reference
//! tensor and the mini-neox demo file's columns.

mod common;

use ccc_core::{file, Mode};
use common::*;

#[test]
fn tiny_neox_matches_reference_tensor() {
    let reference = file::read(&fixtures().join("tiny-neox-full.ccc.safetensors")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (full, _) = summarize_dir(&fixtures().join("tiny-neox"), "all", dir.path());
    assert_eq!(full.steps, reference.steps);
    assert_eq!(full.meta.components, reference.meta.components);
    assert_eq!(full.lengths, reference.lengths);
    assert_eq!(full.meta.architecture, "gpt_neox");
    let worst = max_rel_err(&full.mags, &reference.mags);
    assert!(worst <= 1e-5, "max relative error {worst}");
}

#[test]
fn mini_neox_matches_demo_columns() {
    let demo_full = file::read(&cli_data().join("mini-neox-full.safetensors")).unwrap();
    let demo_compact = file::read(&cli_data().join("mini-neox-compact.safetensors")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (full, compact) = summarize_dir(&fixtures().join("mini-neox"), "all", dir.path());
    assert_eq!(full.steps, vec![0, 512, 13000]);
    for (ours, demo, mode) in [(&full, &demo_full, Mode::Full), (&compact, &demo_compact, Mode::Compact)] {
        assert_eq!(ours.meta.components, demo.meta.components, "{mode}");
        assert_eq!(ours.lengths, demo.lengths, "{mode}");
        let mut bits_differ = 0;
        let mut worst = 0f64;
        for (t, &step) in ours.steps.iter().enumerate() {
            let dt = demo.step_index(step).unwrap();
            let (a, b) = (ours.column(t), demo.column(dt));
            bits_differ += a.iter().zip(&b).filter(|(x, y)| x.to_bits() != y.to_bits()).count();
            worst = worst.max(max_rel_err(&a, &b));
        }
        eprintln!("{mode}: {bits_differ} values differ in bits, max relative error {worst:e}");
        assert!(worst <= 1e-6, "{mode}: max relative error {worst}");
        assert_eq!(bits_differ, 0, "{mode}: the demo columns are reproduced bit for bit");
    }
}
