//! The null model (docs/search.md §4): tensors whose coordinates are permuted independently within each component,
//! and how a front compares with the fronts the same search finds on them.

use std::fmt;
use std::str::FromStr;

use ccc_core::CccTensor;
use rand::seq::SliceRandom;

use crate::error::AnalyzeError;
use crate::rng::{rng_for, Stream};

/// How a null tensor is made from the real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NullMethod {
    /// Each component's coordinates permuted independently (`value[c, t, k] = mags[π_k(c), t, k]`): every
    /// component keeps its dynamics, each coordinate its whole trajectory within a component, while the coupling
    /// of a coordinate across components — what the clusteredness model claims — is destroyed.
    #[default]
    PermuteCoords,
}

impl NullMethod {
    /// The name in `search.json` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            NullMethod::PermuteCoords => "permute-coords-within-components",
        }
    }
}

impl fmt::Display for NullMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NullMethod {
    type Err = AnalyzeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "permute-coords-within-components" => Ok(NullMethod::PermuteCoords),
            _ => Err(AnalyzeError::InvalidOption(format!(
                "unknown null method `{s}`; expected permute-coords-within-components"
            ))),
        }
    }
}

/// The permutations of null tensor `i`: `perm[k][c]` is the real coordinate read as coordinate `c` of
/// component `k` (drawn component by component from null `i`'s own stream).
pub(crate) fn permutations(seed: u64, i: u64, n_coord: usize, n_comp: usize) -> Vec<Vec<usize>> {
    let mut rng = rng_for(seed, Stream::NullTensor(i));
    (0..n_comp)
        .map(|_| {
            let mut p: Vec<usize> = (0..n_coord).collect();
            p.shuffle(&mut rng);
            p
        })
        .collect()
}

/// The null tensor itself (for the exact rescoring of its front).
pub(crate) fn null_tensor(t: &CccTensor, perm: &[Vec<usize>]) -> CccTensor {
    use rayon::prelude::*;
    let (n_t, n_k) = (t.n_ckpt(), t.n_comp());
    let mut n = t.clone();
    n.mags.par_chunks_mut(n_t * n_k).enumerate().for_each(|(c, rows)| {
        for s in 0..n_t {
            for k in 0..n_k {
                rows[s * n_k + k] = t.mags[(perm[k][c] * n_t + s) * n_k + k];
            }
        }
    });
    n
}

/// The best irregularity of a front (`(fraction, irregularity)` points) at fraction `≤ f`.
pub(crate) fn best_at_or_below(front: &[(f64, f64)], f: f64) -> Option<f64> {
    front.iter().filter(|p| p.0 <= f).map(|p| p.1).min_by(f64::total_cmp)
}

/// `null_ratio` and `p_value` of a point against the null fronts (docs/search.md §4): the point's irregularity over
/// the best any null reaches at the same or a lower fraction; and `(1 + #nulls at least as good) / (1 + #nulls)`.
pub(crate) fn compare(point: (f64, f64), nulls: &[Vec<(f64, f64)>]) -> (Option<f64>, Option<f64>) {
    if nulls.is_empty() {
        return (None, None);
    }
    let bests: Vec<Option<f64>> = nulls.iter().map(|n| best_at_or_below(n, point.0)).collect();
    let best = bests.iter().flatten().copied().min_by(f64::total_cmp);
    let ratio = best.filter(|&b| b > 0.0).map(|b| point.1 / b);
    // A null with no point at this fraction found nothing as good.
    let as_good = bests.iter().filter(|b| b.is_some_and(|b| b <= point.1)).count();
    let p = (1 + as_good) as f64 / (1 + nulls.len()) as f64;
    (ratio, Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_seeded_and_per_component() {
        let a = permutations(3, 0, 50, 4);
        assert_eq!(a, permutations(3, 0, 50, 4));
        assert_ne!(a, permutations(3, 1, 50, 4));
        assert_ne!(a[0], a[1]);
        for p in &a {
            let mut s = p.clone();
            s.sort_unstable();
            assert_eq!(s, (0..50).collect::<Vec<_>>());
        }
    }

    #[test]
    fn ratio_and_p_value() {
        let nulls = vec![vec![(0.0, 0.5), (0.1, 0.3)], vec![(0.05, 0.2)]];
        // At 0.1: the nulls reach 0.3 and 0.2.
        let (r, p) = compare((0.1, 0.1), &nulls);
        assert!((r.unwrap() - 0.5).abs() < 1e-12);
        assert!((p.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        let (_, p) = compare((0.1, 0.25), &nulls);
        assert!((p.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        // At 0: only the first null has a point.
        let (r, p) = compare((0.0, 0.6), &nulls);
        assert!((r.unwrap() - 1.2).abs() < 1e-12);
        assert!((p.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(compare((0.0, 0.6), &[]), (None, None));
    }
}
