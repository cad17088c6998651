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

/// The per-`(t, k)` constants of `prep` (docs/analysis.md §2): with them, `prep` is a pointwise function of `mags`,
/// so any block of it can be computed from the matching block of `mags` (what the blockwise analysis does).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnStats {
    /// Step 1's divisor, `max_c mags + 1e-4`.
    pub d_max: f32,
    /// Step 2's median of the normalized values.
    pub median: f32,
    /// Step 2's divisor, `1e-6 + MAD / 0.6745`.
    pub d_mad: f32,
    /// Step 4's divisor, `max_c |z| + 1e-4`.
    pub d_abs: f32,
}

impl ColumnStats {
    /// The constants of one `(t, k)` column (its values over the coordinates). `scratch` is a buffer of the same
    /// length. Every operation is the `float32` operation of the reference.
    pub fn of(col: &[f32], scratch: &mut Vec<f32>) -> ColumnStats {
        let max = col.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let d_max = max + 1e-4f32;
        scratch.clear();
        scratch.extend(col.iter().map(|&v| v / d_max));
        let median = median_f32_in_place(scratch);
        scratch.clear();
        scratch.extend(col.iter().map(|&v| (v / d_max - median).abs()));
        let mad = median_f32_in_place(scratch);
        let d_mad = 1e-6f32 + mad / 0.6745f32;
        let mut s = ColumnStats { d_max, median, d_mad, d_abs: 1.0 };
        let amax = col.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(s.signed_pow(v).abs()));
        s.d_abs = amax + 1e-4f32;
        s
    }

    /// Steps 1–3 of one value: `sign(z) · z⁴` of its clipped MAD score.
    #[inline]
    fn signed_pow(&self, v: f32) -> f32 {
        let z = ((v / self.d_max - self.median) / self.d_mad).clamp(-6.0, 6.0);
        let p = (z as f64).powi(4) as f32;
        if z > 0.0 {
            p
        } else if z < 0.0 {
            -p
        } else {
            0.0
        }
    }

    /// `prep` of one value of this column (steps 1–4).
    #[inline]
    pub fn apply(&self, v: f32) -> f32 {
        let s = self.signed_pow(v);
        let a = s.abs() / self.d_abs;
        if s > 0.0 {
            a
        } else if s < 0.0 {
            -a
        } else {
            0.0
        }
    }

    /// Step 1 of one value.
    #[inline]
    pub fn normalize(&self, v: f32) -> f32 {
        v / self.d_max
    }
}

/// The [`ColumnStats`] of one checkpoint's `C × K` column (row-major), one per component.
pub fn column_stats(col: &[f32], n_coord: usize, n_comp: usize) -> Vec<ColumnStats> {
    let mut fibre = vec![0.0f32; n_coord];
    let mut scratch = Vec::with_capacity(n_coord);
    (0..n_comp)
        .map(|k| {
            for (c, v) in fibre.iter_mut().enumerate() {
                *v = col[c * n_comp + k];
            }
            ColumnStats::of(&fibre, &mut scratch)
        })
        .collect()
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
    // The constants of every `(t, k)` column, in parallel over checkpoints; then `prep` is pointwise.
    let stats: Vec<Vec<ColumnStats>> = (0..n_t)
        .into_par_iter()
        .map(|t| {
            let mut col = vec![0.0f32; n_c * n_k];
            for c in 0..n_c {
                col[c * n_k..(c + 1) * n_k].copy_from_slice(mags.row(c, t));
            }
            column_stats(&col, n_c, n_k)
        })
        .collect();
    let map = |f: &(dyn Fn(&ColumnStats, f32) -> f32 + Sync)| {
        let mut data = mags.data.clone();
        data.par_chunks_mut((n_t * n_k).max(1)).for_each(|block| {
            for (t, row) in block.chunks_exact_mut(n_k.max(1)).enumerate() {
                for (v, s) in row.iter_mut().zip(&stats[t]) {
                    *v = f(s, *v);
                }
            }
        });
        Tensor3 { n_coord: n_c, n_ckpt: n_t, n_comp: n_k, data }
    };
    let prep = map(&|s, v| s.apply(v));
    let normalized = keep_normalized.then(|| map(&|s, v| s.normalize(v)));
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
