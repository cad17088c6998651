//! The `ccc/1` file: round trips, an independent header parse, in-place filling, merging, hostile bytes.

use std::path::PathBuf;

use ccc_core::{file, merge, CccMeta, CccTensor, Component, ComponentKind::*, Duplicate, Mode, Summary};
use proptest::prelude::*;

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data").join(rel)
}

fn toy(n_coord: usize, steps: Vec<i64>) -> CccTensor {
    let components = Component::full_list(2, 2, 1, &[EmbIn, EmbOut, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2]);
    let lengths = components.iter().map(|c| if c.kind.is_norm() { 1 } else { 8 }).collect();
    let meta = CccMeta {
        model: "toy".into(),
        architecture: "llama".into(),
        mode: Mode::Full,
        n_layer: 2,
        n_head: 2,
        n_kv_head: 1,
        summary: Summary::MeanSq,
        components,
        duplicates: vec![],
        extra: Default::default(),
    };
    CccTensor::empty(meta, n_coord, steps, lengths).unwrap()
}

#[test]
fn reads_the_reference_tensor() {
    let t = file::read(&data("fixtures/tiny-neox-full.ccc.safetensors")).unwrap();
    assert_eq!(t.shape(), [64, 14, 42]);
    assert_eq!(t.meta.architecture, "gpt_neox");
    assert_eq!(t.meta.components[0].name(), "emb_in");
    assert_eq!(t.steps, vec![0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1500, 2000]);
    assert!(t.filled.iter().all(|&f| f));
    // Golden file has unaligned tensors (U8 first): still readable.
    let g = file::read(&data("golden/synthetic-small.safetensors")).unwrap();
    assert_eq!(g.shape(), [64, 12, 42]);
    assert_eq!(g.meta.extra.get("truth_coords_out").map(String::as_str), Some("[38, 45]"));
}

#[test]
fn header_parses_independently_of_our_reader() {
    let mut t = toy(4, vec![0, 10, 20]);
    t.set_column(1, &(0..4 * t.n_comp()).map(|i| i as f32).collect::<Vec<_>>()).unwrap();
    t.meta.duplicates = vec![Duplicate { step: 20, same_as: 10 }];
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.safetensors");
    file::write(&p, &t).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    // The safetensors crate (the reference implementation) validates the whole layout.
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mags = st.tensor("mags").unwrap();
    assert_eq!(mags.dtype(), safetensors::Dtype::F32);
    assert_eq!(mags.shape(), &[4, 3, t.n_comp()]);
    let filled = st.tensor("filled").unwrap();
    assert_eq!(filled.data(), &[0, 1, 0]);
    let steps = st.tensor("steps").unwrap();
    assert_eq!(steps.dtype(), safetensors::Dtype::I64);
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let m = meta.metadata().as_ref().unwrap();
    assert_eq!(m["format"], "ccc/1");
    assert_eq!(m["duplicates"], "[[20,10]]");
    assert!(m["components"].starts_with("[\"emb_in\",\"emb_out\",\"L0.H0.Q\""));
    // The value at (c=2, t=1, k=3) is at flat index (2*3+1)*K+3.
    let k = t.n_comp();
    let i = ((2 * 3 + 1) * k + 3) * 4;
    let v = f32::from_le_bytes(mags.data()[i..i + 4].try_into().unwrap());
    assert_eq!(v, (2 * k + 3) as f32);
}

/// A toy tensor of 3 coordinates and steps 0, 5, 9, created as `f.safetensors` in a new directory, and opened.
fn created_toy() -> (CccTensor, tempfile::TempDir, file::CccFile) {
    let t = toy(3, vec![0, 5, 9]);
    let dir = tempfile::tempdir().unwrap();
    let f = file::CccFile::create(&dir.path().join("f.safetensors"), &t).unwrap();
    (t, dir, f)
}

#[test]
fn fill_in_place_and_resume() {
    let (t, dir, mut f) = created_toy();
    let p = dir.path().join("f.safetensors");
    let col: Vec<f32> = (0..3 * t.n_comp()).map(|i| i as f32 * 0.5).collect();
    f.write_column(2, &col).unwrap();
    drop(f);
    let f = file::CccFile::open(&p).unwrap();
    assert_eq!(f.header().filled, vec![false, false, true]);
    assert_eq!(f.read_column(2).unwrap(), col);
    let back = file::read(&p).unwrap();
    assert_eq!(back.column(2), col);
    assert_eq!(back.filled_only().steps, vec![9]);
    // Metadata grows in place.
    let mut f = file::CccFile::open(&p).unwrap();
    let mut meta = f.header().meta.clone();
    meta.duplicates.push(Duplicate { step: 9, same_as: 5 });
    f.set_meta(meta.clone()).unwrap();
    assert_eq!(file::read(&p).unwrap().meta, meta);
    // … and by rewriting when it no longer fits.
    meta.extra.insert("long".into(), "x".repeat(10_000));
    f.set_meta(meta.clone()).unwrap();
    let back = file::read(&p).unwrap();
    assert_eq!(back.meta, meta);
    assert_eq!(back.column(2), col);
}

/// Several checkpoints are marked filled together (one sync); a checkpoint out of range marks none of them.
#[test]
fn columns_are_marked_filled_together() {
    let (t, dir, mut f) = created_toy();
    let p = dir.path().join("f.safetensors");
    let col: Vec<f32> = (0..3 * t.n_comp()).map(|i| i as f32 + 1.0).collect();
    for t in [0, 2] {
        f.write_column_values(t, &col).unwrap();
    }
    f.sync_values().unwrap();
    assert!(f.mark_filled(&[0, 3]).is_err());
    assert_eq!(file::CccFile::open(&p).unwrap().header().filled, vec![false, false, false]);
    f.mark_filled(&[0, 2]).unwrap();
    assert_eq!(f.header().filled, vec![true, false, true]);
    let back = file::read(&p).unwrap();
    assert_eq!(back.filled, vec![true, false, true]);
    assert_eq!((back.column(0), back.column(2)), (col.clone(), col));
}

/// Rows written in pieces (from several threads at once, as a writer may) are the column written whole, at the
/// positions `row_pos` gives; rows that are not whole or not in the file are refused.
#[test]
fn rows_written_in_pieces_are_the_column() {
    let (t, dir, mut f) = created_toy();
    let k = t.n_comp();
    let col: Vec<f32> = (0..3 * k).map(|i| i as f32 - 4.5).collect();
    std::thread::scope(|s| {
        let f = &f;
        s.spawn(|| f.write_rows(1, 0, &col[..k]).unwrap());
        s.spawn(|| f.write_rows(1, 1, &col[k..]).unwrap());
    });
    f.sync_values().unwrap();
    f.mark_filled(&[1]).unwrap();
    assert_eq!(f.read_column(1).unwrap(), col);
    let bytes = std::fs::read(dir.path().join("f.safetensors")).unwrap();
    let at = f.header().row_pos(2, 1) as usize;
    assert_eq!(bytes[at..at + 4], col[2 * k].to_le_bytes());
    let values = f.header().values_range();
    assert_eq!(values.end - values.start, (3 * 3 * k * 4) as u64);
    assert!(values.contains(&(at as u64)));
    for (t_i, c0, n) in [(3, 0, k), (0, 0, k + 1), (0, 2, 2 * k), (0, 3, k)] {
        assert!(f.write_rows(t_i, c0, &col[..n]).is_err(), "checkpoint {t_i}, from {c0}, {n} values");
    }
}

#[test]
fn merge_unions_steps_and_detects_conflicts() {
    let mut a = toy(2, vec![0, 10]);
    let mut b = toy(2, vec![10, 20]);
    let k = a.n_comp();
    a.set_column(0, &vec![1.0; 2 * k]).unwrap();
    a.set_column(1, &vec![2.0; 2 * k]).unwrap();
    b.set_column(0, &vec![2.0; 2 * k]).unwrap();
    b.set_column(1, &vec![3.0; 2 * k]).unwrap();
    let m = merge(&[a.clone(), b.clone()], &["a".into(), "b".into()]).unwrap();
    assert_eq!(m.steps, vec![0, 10, 20]);
    assert_eq!(m.filled, vec![true, true, true]);
    assert_eq!(m.get(1, 2, 0), 3.0);
    b.set_column(0, &vec![2.5; 2 * k]).unwrap();
    let err = merge(&[a, b], &["a".into(), "b".into()]).unwrap_err();
    assert!(err.to_string().contains("conflict at step 10"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip(n_coord in 1usize..6, n_steps in 1usize..5, seed in any::<u64>()) {
        let steps: Vec<i64> = (0..n_steps as i64).map(|s| s * 7 + (seed % 5) as i64).collect();
        let mut t = toy(n_coord, steps);
        let k = t.n_comp();
        for ti in 0..n_steps {
            if (seed >> ti) & 1 == 1 {
                let col: Vec<f32> = (0..n_coord * k).map(|i| (i as f32 + seed as f32).sin()).collect();
                t.set_column(ti, &col).unwrap();
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.safetensors");
        file::write(&p, &t).unwrap();
        prop_assert_eq!(file::read(&p).unwrap(), t);
    }

    #[test]
    fn hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), cut in any::<usize>(), flip in any::<(usize, u8)>()) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.safetensors");
        std::fs::write(&p, &bytes).unwrap();
        let _ = file::read(&p);
        // Mutations of a valid file: truncation and a flipped byte.
        let t = toy(2, vec![0, 1]);
        file::write(&p, &t).unwrap();
        let mut good = std::fs::read(&p).unwrap();
        let n = good.len();
        good[flip.0 % n] ^= flip.1.max(1);
        std::fs::write(&p, &good).unwrap();
        let _ = file::read(&p);
        good.truncate(cut % n);
        std::fs::write(&p, &good).unwrap();
        prop_assert!(file::read(&p).is_err());
    }
}

#[test]
fn created_file_equals_written_file_byte_for_byte() {
    // `CccFile::create` leaves zero runs as holes; the bytes must be those `file::write` produces, for an empty
    // tensor and for one with values in some columns (zero and non-zero runs of every size).
    let dir = tempfile::tempdir().unwrap();
    let empty = toy(700, vec![0, 5, 9]);
    let mut some = empty.clone();
    // Non-zero values in long and short stretches, with zero runs longer and shorter than a write run between.
    let n = some.mags.len();
    for (i, v) in some.mags.iter_mut().enumerate() {
        if (i % 40_000 < 17_000 && i % 3 != 0) || i == n - 1 {
            *v = i as f32 * 0.25 - 7.0;
        }
    }
    some.filled = vec![true, false, true];
    for (i, tensor) in [empty, some].iter().enumerate() {
        let (a, b) = (dir.path().join(format!("c{i}.safetensors")), dir.path().join(format!("w{i}.safetensors")));
        drop(file::CccFile::create(&a, tensor).unwrap());
        file::write(&b, tensor).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "tensor {i}");
        assert_eq!(file::read(&a).unwrap().mags, tensor.mags);
    }
}

#[test]
fn created_empty_file_equals_written_empty_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let t = toy(300, vec![0, 5, 9, 1000]);
    let (a, b) = (dir.path().join("a.safetensors"), dir.path().join("b.safetensors"));
    let f = file::CccFile::create_empty(&a, t.meta.clone(), t.n_coord, t.steps.clone(), t.lengths.clone()).unwrap();
    assert_eq!(f.header().filled, vec![false; 4]);
    file::write(&b, &t).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // Shapes are checked as for a tensor in memory.
    let c = dir.path().join("c.safetensors");
    let err = file::CccFile::create_empty(&c, t.meta.clone(), 3, vec![5, 0], t.lengths.clone()).unwrap_err();
    assert!(err.to_string().contains("not strictly increasing"), "{err}");
    let err = file::CccFile::create_empty(&c, t.meta.clone(), 3, vec![0], vec![1]).unwrap_err();
    assert!(err.to_string().contains("lengths for"), "{err}");
    let err = file::CccFile::create_empty(&c, t.meta, usize::MAX / 2, vec![0, 1], t.lengths).unwrap_err();
    assert!(err.to_string().contains("overflow"), "{err}");
    assert!(!c.exists(), "nothing is left behind");
}

/// A large new file (its values a hole of the file) reads as zeros and takes columns like a small one. (Claiming
/// its disk space is the writer's policy: the summarizer's test checks that.)
#[test]
fn a_large_empty_file_reads_as_zeros_and_takes_columns() {
    let dir = tempfile::tempdir().unwrap();
    let steps: Vec<i64> = (0..8).collect();
    let n_coord = 100_000;
    let t = toy(n_coord, steps.clone());
    let k = t.n_comp();
    let p = dir.path().join("big.safetensors");
    let mut f = file::CccFile::create_empty(&p, t.meta.clone(), n_coord, steps, t.lengths.clone()).unwrap();
    assert_eq!(f.header().values_range().end - f.header().values_range().start, (n_coord * 8 * k * 4) as u64);
    assert!(f.read_column(3).unwrap().iter().all(|&v| v == 0.0));
    let col: Vec<f32> = (0..n_coord * k).map(|i| (i % 977) as f32 * 0.5).collect();
    f.write_column(5, &col).unwrap();
    assert_eq!(f.read_column(5).unwrap(), col);
    assert!(f.read_column(4).unwrap().iter().all(|&v| v == 0.0));
    let back = file::CccFile::open(&p).unwrap();
    assert_eq!(back.header().filled, [false, false, false, false, false, true, false, false]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Adding steps to a file keeps every filled column, moved to its step's new place, and equals writing the
    /// tensor with the union of steps.
    #[test]
    fn adding_steps_keeps_filled_columns(
        old in proptest::collection::btree_set(0i64..40, 1..6),
        new in proptest::collection::btree_set(0i64..40, 0..6),
        fill in any::<u8>(),
    ) {
        let old: Vec<i64> = old.into_iter().collect();
        let n_coord = 5;
        let mut t = toy(n_coord, old.clone());
        let k = t.n_comp();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.safetensors");
        let mut f = file::CccFile::create_empty(&p, t.meta.clone(), n_coord, old.clone(), t.lengths.clone()).unwrap();
        for (ti, &s) in old.iter().enumerate() {
            if (fill >> ti) & 1 == 1 {
                let col: Vec<f32> = (0..n_coord * k).map(|i| (i as f32 * 0.37 + s as f32).cos()).collect();
                f.write_column(ti, &col).unwrap();
                t.set_column(ti, &col).unwrap();
            }
        }
        let add: Vec<i64> = new.into_iter().collect();
        f.add_steps(&add).unwrap();
        let mut all: Vec<i64> = old.iter().chain(&add).copied().collect();
        all.sort_unstable();
        all.dedup();
        let mut want = CccTensor::empty(t.meta.clone(), n_coord, all.clone(), t.lengths.clone()).unwrap();
        for (ti, &s) in old.iter().enumerate() {
            if t.filled[ti] {
                want.set_column(want.step_index(s).unwrap(), &t.column(ti)).unwrap();
            }
        }
        prop_assert_eq!(&f.header().steps, &all);
        prop_assert_eq!(file::read(&p).unwrap(), want.clone());
        // The same bytes as writing that tensor at once — unless the new steps all come after the old ones: the
        // file then grew, with spare slots (tests/grow.rs).
        let fresh: Vec<&i64> = add.iter().filter(|s| !old.contains(s)).collect();
        let grew = !fresh.is_empty() && fresh.iter().all(|&s| s > old.last().unwrap_or(&-1));
        let q = dir.path().join("w.safetensors");
        file::write(&q, &want).unwrap();
        prop_assert_eq!(std::fs::read(&p).unwrap() == std::fs::read(&q).unwrap(), !grew);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Merging files column by column gives the bytes of the in-memory merge written at once, for any steps and
    /// filled columns (agreeing where they overlap), also when the output is one of the inputs.
    #[test]
    fn merging_files_equals_merging_tensors(
        parts in proptest::collection::vec((proptest::collection::btree_set(0i64..12, 1..5), any::<u8>()), 2..4),
        onto_first in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut tensors = Vec::new();
        let mut paths = Vec::new();
        for (i, (steps, fill)) in parts.iter().enumerate() {
            let steps: Vec<i64> = steps.iter().copied().collect();
            let mut t = toy(3, steps.clone());
            let k = t.n_comp();
            for (ti, &s) in steps.iter().enumerate() {
                if (fill >> ti) & 1 == 1 {
                    // A step's values depend only on the step, so overlapping inputs agree.
                    t.set_column(ti, &(0..3 * k).map(|j| (j as f32 + s as f32 * 10.0).sqrt()).collect::<Vec<_>>()).unwrap();
                }
            }
            t.meta.duplicates = vec![Duplicate { step: 100 + i as i64, same_as: 1 }];
            let p = dir.path().join(format!("p{i}.safetensors"));
            file::write(&p, &t).unwrap();
            tensors.push(t);
            paths.push(p);
        }
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let want = merge(&tensors, &names).unwrap();
        let out = if onto_first { paths[0].clone() } else { dir.path().join("all.safetensors") };
        let inputs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
        let h = ccc_core::merge_files(&inputs, &out).unwrap();
        prop_assert_eq!(&h.steps, &want.steps);
        let w = dir.path().join("want.safetensors");
        file::write(&w, &want).unwrap();
        prop_assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&w).unwrap());
    }
}

#[test]
fn merging_files_reports_conflicts_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut b) = (toy(2, vec![0, 10]), toy(2, vec![10, 20]));
    let k = a.n_comp();
    a.set_column(1, &vec![1.0; 2 * k]).unwrap();
    b.set_column(0, &vec![1.5; 2 * k]).unwrap();
    let (pa, pb, out) =
        (dir.path().join("a.safetensors"), dir.path().join("b.safetensors"), dir.path().join("o.safetensors"));
    file::write(&pa, &a).unwrap();
    file::write(&pb, &b).unwrap();
    let err = ccc_core::merge_files(&[&pa, &pb], &out).unwrap_err();
    assert!(err.to_string().contains("conflict at step 10"), "{err}");
    assert!(!out.exists());
    let mut other = toy(3, vec![5]);
    other.meta.summary = Summary::L1;
    let po = dir.path().join("other.safetensors");
    file::write(&po, &other).unwrap();
    let err = ccc_core::merge_files(&[&pa, &po], &out).unwrap_err();
    assert!(err.to_string().contains("cannot merge") && err.to_string().contains("coordinates"), "{err}");
}
