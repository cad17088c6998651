//! The 2-D trajectories of docs/analysis.md §6: each coordinate's path through (group 1, group 2) space.

use std::fmt;
use std::str::FromStr;

use ccc_core::CccTensor;

use crate::error::AnalyzeError;
use crate::robust::{pairwise_sum_f32, pairwise_sum_f64};
use crate::view::{blocks, MappedTensor};

/// How the components of a group are combined (docs/analysis.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Aggregation {
    /// `Σ mags` (the reference tool's `lengths-weighted`; the default).
    #[default]
    Sum,
    /// `Σ mags / (len_k / Σ len)` (the reference tool's `unweighted`).
    InverseLength,
    /// `Σ len_k · mags / Σ len_k`, a true length-weighted mean.
    Pooled,
}

impl Aggregation {
    /// All aggregations.
    pub const ALL: [Aggregation; 3] = [Aggregation::Sum, Aggregation::InverseLength, Aggregation::Pooled];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Aggregation::Sum => "sum",
            Aggregation::InverseLength => "inverse_length",
            Aggregation::Pooled => "pooled",
        }
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Aggregation {
    type Err = AnalyzeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Aggregation::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| {
            AnalyzeError::InvalidOption(format!("unknown aggregation `{s}`; expected sum, inverse_length or pooled"))
        })
    }
}

/// The normalized, log-scaled 2-D trajectories of every coordinate: `x[c*T + t]`, `y[c*T + t]`.
///
/// The group sums are accumulated in `f32` (the tensor's dtype) in the order of NumPy's pairwise summation, as the
/// reference tool does; normalization and logarithm are then computed in `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectories {
    /// Number of coordinates.
    pub n_coord: usize,
    /// Number of checkpoints.
    pub n_ckpt: usize,
    /// Group-1 channel.
    pub x: Vec<f64>,
    /// Group-2 channel.
    pub y: Vec<f64>,
}

impl Trajectories {
    /// The point of coordinate `c` at checkpoint `t`.
    ///
    /// # Panics
    /// When `c` or `t` is out of range.
    #[inline]
    pub fn point(&self, c: usize, t: usize) -> (f64, f64) {
        let i = c * self.n_ckpt + t;
        (self.x[i], self.y[i])
    }

    /// The group-1 channel of checkpoint `t` for every coordinate.
    pub fn x_at(&self, t: usize) -> Vec<f64> {
        (0..self.n_coord).map(|c| self.x[c * self.n_ckpt + t]).collect()
    }

    /// The group-2 channel of checkpoint `t` for every coordinate.
    pub fn y_at(&self, t: usize) -> Vec<f64> {
        (0..self.n_coord).map(|c| self.y[c * self.n_ckpt + t]).collect()
    }
}

/// Per-component weights of one group under an aggregation (`None` for a plain sum).
fn weights(lengths: &[i64], group: &[usize], agg: Aggregation) -> Option<Vec<f64>> {
    let total: f64 = group.iter().map(|&k| lengths[k] as f64).sum();
    match agg {
        Aggregation::Sum => None,
        // The reference divides by `len_k / Σ len`.
        Aggregation::InverseLength => Some(
            group
                .iter()
                .map(|&k| {
                    let share = lengths[k] as f64 / total;
                    if share > 0.0 {
                        1.0 / share
                    } else {
                        0.0
                    }
                })
                .collect(),
        ),
        Aggregation::Pooled => {
            Some(group.iter().map(|&k| if total > 0.0 { lengths[k] as f64 / total } else { 0.0 }).collect())
        }
    }
}

/// The raw (un-normalized) aggregate of one group for each row of `rows` (`K` values each) into `out`.
fn aggregate_rows(rows: &[f32], n_k: usize, group: &[usize], w: Option<&[f64]>, out: &mut [f64]) {
    use rayon::prelude::*;
    out.par_chunks_mut(256).enumerate().for_each(|(ci, chunk)| {
        let mut buf32: Vec<f32> = Vec::with_capacity(group.len());
        let mut buf64: Vec<f64> = Vec::with_capacity(group.len());
        for (j, o) in chunk.iter_mut().enumerate() {
            let r = ci * 256 + j;
            let row = &rows[r * n_k..(r + 1) * n_k];
            *o = match w {
                None => {
                    buf32.clear();
                    buf32.extend(group.iter().map(|&k| row[k]));
                    pairwise_sum_f32(&buf32) as f64
                }
                Some(w) => {
                    buf64.clear();
                    buf64.extend(group.iter().zip(w).map(|(&k, &wk)| row[k] as f64 * wk));
                    pairwise_sum_f64(&buf64)
                }
            };
        }
    });
}

/// The raw (un-normalized) aggregate of one group for every `(c, t)`.
fn aggregate(t: &CccTensor, group: &[usize], agg: Aggregation) -> Vec<f64> {
    let w = weights(&t.lengths, group, agg);
    let mut out = vec![0.0f64; t.n_coord * t.n_ckpt()];
    aggregate_rows(&t.mags, t.n_comp(), group, w.as_deref(), &mut out);
    out
}

/// Normalize a channel to `[0, 1)` over all `(c, t)` and take `log(· + 0.01)` (docs/analysis.md §6).
fn normalize_log(a: &mut [f64]) {
    let min = a.iter().copied().fold(f64::INFINITY, f64::min);
    a.iter_mut().for_each(|v| *v -= min);
    let max = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    a.iter_mut().for_each(|v| *v = (*v / (max + 1e-6) + 0.01).ln());
}

/// The trajectories for component groups `(grp1, grp2)` of a tensor (pass only the checkpoints to use).
///
/// An empty group gives a constant channel (`log 0.01`).
///
/// # Panics
/// When a component index is out of range (callers validate groups first).
pub fn trajectories(t: &CccTensor, grp1: &[usize], grp2: &[usize], agg: Aggregation) -> Trajectories {
    let (mut x, mut y) = rayon::join(|| aggregate(t, grp1, agg), || aggregate(t, grp2, agg));
    normalize_log(&mut x);
    normalize_log(&mut y);
    Trajectories { n_coord: t.n_coord, n_ckpt: t.n_ckpt(), x, y }
}

/// The trajectories of many component groupings of a mapped tensor, in one streaming pass over blocks of
/// coordinates (docs/analysis.md §10): each block's group sums for every grouping, then the normalization of
/// each channel over all `(c, t)`. Equal to [`trajectories`] of the same values.
///
/// # Panics
/// When a component index is out of range (callers validate groups first).
pub fn trajectories_mapped(
    view: &MappedTensor,
    groupings: &[(Vec<usize>, Vec<usize>)],
    agg: Aggregation,
    block_bytes: usize,
) -> Vec<Trajectories> {
    let [c_n, t_n, k_n] = view.shape();
    // The weights of group 1 and group 2 of each grouping.
    let w: Vec<[Option<Vec<f64>>; 2]> =
        groupings.iter().map(|(g1, g2)| [weights(view.lengths(), g1, agg), weights(view.lengths(), g2, agg)]).collect();
    let mut xy: Vec<(Vec<f64>, Vec<f64>)> =
        groupings.iter().map(|_| (vec![0.0; c_n * t_n], vec![0.0; c_n * t_n])).collect();
    let all: Vec<usize> = (0..c_n).collect();
    for cs in blocks(c_n, view.coords_per_block(block_bytes)) {
        let mut rows = vec![0.0f32; cs.len() * t_n * k_n];
        view.read_block(&all[cs.clone()], 0..t_n, &mut rows);
        view.release();
        let span = cs.start * t_n..cs.end * t_n;
        for (((g1, g2), [w1, w2]), (x, y)) in groupings.iter().zip(&w).zip(xy.iter_mut()) {
            aggregate_rows(&rows, k_n, g1, w1.as_deref(), &mut x[span.clone()]);
            aggregate_rows(&rows, k_n, g2, w2.as_deref(), &mut y[span.clone()]);
        }
    }
    xy.into_iter()
        .map(|(mut x, mut y)| {
            normalize_log(&mut x);
            normalize_log(&mut y);
            Trajectories { n_coord: c_n, n_ckpt: t_n, x, y }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ccc_core::{CccMeta, Component, ComponentKind, Mode, Summary};

    pub(crate) fn tensor(
        n_coord: usize,
        n_ckpt: usize,
        n_comp: usize,
        f: impl Fn(usize, usize, usize) -> f32,
    ) -> CccTensor {
        let components = (0..n_comp).map(|i| Component::head(ComponentKind::Q, 0, i)).collect();
        let meta = CccMeta {
            model: "t".into(),
            architecture: "x".into(),
            mode: Mode::Full,
            n_layer: 1,
            n_head: n_comp,
            n_kv_head: n_comp,
            summary: Summary::MeanSq,
            components,
            duplicates: vec![],
            extra: Default::default(),
        };
        let mut t =
            CccTensor::empty(meta, n_coord, (0..n_ckpt as i64).collect(), (1..=n_comp as i64).collect()).unwrap();
        for c in 0..n_coord {
            for s in 0..n_ckpt {
                for k in 0..n_comp {
                    let i = t.index(c, s, k);
                    t.mags[i] = f(c, s, k);
                }
            }
        }
        t.filled.iter_mut().for_each(|f| *f = true);
        t
    }

    #[test]
    fn channels_are_normalized_logs() {
        let t = tensor(3, 4, 3, |c, s, k| (c + s + k) as f32);
        let tr = trajectories(&t, &[0], &[1, 2], Aggregation::Sum);
        let lo = (0.01f64).ln();
        let hi = (10.0f64 / (10.0 + 1e-6) + 0.01).ln();
        assert!((tr.x.iter().copied().fold(f64::INFINITY, f64::min) - lo).abs() < 1e-12);
        assert!((tr.y.iter().copied().fold(f64::NEG_INFINITY, f64::max) - hi).abs() < 1e-12);
        // y is the normalized sum of components 1 and 2: c + s + 1 + c + s + 2, from 3 to 3 + 2·(2 + 3).
        let (_, y) = tr.point(2, 3);
        let want = ((2.0 * 5.0 + 3.0 - 3.0) / (10.0 + 1e-6) + 0.01f64).ln();
        assert!((y - want).abs() < 1e-12);
        // A single-component group is the same under every aggregation (weights are normalized away).
        let p = trajectories(&t, &[0], &[1, 2], Aggregation::Pooled);
        assert_eq!(p.x, tr.x);
        let i = trajectories(&t, &[0], &[1, 2], Aggregation::InverseLength);
        assert_eq!(i.x, tr.x);
    }
}
