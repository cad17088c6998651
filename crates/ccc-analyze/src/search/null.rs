//! The null models (docs/search.md §4): tensors that keep what each component does on its own and break what the
//! clusteredness model claims — that a coordinate behaves alike across the components of a group — and how a front
//! compares with the fronts the same search finds on them.

use std::fmt;
use std::str::FromStr;

use ccc_core::CccTensor;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::error::AnalyzeError;
use crate::rng::{rng_for, Stream};

/// How a null tensor is made from the real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NullMethod {
    /// Each component's coordinates permuted independently (`value[c, t, k] = mags[π_k(c), t, k]`): every
    /// component keeps its dynamics, each coordinate its whole trajectory within a component, while the coupling
    /// of a coordinate across components — static (a coordinate large everywhere) and dynamic — is destroyed.
    #[default]
    PermuteCoords,
    /// Each component's sequence of scored checkpoint increments `mags[c, t, k] − mags[c, t−1, k]`, `t = 2 … T−1`,
    /// shifted circularly in time by its own offset `τ_k` (the same for every coordinate), then summed again from
    /// the real values at `t = 0, 1`: every component keeps its start and end values, its first step (from
    /// initialization, which the irregularity does not score), every step it takes (the whole pattern of a step
    /// across the coordinates) and their order up to one seam, and every coordinate keeps its scale in every
    /// component; what is destroyed is the timing across components — whether a coordinate moves in group 1 and
    /// group 2 at the same time.
    ShiftIncrements,
}

impl NullMethod {
    /// The name in `search.json` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            NullMethod::PermuteCoords => "permute-coords-within-components",
            NullMethod::ShiftIncrements => "shift-increments",
        }
    }

    /// What a null tensor is, for sentences: "null tensors {description}".
    pub fn description(self) -> &'static str {
        match self {
            NullMethod::PermuteCoords => "whose coordinates are permuted within each component",
            NullMethod::ShiftIncrements => "whose components' increments are shifted in time, each by its own offset",
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
            "permute" | "permute-coords-within-components" => Ok(NullMethod::PermuteCoords),
            "shift" | "shift-increments" => Ok(NullMethod::ShiftIncrements),
            _ => Err(AnalyzeError::InvalidOption(format!(
                "unknown null method `{s}`; expected permute (permute-coords-within-components) or shift \
                 (shift-increments)"
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

/// The offsets of null tensor `i` under [`NullMethod::ShiftIncrements`]: one per component in `1 … T−3` over the
/// `T − 2` scored increments (never 0, which would leave the component as it is), from null `i`'s own stream; all 0
/// with fewer than 4 checkpoints, where one scored increment cannot be shifted.
pub(crate) fn shifts(seed: u64, i: u64, n_ckpt: usize, n_comp: usize) -> Vec<usize> {
    let mut rng = rng_for(seed, Stream::NullTensor(i));
    let n_inc = n_ckpt.saturating_sub(2);
    (0..n_comp).map(|_| if n_inc < 2 { 0 } else { rng.random_range(1..n_inc) }).collect()
}

/// Null tensor `i` of `t` (`t.n_ckpt() ≥ 3`).
pub(crate) fn null_tensor(t: &CccTensor, method: NullMethod, seed: u64, i: u64) -> CccTensor {
    use rayon::prelude::*;
    let (n_c, n_t, n_k) = (t.n_coord, t.n_ckpt(), t.n_comp());
    let mut n = t.clone();
    match method {
        NullMethod::PermuteCoords => {
            let perm = permutations(seed, i, n_c, n_k);
            n.mags.par_chunks_mut(n_t * n_k).enumerate().for_each(|(c, rows)| {
                for s in 0..n_t {
                    for k in 0..n_k {
                        rows[s * n_k + k] = t.mags[(perm[k][c] * n_t + s) * n_k + k];
                    }
                }
            });
        }
        NullMethod::ShiftIncrements => {
            let tau = shifts(seed, i, n_t, n_k);
            // The scored increments t = 2 … T−1; the first one (from initialization) stays in place.
            let n_inc = n_t.saturating_sub(2).max(1);
            n.mags.par_chunks_mut(n_t * n_k).zip(t.mags.par_chunks(n_t * n_k)).for_each(|(rows, real)| {
                for (k, &tau) in tau.iter().enumerate() {
                    // Summed in f64 so that the end value is the real one up to the f32 rounding of each value.
                    let mut v = real[n_k + k] as f64;
                    for s in 2..n_t {
                        let from = (s - 2 + tau) % n_inc + 2;
                        v += real[from * n_k + k] as f64 - real[(from - 1) * n_k + k] as f64;
                        rows[s * n_k + k] = v as f32;
                    }
                }
            });
        }
    }
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
    fn shifted_increments_keep_each_component_s_steps_and_ends() {
        let (n_c, n_t, n_k) = (3, 6, 2);
        let t = crate::trajectory::tests::tensor(n_c, n_t, n_k, |c, s, k| ((c * 31 + s * 7 + k * 13) % 23) as f32);
        let n = null_tensor(&t, NullMethod::ShiftIncrements, 5, 0);
        let tau = shifts(5, 0, n_t, n_k);
        assert!(tau.iter().all(|&s| (1..n_t - 2).contains(&s)));
        let at = |m: &[f32], c: usize, s: usize, k: usize| m[(c * n_t + s) * n_k + k];
        for c in 0..n_c {
            for (k, &tau) in tau.iter().enumerate() {
                assert_eq!(at(&n.mags, c, 0, k), at(&t.mags, c, 0, k));
                assert_eq!(at(&n.mags, c, 1, k), at(&t.mags, c, 1, k));
                assert!((at(&n.mags, c, n_t - 1, k) - at(&t.mags, c, n_t - 1, k)).abs() < 1e-4);
                let inc = |m: &[f32], s: usize| at(m, c, s, k) - at(m, c, s - 1, k);
                // Step 2 of the null is the real step 2 + τ_k; the last one wraps around to the real step 2.
                assert!((inc(&n.mags, 2) - inc(&t.mags, 2 + tau)).abs() < 1e-4);
                assert!((inc(&n.mags, n_t - tau) - inc(&t.mags, 2)).abs() < 1e-4);
            }
        }
        assert_ne!(n.mags, t.mags);
        assert_eq!(n.mags, null_tensor(&t, NullMethod::ShiftIncrements, 5, 0).mags);
        assert_eq!("shift".parse::<NullMethod>().unwrap(), NullMethod::ShiftIncrements);
        assert_eq!("permute".parse::<NullMethod>().unwrap(), NullMethod::PermuteCoords);
        assert!("nope".parse::<NullMethod>().is_err());
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
