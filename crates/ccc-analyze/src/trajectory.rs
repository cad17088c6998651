//! The 2-D trajectories of spec 02 §6: each coordinate's path through (group 1, group 2) space.

use std::fmt;
use std::str::FromStr;

use ccc_core::CccTensor;

use crate::error::AnalyzeError;

/// How the components of a group are combined (spec 02 §6).
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
/// Computed in `f32`, the dtype of the tensor, as the reference tool does.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectories {
    /// Number of coordinates.
    pub n_coord: usize,
    /// Number of checkpoints.
    pub n_ckpt: usize,
    /// Group-1 channel.
    pub x: Vec<f32>,
    /// Group-2 channel.
    pub y: Vec<f32>,
}

impl Trajectories {
    /// The point of coordinate `c` at checkpoint `t`.
    #[inline]
    pub fn point(&self, c: usize, t: usize) -> (f32, f32) {
        let i = c * self.n_ckpt + t;
        (self.x[i], self.y[i])
    }
}

/// Per-component weights of one group under an aggregation.
fn weights(t: &CccTensor, group: &[usize], agg: Aggregation) -> Vec<(usize, f32)> {
    let total: f64 = group.iter().map(|&k| t.lengths[k] as f64).sum();
    group
        .iter()
        .map(|&k| {
            let len = t.lengths[k] as f64;
            let w = match agg {
                Aggregation::Sum => 1.0,
                Aggregation::InverseLength => {
                    if len > 0.0 {
                        total / len
                    } else {
                        0.0
                    }
                }
                Aggregation::Pooled => {
                    if total > 0.0 {
                        len / total
                    } else {
                        0.0
                    }
                }
            };
            (k, w as f32)
        })
        .collect()
}

fn channel(t: &CccTensor, group: &[usize], agg: Aggregation) -> Vec<f32> {
    let (n_t, n_k) = (t.n_ckpt(), t.n_comp());
    let w = weights(t, group, agg);
    let mut a: Vec<f32> = (0..t.n_coord * n_t)
        .map(|ct| {
            let row = &t.mags[ct * n_k..(ct + 1) * n_k];
            w.iter().map(|&(k, wk)| if agg == Aggregation::Sum { row[k] } else { row[k] * wk }).sum()
        })
        .collect();
    // Normalize the whole channel to [0, 1) and take a log, as spec 02 §6.
    let min = a.iter().copied().fold(f32::INFINITY, f32::min);
    a.iter_mut().for_each(|v| *v -= min);
    let max = a.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    a.iter_mut().for_each(|v| *v = (*v / (max + 1e-6) + 0.01).ln());
    a
}

/// The trajectories for component groups `(grp1, grp2)` of a tensor (use only filled checkpoints).
///
/// # Panics
/// When a component index is out of range (callers validate groups first).
pub fn trajectories(t: &CccTensor, grp1: &[usize], grp2: &[usize], agg: Aggregation) -> Trajectories {
    let (x, y) = rayon::join(|| channel(t, grp1, agg), || channel(t, grp2, agg));
    Trajectories { n_coord: t.n_coord, n_ckpt: t.n_ckpt(), x, y }
}

#[cfg(test)]
mod tests {
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
        let lo = (0.01f32).ln();
        let hi = (1.0f32 / (1.0 + 1e-6) + 0.01).ln();
        assert!((tr.x.iter().copied().fold(f32::INFINITY, f32::min) - lo).abs() < 1e-6);
        assert!((tr.y.iter().copied().fold(f32::NEG_INFINITY, f32::max) - hi).abs() < 1e-5);
        // Pooled is a weighted mean of the group: lengths 2 and 3 for components 1 and 2.
        let p = trajectories(&t, &[0], &[1, 2], Aggregation::Pooled);
        assert_eq!(p.x, tr.x);
    }
}
