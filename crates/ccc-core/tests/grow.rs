//! A `ccc/1` file that grows one checkpoint at a time (a run still training): in place into spare slots, or by
//! an atomic rewrite that leaves new ones; readers see only the checkpoints (docs/tensor.md §6.5).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use ccc_core::file::{self, CccFile, SPARE_KEY};
use ccc_core::{CccMeta, CccTensor, Component, ComponentKind::*, Mode, Summary};
use proptest::prelude::*;

fn toy(n_coord: usize, steps: Vec<i64>) -> CccTensor {
    let components = Component::full_list(1, 2, 2, &[EmbIn, Q, K, V, O, MlpIn, MlpOut]);
    let lengths = components.iter().map(|_| 8).collect();
    let meta = CccMeta {
        model: "toy".into(),
        architecture: "gpt_neox".into(),
        mode: Mode::Full,
        n_layer: 1,
        n_head: 2,
        n_kv_head: 2,
        summary: Summary::MeanSq,
        components,
        duplicates: vec![],
        extra: Default::default(),
    };
    CccTensor::empty(meta, n_coord, steps, lengths).unwrap()
}

fn column(n: usize, step: i64) -> Vec<f32> {
    (0..n).map(|i| (step as f32) * 0.5 + i as f32).collect()
}

/// The tensor a file must read as: these steps, every column filled with [`column`].
fn expected(n_coord: usize, steps: &[i64]) -> CccTensor {
    let mut t = toy(n_coord, steps.to_vec());
    let n = n_coord * t.n_comp();
    for (i, &s) in steps.iter().enumerate() {
        t.set_column(i, &column(n, s)).unwrap();
    }
    t
}

/// Add `step` to the file at `path` (after its last one) and fill it, as a growing run does.
fn append(path: &Path, step: i64) {
    let mut f = CccFile::open(path).unwrap();
    f.add_steps(&[step]).unwrap();
    let t = f.header().steps.binary_search(&step).unwrap();
    let [c, _, k] = f.header().shape();
    f.write_column(t, &column(c * k, step)).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Whatever the steps, a file grown one checkpoint at a time reads as the tensor written whole, and it is
    /// rewritten only a few times (each rewrite leaves room for half as many checkpoints again).
    #[test]
    fn growing_one_at_a_time_reads_as_the_whole_tensor(
        n_coord in 1usize..5,
        gaps in proptest::collection::vec(1i64..1000, 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grow.safetensors");
        let mut steps = vec![0i64];
        file::write(&path, &expected(n_coord, &steps)).unwrap();
        let mut rewrites = 0;
        for g in gaps {
            let ino = std::fs::metadata(&path).unwrap().ino();
            let next = steps.last().unwrap() + g;
            append(&path, next);
            steps.push(next);
            rewrites += usize::from(std::fs::metadata(&path).unwrap().ino() != ino);
            prop_assert_eq!(file::read(&path).unwrap(), expected(n_coord, &steps));
            let h = file::read_header(&path).unwrap();
            prop_assert_eq!(&h.steps, &steps);
            prop_assert!(!h.meta.extra.contains_key(SPARE_KEY));
        }
        prop_assert!(rewrites <= 4, "{} rewrites for {} checkpoints", rewrites, steps.len());
    }
}

#[test]
fn a_grown_file_is_plain_safetensors_with_unfilled_spare_slots() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.safetensors");
    file::write(&path, &expected(3, &[0])).unwrap();
    append(&path, 10);
    let h = file::read_header(&path).unwrap();
    assert_eq!((h.steps.clone(), h.spare()), (vec![0, 10], 8));
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("mags").unwrap().shape(), &[3, 10, h.meta.components.len()]);
    assert_eq!(st.tensor("filled").unwrap().data(), &[1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(meta.metadata().as_ref().and_then(|m| m.get(SPARE_KEY)).map(String::as_str), Some("8"));
    // The next checkpoints go in place: the same file (inode), one slot fewer.
    let ino = std::fs::metadata(&path).unwrap().ino();
    append(&path, 20);
    assert_eq!(std::fs::metadata(&path).unwrap().ino(), ino);
    assert_eq!(file::read_header(&path).unwrap().spare(), 7);
    assert_eq!(file::read(&path).unwrap(), expected(3, &[0, 10, 20]));
}

/// A crash after a step's value is written into a spare slot but before the header counts it: the slot is still
/// spare, and the file reads as before.
#[test]
fn a_spare_slot_holding_a_step_is_still_spare_until_the_header_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.safetensors");
    file::write(&path, &expected(2, &[0])).unwrap();
    append(&path, 10);
    let before = file::read(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (n, _) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let steps_at = st.tensor("steps").unwrap().data().as_ptr() as usize - bytes.as_ptr() as usize;
    assert!(steps_at > n);
    let mut crashed = bytes.clone();
    crashed[steps_at + 16..steps_at + 24].copy_from_slice(&20i64.to_le_bytes());
    std::fs::write(&path, &crashed).unwrap();
    assert_eq!(file::read(&path).unwrap(), before);
    // Resuming takes the slot properly.
    append(&path, 20);
    assert_eq!(file::read(&path).unwrap(), expected(2, &[0, 10, 20]));
}

#[test]
fn a_step_before_the_last_rewrites_the_file_and_drops_the_spare_slots() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.safetensors");
    file::write(&path, &expected(2, &[0])).unwrap();
    append(&path, 10);
    append(&path, 5);
    let h = file::read_header(&path).unwrap();
    assert_eq!((h.steps.clone(), h.spare()), (vec![0, 5, 10], 0));
    assert_eq!(file::read(&path).unwrap(), expected(2, &[0, 5, 10]));
}

#[test]
fn a_bad_spare_count_is_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    for (value, why) in [("x", "not a non-negative integer"), ("99", "99, but there are 1 checkpoint slots")] {
        let mut t = expected(2, &[0]);
        t.meta.extra.insert(SPARE_KEY.into(), value.into());
        let path = dir.path().join(format!("bad-{value}.safetensors"));
        file::write(&path, &t).unwrap();
        let err = file::read(&path).unwrap_err().to_string();
        assert!(err.contains(why), "{err}");
    }
}
