//! The classifiers' input `prep` (docs/analysis.md §2), computed in `f32` as the reference tool does.

use rayon::prelude::*;

use crate::robust::median_f32_in_place;

/// A dense `C × T × K` tensor of `f32`, row-major (`(c * T + t) * K + k`), the layout of [`ccc_core::CccTensor`].
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor3 {
    /// Coordinates.
    pub n_coord: usize,
    /// Checkpoints.
    pub n_ckpt: usize,
    /// Components.
    pub n_comp: usize,
    /// The values.
    pub data: Vec<f32>,
}

impl Tensor3 {
    /// The value at `(c, t, k)`.
    ///
    /// # Panics
    /// When an index is out of range.
    #[inline]
    pub fn get(&self, c: usize, t: usize, k: usize) -> f32 {
        self.data[(c * self.n_ckpt + t) * self.n_comp + k]
    }

    /// The `(c, t)` row of `K` values.
    #[inline]
    pub fn row(&self, c: usize, t: usize) -> &[f32] {
        let i = (c * self.n_ckpt + t) * self.n_comp;
        &self.data[i..i + self.n_comp]
    }

    /// The sub-tensor of the given coordinates (in the given order).
    pub fn select_coords(&self, coords: &[usize]) -> Tensor3 {
        let w = self.n_ckpt * self.n_comp;
        let mut data = Vec::with_capacity(coords.len() * w);
        for &c in coords {
            data.extend_from_slice(&self.data[c * w..(c + 1) * w]);
        }
        Tensor3 { n_coord: coords.len(), n_ckpt: self.n_ckpt, n_comp: self.n_comp, data }
    }
}

/// The result of [`prep`]: step 1 (`normalized`) is kept only on request.
#[derive(Debug, Clone)]
pub struct Prep {
    /// `n = mags / (max_c mags + 1e-4)` (docs/analysis.md §2 step 1), when asked for.
    pub normalized: Option<Tensor3>,
    /// The classifiers' input.
    pub prep: Tensor3,
}

/// Compute `prep` from `mags` (`C × T × K`, only the checkpoints to analyze), docs/analysis.md §2:
/// 1. `n = mags / (max_c mags + 1e-4)`;
/// 2. `z = mad_z(n)` along the coordinates, clipped to `[-6, 6]`;
/// 3. `z = sign(z) · z⁴`;
/// 4. `z = sign(z) · |z| / (max_c |z| + 1e-4)`.
///
/// Every operation is the `float32` operation of the reference (medians as NumPy's; `z⁴` correctly rounded).
pub fn prep(mags: &Tensor3, keep_normalized: bool) -> Prep {
    let (n_c, n_t, n_k) = (mags.n_coord, mags.n_ckpt, mags.n_comp);
    // One checkpoint at a time, in parallel: each yields its `C × K` slab of `prep` (and of `n`).
    let slabs: Vec<(Vec<f32>, Vec<f32>)> = (0..n_t)
        .into_par_iter()
        .map(|t| {
            let mut out = vec![0.0f32; n_c * n_k];
            let mut norm = if keep_normalized { vec![0.0f32; n_c * n_k] } else { Vec::new() };
            let mut col = vec![0.0f32; n_c];
            let mut scratch = vec![0.0f32; n_c];
            for k in 0..n_k {
                for (c, v) in col.iter_mut().enumerate() {
                    *v = mags.data[(c * n_t + t) * n_k + k];
                }
                // Step 1.
                let max = col.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let d = max + 1e-4f32;
                col.iter_mut().for_each(|v| *v /= d);
                if keep_normalized {
                    for (c, &v) in col.iter().enumerate() {
                        norm[c * n_k + k] = v;
                    }
                }
                // Step 2: signed MAD scores in f32.
                scratch.copy_from_slice(&col);
                let med = median_f32_in_place(&mut scratch);
                for (s, &v) in scratch.iter_mut().zip(&col) {
                    *s = (v - med).abs();
                }
                let mad = median_f32_in_place(&mut scratch);
                let d = 1e-6f32 + mad / 0.6745f32;
                // Steps 2–3.
                col.iter_mut().for_each(|v| {
                    let z = ((*v - med) / d).clamp(-6.0, 6.0);
                    let p = (z as f64).powi(4) as f32;
                    *v = if z > 0.0 {
                        p
                    } else if z < 0.0 {
                        -p
                    } else {
                        0.0
                    };
                });
                // Step 4.
                let amax = col.iter().fold(f32::NEG_INFINITY, |m, v| m.max(v.abs()));
                let d = amax + 1e-4f32;
                for (c, &v) in col.iter().enumerate() {
                    let a = v.abs() / d;
                    out[c * n_k + k] = if v > 0.0 {
                        a
                    } else if v < 0.0 {
                        -a
                    } else {
                        0.0
                    };
                }
            }
            (out, norm)
        })
        .collect();
    // `second` picks the normalized slab of each checkpoint instead of the prep slab.
    let scatter = |second: bool| {
        let mut data = vec![0.0f32; n_c * n_t * n_k];
        data.par_chunks_mut(n_t * n_k.max(1)).enumerate().for_each(|(c, dst)| {
            for (t, slab) in slabs.iter().enumerate() {
                let src = if second { &slab.1 } else { &slab.0 };
                dst[t * n_k..(t + 1) * n_k].copy_from_slice(&src[c * n_k..(c + 1) * n_k]);
            }
        });
        Tensor3 { n_coord: n_c, n_ckpt: n_t, n_comp: n_k, data }
    };
    let prep = scatter(false);
    let normalized = keep_normalized.then(|| scatter(true));
    Prep { normalized, prep }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // the tests index several parallel arrays by coordinate
mod tests {
    use super::*;

    #[test]
    fn prep_of_one_fibre() {
        // C = 5, T = 1, K = 1: values 1, 2, 3, 4, 10.
        let mags = Tensor3 { n_coord: 5, n_ckpt: 1, n_comp: 1, data: vec![1.0, 2.0, 3.0, 4.0, 10.0] };
        let p = prep(&mags, true);
        let n: Vec<f64> = mags.data.iter().map(|&v| v as f64 / (10.0 + 1e-4)).collect();
        let nn = p.normalized.unwrap();
        for c in 0..5 {
            assert!((nn.data[c] as f64 - n[c]).abs() < 1e-7);
        }
        // Independent f64 recomputation: median 3/s, MAD 1/s.
        let s = 10.0 + 1e-4;
        let z: Vec<f64> = n
            .iter()
            .map(|&v| ((v - 3.0 / s) / (1e-6 + (1.0 / s) / 0.6745)).clamp(-6.0, 6.0))
            .map(|z: f64| z.signum() * z.powi(4))
            .collect();
        let amax = z.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for c in 0..5 {
            let want = if z[c] == 0.0 { 0.0 } else { z[c].signum() * z[c].abs() / (amax + 1e-4) };
            assert!((p.prep.data[c] as f64 - want).abs() < 1e-5, "{c}: {} vs {want}", p.prep.data[c]);
        }
        assert_eq!(p.prep.data[2], 0.0);
    }
}
