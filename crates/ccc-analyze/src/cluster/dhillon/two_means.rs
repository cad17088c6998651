//! Optimal 2-means of 1-D data, the split step of Dhillon's bipartition.
//!
//! Once the values are sorted, every 2-means partition is a break of the sorted order, so the optimum is the
//! break minimizing the total within-group sum of squares (SSE). Near-ties are decided as the definition
//! evaluated directly decides them — each side's mean from prefix sums, then its squared deviations summed in
//! order — which is how the analysis has always decided them (a different rounding would flip a few
//! coordinates of some `dhillon` pipelines). Evaluating every break directly costs `O(n²)`; instead Welford's
//! running SSEs of every prefix and suffix (`O(n)`, accurate to a known bound) find the breaks that can be the
//! direct minimum, and only those are evaluated directly: `O(n log n)` in all but degenerate cases.

use super::super::error::{check_finite_slice, ClusterError};

/// A safety factor on the rounding bound `(n + 4) · ε · Σ z²` of either SSE evaluation: more only widens the
/// set of breaks evaluated directly (slower), never changes the result.
const ROUNDING_SAFETY: f64 = 64.0;

/// Split `z` into two groups by the optimal 1-D 2-means: sort the values (stably), and among the breaks
/// `0..n` (`b` values below the break) take the one minimizing the total within-group sum of squares, the first
/// on ties. Returns, for each **original** index, whether it lies in the upper group (values after the break).
///
/// Break 0 (no split: every value upper) costs the SSE of all values, which any other break lowers unless all
/// values are equal: it wins for fewer than two values and for equal values (unless rounding residues of the
/// means favour another break, as they do for some: the direct evaluation decides).
///
/// # Errors
/// [`ClusterError::NonFinite`] when `z` holds NaN or infinity.
///
/// # Example
/// ```
/// use ccc_analyze::cluster::two_means_1d;
/// assert_eq!(two_means_1d(&[5.0, 0.1, 5.2, 0.0]).unwrap(), vec![true, false, true, false]);
/// assert_eq!(two_means_1d(&[2.0, 2.0]).unwrap(), vec![true, true]);
/// ```
pub fn two_means_1d(z: &[f64]) -> Result<Vec<bool>, ClusterError> {
    check_finite_slice(z, "two_means_1d")?;
    let n = z.len();
    // The stable `total_cmp` order, as integer keys with the index as tie-break (faster than comparing floats).
    let mut sorted: Vec<(u64, usize)> = z.iter().map(|&x| total_order_key(x)).zip(0..).collect();
    sorted.sort_unstable();
    let s: Vec<f64> = sorted.iter().map(|&(_, i)| z[i]).collect();
    let brk = best_break(&s);
    let mut upper = vec![false; n];
    for &(_, i) in &sorted[brk..] {
        upper[i] = true;
    }
    Ok(upper)
}

/// A key whose unsigned order is [`f64::total_cmp`]'s order.
fn total_order_key(x: f64) -> u64 {
    let bits = x.to_bits();
    // Negative values: flip all bits (larger magnitude sorts first); positive ones: set the sign bit.
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The first break `b` in `0..n` of the sorted finite values `s` minimizing [`direct_cost`] (0 when `s` is empty).
fn best_break(s: &[f64]) -> usize {
    let n = s.len();
    let prefix_sums = prefix_sums(s);
    let fast = welford_costs(s);
    let min_fast = fast.iter().copied().fold(f64::INFINITY, f64::min);
    let sum_sq: f64 = s.iter().map(|x| x * x).sum();
    // |direct − exact| and |Welford − exact| are each below `bound`; the direct minimum's Welford cost is thus
    // within `2 · (bound + bound)` of the Welford minimum.
    let bound = ROUNDING_SAFETY * (n as f64 + 4.0) * f64::EPSILON * sum_sq;
    let limit = min_fast + 4.0 * bound;
    let mut best = (0, f64::INFINITY);
    for (b, &f) in fast.iter().enumerate() {
        // (Overflow, of the bound or a Welford cost, makes breaks candidates: the plain definition.)
        if f <= limit || !f.is_finite() || !limit.is_finite() {
            let cost = direct_cost(s, &prefix_sums, b);
            if cost < best.1 {
                best = (b, cost);
            }
        }
    }
    best.0
}

/// `p[i]` = the sum of `s[..i]`, summed in order.
fn prefix_sums(s: &[f64]) -> Vec<f64> {
    let mut p = vec![0.0f64; s.len() + 1];
    for i in 0..s.len() {
        p[i + 1] = p[i] + s[i];
    }
    p
}

/// The SSE of break `b` by the definition: each side's mean from the prefix sums, its squared deviations summed
/// in order. This is the rounding every decision follows.
fn direct_cost(s: &[f64], prefix_sums: &[f64], b: usize) -> f64 {
    let side = |lo: usize, hi: usize| -> f64 {
        if hi <= lo {
            return 0.0;
        }
        let mean = (prefix_sums[hi] - prefix_sums[lo]) / (hi - lo) as f64;
        s[lo..hi].iter().map(|&x| (x - mean) * (x - mean)).sum()
    };
    side(0, b) + side(b, s.len())
}

/// The SSE of every break `b` in `0..n` by Welford's running updates of the prefix `s[..b]` and the suffix
/// `s[b..]` (both in one loop: two independent dependency chains run side by side).
fn welford_costs(s: &[f64]) -> Vec<f64> {
    let n = s.len();
    // prefix[i] = SSE of s[..i]; suffix[i] = SSE of s[i..].
    let mut prefix = vec![0.0f64; n + 1];
    let mut suffix = vec![0.0f64; n + 1];
    let (mut mean_p, mut m2_p, mut mean_s, mut m2_s) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for i in 0..n {
        // A multiplication by the reciprocal instead of a division on the chains: the rounding differs by an
        // ulp per step, well within the bound the direct evaluation allows for.
        let r = 1.0 / (i + 1) as f64;
        let (v, w) = (s[i], s[n - 1 - i]);
        let d = v - mean_p;
        mean_p += d * r;
        m2_p += d * (v - mean_p);
        prefix[i + 1] = m2_p;
        let e = w - mean_s;
        mean_s += e * r;
        m2_s += e * (w - mean_s);
        suffix[n - 1 - i] = m2_s;
    }
    (0..n).map(|b| prefix[b] + suffix[b]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sse(v: &[f64]) -> f64 {
        if v.is_empty() {
            return 0.0;
        }
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - m) * (x - m)).sum()
    }

    /// The definition, every break evaluated directly (`O(n²)`): the oracle the fast search must agree with
    /// exactly, near-ties included.
    fn by_definition(z: &[f64]) -> Vec<bool> {
        let n = z.len();
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&a, &b| z[a].total_cmp(&z[b]));
        let s: Vec<f64> = idx.iter().map(|&i| z[i]).collect();
        let p = prefix_sums(&s);
        let mut best = (0, f64::INFINITY);
        for b in 0..n {
            let cost = direct_cost(&s, &p, b);
            if cost < best.1 {
                best = (b, cost);
            }
        }
        let mut upper = vec![false; n];
        for &i in &idx[best.0..] {
            upper[i] = true;
        }
        upper
    }

    #[test]
    fn small_cases() {
        assert!(two_means_1d(&[]).unwrap().is_empty());
        assert_eq!(two_means_1d(&[3.0]).unwrap(), vec![true]);
        assert_eq!(two_means_1d(&[2.0, 1.0]).unwrap(), vec![true, false]);
        // All equal: every break costs 0, the first one (no split) wins.
        assert_eq!(two_means_1d(&[1.0, 1.0, 1.0]).unwrap(), vec![true, true, true]);
        assert!(matches!(two_means_1d(&[1.0, f64::NAN]), Err(ClusterError::NonFinite { row: 1, .. })));
    }

    #[test]
    fn keys_order_as_total_cmp() {
        let v = [
            f64::NEG_INFINITY,
            -1e300,
            -1.5,
            -f64::MIN_POSITIVE,
            -5e-324,
            -0.0,
            0.0,
            5e-324,
            f64::MIN_POSITIVE,
            0.1,
            1.5,
            1e300,
            f64::INFINITY,
            f64::NAN,
        ];
        for a in v {
            for b in v {
                assert_eq!(total_order_key(a).cmp(&total_order_key(b)), a.total_cmp(&b), "{a} {b}");
            }
        }
    }

    #[test]
    fn first_minimum() {
        let z = [0.1, 5.0, 0.0, 5.2, 0.2];
        assert_eq!(two_means_1d(&z).unwrap(), vec![false, true, false, true, false]);
        // Two equally good breaks: {0} | {1, 2} and {0, 1} | {2}; the first wins.
        assert_eq!(two_means_1d(&[0.0, 1.0, 2.0]).unwrap(), vec![false, true, true]);
    }

    #[test]
    fn constant_values_decided_by_rounding_as_the_definition() {
        // Means of 0.1s are not exactly 0.1: every break costs a rounding residue, and the smallest one wins.
        for n in [2, 3, 7, 10, 33] {
            for v in [0.1, 1.0 / 3.0, -7.3e5, 1e-300] {
                let z = vec![v; n];
                assert_eq!(two_means_1d(&z).unwrap(), by_definition(&z), "{n} × {v}");
            }
        }
    }

    /// Values that make near-ties: few distinct levels, a large offset with tiny noise, a unit vector.
    fn hard_values() -> impl Strategy<Value = Vec<f64>> {
        prop_oneof![
            proptest::collection::vec(-100.0f64..100.0, 0..40),
            proptest::collection::vec((0u8..4).prop_map(|k| k as f64 * 0.1), 1..40),
            proptest::collection::vec((0u8..3, -1.0f64..1.0), 1..40)
                .prop_map(|v| v.into_iter().map(|(k, e)| 1e6 + k as f64 + e * 1e-9).collect()),
            proptest::collection::vec(-1.0f64..1.0, 2..200).prop_map(|v| {
                let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
                v.into_iter().map(|x| x / norm).collect()
            }),
            (1usize..60, -1e3f64..1e3).prop_map(|(n, v)| vec![v; n]),
            // Mirror-symmetric about a centre: break b and its mirror n − b tie exactly, rounding decides.
            (proptest::collection::vec(0.0f64..1.0, 1..30), -1e3f64..1e3, any::<bool>()).prop_map(|(w, c, mid)| {
                let mut v: Vec<f64> = w.iter().flat_map(|&x| [c - x, c + x]).collect();
                if mid {
                    v.push(c);
                }
                v
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Bit for bit the decision of the definition evaluated directly.
        #[test]
        fn decides_as_the_definition(z in hard_values()) {
            prop_assert_eq!(two_means_1d(&z).unwrap(), by_definition(&z));
        }

        /// Against brute force over every contiguous break of the sorted values.
        #[test]
        fn optimal(z in proptest::collection::vec(-100.0f64..100.0, 2..40)) {
            let got = two_means_1d(&z).unwrap();
            let lo: Vec<f64> = z.iter().zip(&got).filter(|(_, &u)| !u).map(|(v, _)| *v).collect();
            let hi: Vec<f64> = z.iter().zip(&got).filter(|(_, &u)| u).map(|(v, _)| *v).collect();
            prop_assert!(!hi.is_empty());
            if z.iter().any(|&v| v != z[0]) {
                prop_assert!(!lo.is_empty(), "distinct values are split");
            }
            let max_lo = lo.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let min_hi = hi.iter().copied().fold(f64::INFINITY, f64::min);
            prop_assert!(max_lo <= min_hi);
            let mut s = z.clone();
            s.sort_by(f64::total_cmp);
            let best = (0..s.len()).map(|b| sse(&s[..b]) + sse(&s[b..])).fold(f64::INFINITY, f64::min);
            let got_sse = sse(&lo) + sse(&hi);
            prop_assert!(got_sse <= best + 1e-9 * best.max(1.0), "{} > {}", got_sse, best);
        }
    }
}
