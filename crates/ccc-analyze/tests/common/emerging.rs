//! A planted tensor for the analysis over training: inliers that drift smoothly, two coordinates that are large
//! outliers from the start, and eight inliers that turn into erratic large outliers from checkpoint
//! [`PLANTED_CKPT`] on. Shared by `ccc-analyze/tests/timeline.rs` and the CLI tests (`#[path]`).

#![allow(dead_code)]

use ccc_core::ComponentKind::{EmbIn, Ln1, Ln2, MlpIn, MlpOut, K, O, Q, V};
use ccc_core::{CccMeta, CccTensor, Component, Mode, Summary};
use rand::{Rng, SeedableRng};

/// Coordinates, checkpoints.
pub const N_COORD: usize = 64;
/// Checkpoints (steps 0, 100, …, 3900).
pub const N_CKPT: usize = 40;
/// The checkpoint from which the late outliers are outliers.
pub const PLANTED_CKPT: usize = 20;
/// The step of [`PLANTED_CKPT`].
pub const PLANTED_STEP: i64 = 100 * PLANTED_CKPT as i64;
/// Outliers from the start.
pub const EARLY: [usize; 2] = [3, 17];
/// Outliers from [`PLANTED_CKPT`] on.
pub const LATE: [usize; 8] = [5, 11, 23, 31, 42, 50, 58, 60];

/// The planted tensor (seeded: the same every time).
pub fn planted_tensor() -> CccTensor {
    let components = Component::full_list(2, 2, 2, &[EmbIn, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2]);
    let n_comp = components.len();
    let meta = CccMeta {
        model: "planted emergence".into(),
        architecture: "gpt_neox".into(),
        mode: Mode::Full,
        n_layer: 2,
        n_head: 2,
        n_kv_head: 2,
        summary: Summary::MeanSq,
        components,
        duplicates: vec![],
        extra: Default::default(),
    };
    let steps: Vec<i64> = (0..N_CKPT as i64).map(|i| 100 * i).collect();
    let mut t = CccTensor::empty(meta, N_COORD, steps, vec![32; n_comp]).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(22);
    let base_c: Vec<f32> = (0..N_COORD).map(|_| 0.8 + 0.4 * rng.random::<f32>()).collect();
    let base_k: Vec<f32> = (0..n_comp).map(|_| 0.5 + rng.random::<f32>()).collect();
    let grows: Vec<bool> = (0..n_comp).map(|k| k % 2 == 0).collect();
    let mut col = vec![0.0f32; N_COORD * n_comp];
    for s in 0..N_CKPT {
        let f = s as f32 / N_CKPT as f32;
        for c in 0..N_COORD {
            for k in 0..n_comp {
                let trend = if grows[k] { 1.0 + f } else { 1.0 / (1.0 + f) };
                let noise = 1.0 + 0.05 * (rng.random::<f32>() - 0.5);
                let boost = if EARLY.contains(&c) {
                    6.0 + 3.0 * rng.random::<f32>()
                } else if LATE.contains(&c) && s >= PLANTED_CKPT {
                    6.0 + 6.0 * rng.random::<f32>()
                } else {
                    1.0
                };
                col[c * n_comp + k] = base_c[c] * base_k[k] * trend * noise * boost;
            }
        }
        t.set_column(s, &col).unwrap();
    }
    t
}
