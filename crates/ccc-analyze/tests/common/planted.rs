//! A seeded synthetic CCC tensor with planted component groups and outlier coordinates, for the search's tests
//! and benchmark (docs/search.md §6).
//!
//! Coordinate `c` has two latent amplitudes `a_c`, `b_c` in `[−1, 1]` (mean 0). Components of group 1 follow
//! `1 + 0.6·a_c·t/T`, those of group 2 `1 + 0.6·b_c·√(t/T)`, the others only noise; every value gets 3%
//! multiplicative noise, drawn independently per `(c, t, k)`. So a group sum moves each coordinate coherently,
//! by its own amplitude (a regular, radial flow), while in a null tensor — coordinates permuted within each
//! component — the amplitudes average out and only the noise is left. A few outlier coordinates take large
//! random jumps shared by all their components.

#![allow(dead_code, clippy::needless_range_loop)]

use ccc_core::ComponentKind::{EmbIn, EmbOut, Ln1, Ln2, MlpIn, MlpOut, K, O, Q, V};
use ccc_core::{CccMeta, CccTensor, Component, Mode, Summary};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The planted truth.
#[derive(Debug, Clone)]
pub struct Truth {
    pub grp1: Vec<usize>,
    pub grp2: Vec<usize>,
    pub coords_out: Vec<usize>,
}

/// A planted tensor with a pythia-70m-like component list: `emb_in`, `emb_out`, and per layer `heads` heads of
/// Q, K, V, O, the two MLP matrices and the two norm gains (`6` layers × `8` heads: 218 components).
pub fn planted(n_coord: usize, n_ckpt: usize, n_layer: usize, n_head: usize, seed: u64) -> (CccTensor, Truth) {
    let components =
        Component::full_list(n_layer, n_head, n_head, &[EmbIn, EmbOut, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2]);
    let n_comp = components.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // A third of the components in each group, the rest noise.
    let role: Vec<u8> = (0..n_comp).map(|_| rng.random_range(0..3u8)).collect();
    let n_out = (n_coord / 50).max(1);
    let mut is_out = vec![false; n_coord];
    for c in rand::seq::index::sample(&mut rng, n_coord, n_out) {
        is_out[c] = true;
    }
    let a: Vec<f64> = (0..n_coord).map(|_| rng.random_range(-1.0..1.0)).collect();
    let b: Vec<f64> = (0..n_coord).map(|_| rng.random_range(-1.0..1.0)).collect();
    let base: Vec<f64> = (0..n_comp).map(|_| rng.random_range(0.5..2.0)).collect();
    // Outliers: a random walk of large jumps, shared by every component of the coordinate.
    let jumps: Vec<Vec<f64>> = (0..n_coord)
        .map(|_| {
            let mut v = 1.0f64;
            (0..n_ckpt)
                .map(|_| {
                    v = (v * (1.0 + rng.random_range(-0.5..0.5))).clamp(0.3, 4.0);
                    v
                })
                .collect()
        })
        .collect();
    let meta = CccMeta {
        model: format!("planted synthetic (seed {seed})"),
        architecture: "gpt_neox".into(),
        mode: Mode::Full,
        n_layer,
        n_head,
        n_kv_head: n_head,
        summary: Summary::MeanSq,
        components,
        duplicates: vec![],
        extra: Default::default(),
    };
    let steps: Vec<i64> = (0..n_ckpt as i64).map(|i| i * 1000).collect();
    let mut t = CccTensor::empty(meta, n_coord, steps, vec![n_coord as i64; n_comp]).expect("a valid shape");
    let mut col = vec![0.0f32; n_coord * n_comp];
    for s in 0..n_ckpt {
        let f = s as f64 / (n_ckpt.max(2) - 1) as f64;
        for c in 0..n_coord {
            for k in 0..n_comp {
                let trend = match role[k] {
                    0 => 1.0 + 0.6 * a[c] * f,
                    1 => 1.0 + 0.6 * b[c] * f.sqrt(),
                    _ => 1.0,
                };
                let noise = 1.0 + 0.03 * rng.random_range(-1.0..1.0);
                let jump = if is_out[c] { jumps[c][s] } else { 1.0 };
                col[c * n_comp + k] = (base[k] * trend * noise * jump) as f32;
            }
        }
        t.set_column(s, &col).expect("a column of the right length");
    }
    let idx = |r: u8| (0..n_comp).filter(|&k| role[k] == r).collect();
    let truth = Truth { grp1: idx(0), grp2: idx(1), coords_out: (0..n_coord).filter(|&c| is_out[c]).collect() };
    (t, truth)
}
