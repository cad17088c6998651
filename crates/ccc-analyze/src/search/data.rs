//! The tensor as the search reads it: one contiguous column of `C × T` values per component, and the weights of
//! the aggregation (docs/search.md §2).

use ccc_core::CccTensor;

use crate::trajectory::Aggregation;

/// A tensor laid out component-major (`cols[k][c·T + t]`), so that adding a component to a group sum reads one
/// contiguous block instead of `C · T` strided values.
#[derive(Debug, Clone)]
pub(crate) struct SearchData {
    pub n_coord: usize,
    pub n_ckpt: usize,
    pub n_comp: usize,
    /// `cols[k * C·T + c·T + t] = mags[c, t, k]`.
    pub cols: Vec<f32>,
    /// Per-component weight `w_k` of the group sum `Σ w_k mags_k` (1, `len_k` or `1 / len_k`).
    pub weight: Vec<f64>,
    /// Row lengths `len_k`, for the aggregation's group factor.
    pub lengths: Vec<f64>,
    pub agg: Aggregation,
}

impl SearchData {
    /// The component-major copy of `t` (already restricted to the checkpoints used).
    pub fn new(t: &CccTensor, agg: Aggregation) -> SearchData {
        use rayon::prelude::*;
        let (n_c, n_t, n_k) = (t.n_coord, t.n_ckpt(), t.n_comp());
        let ct = n_c * n_t;
        let mut cols = vec![0.0f32; ct * n_k];
        if ct > 0 {
            cols.par_chunks_mut(ct).enumerate().for_each(|(k, col)| {
                for c in 0..n_c {
                    for s in 0..n_t {
                        col[c * n_t + s] = t.mags[(c * n_t + s) * n_k + k];
                    }
                }
            });
        }
        let lengths: Vec<f64> = t.lengths.iter().map(|&l| l as f64).collect();
        let weight = lengths
            .iter()
            .map(|&l| match agg {
                Aggregation::Sum => 1.0,
                Aggregation::Pooled => l,
                Aggregation::InverseLength => {
                    if l > 0.0 {
                        1.0 / l
                    } else {
                        0.0
                    }
                }
            })
            .collect();
        SearchData { n_coord: n_c, n_ckpt: n_t, n_comp: n_k, cols, weight, lengths, agg }
    }

    /// Component `k`'s column (`C · T` values).
    #[inline]
    pub fn col(&self, k: usize) -> &[f32] {
        let ct = self.n_coord * self.n_ckpt;
        &self.cols[k * ct..(k + 1) * ct]
    }

    /// The factor that turns `Σ w_k mags_k` into the aggregate, for a group of total length `total_len`.
    #[inline]
    pub fn factor(&self, total_len: f64) -> f64 {
        match self.agg {
            Aggregation::Sum => 1.0,
            Aggregation::Pooled => {
                if total_len > 0.0 {
                    1.0 / total_len
                } else {
                    0.0
                }
            }
            Aggregation::InverseLength => total_len,
        }
    }
}
