//! Optimal 2-means of 1-D data.

use super::error::{check_finite_slice, ClusterError};

/// Split `z` into two groups by the optimal 1-D 2-means: sort the values (stably), and among the breaks
/// `1..n` (both sides non-empty) take the one minimizing the total within-group sum of squares, the first on
/// ties. Returns, for each **original** index, whether it lies in the upper group (values after the break).
///
/// Fewer than two values: all `false`.
///
/// # Errors
/// [`ClusterError::NonFinite`] when `z` holds NaN or infinity.
///
/// # Example
/// ```
/// use ccc_analyze::cluster::two_means_1d;
/// assert_eq!(two_means_1d(&[5.0, 0.1, 5.2, 0.0]).unwrap(), vec![true, false, true, false]);
/// ```
pub fn two_means_1d(z: &[f64]) -> Result<Vec<bool>, ClusterError> {
    check_finite_slice(z, "two_means_1d")?;
    let n = z.len();
    let mut upper = vec![false; n];
    if n < 2 {
        return Ok(upper);
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| z[a].total_cmp(&z[b]));
    // Within-group sums of squares of every prefix and suffix, by Welford's stable updates.
    let welford = |iter: &mut dyn Iterator<Item = f64>| -> Vec<f64> {
        let (mut count, mut mean, mut m2) = (0.0, 0.0, 0.0);
        let mut out = Vec::with_capacity(n);
        for v in iter {
            count += 1.0;
            let delta = v - mean;
            mean += delta / count;
            m2 += delta * (v - mean);
            out.push(m2);
        }
        out
    };
    // prefix[i] = SSE of the i+1 smallest; suffix[i] = SSE of the i+1 largest.
    let prefix = welford(&mut order.iter().map(|&i| z[i]));
    let suffix = welford(&mut order.iter().rev().map(|&i| z[i]));
    let mut best = (1usize, f64::INFINITY);
    for brk in 1..n {
        let sse = prefix[brk - 1] + suffix[n - brk - 1];
        if sse < best.1 {
            best = (brk, sse);
        }
    }
    for &i in &order[best.0..] {
        upper[i] = true;
    }
    Ok(upper)
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

    #[test]
    fn small_cases() {
        assert!(two_means_1d(&[]).unwrap().is_empty());
        assert_eq!(two_means_1d(&[3.0]).unwrap(), vec![false]);
        assert_eq!(two_means_1d(&[2.0, 1.0]).unwrap(), vec![true, false]);
        // All equal: every break costs 0, the first one wins: the smallest index alone below.
        assert_eq!(two_means_1d(&[1.0, 1.0, 1.0]).unwrap(), vec![false, true, true]);
        assert!(matches!(two_means_1d(&[1.0, f64::NAN]), Err(ClusterError::NonFinite { row: 1, .. })));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Against brute force over every contiguous break of the sorted values.
        #[test]
        fn matches_brute_force(z in proptest::collection::vec(-100.0f64..100.0, 2..40)) {
            let got = two_means_1d(&z).unwrap();
            let lo: Vec<f64> = z.iter().zip(&got).filter(|(_, &u)| !u).map(|(v, _)| *v).collect();
            let hi: Vec<f64> = z.iter().zip(&got).filter(|(_, &u)| u).map(|(v, _)| *v).collect();
            prop_assert!(!lo.is_empty() && !hi.is_empty());
            let max_lo = lo.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let min_hi = hi.iter().copied().fold(f64::INFINITY, f64::min);
            prop_assert!(max_lo <= min_hi);
            let mut s = z.clone();
            s.sort_by(f64::total_cmp);
            let best = (1..s.len()).map(|b| sse(&s[..b]) + sse(&s[b..])).fold(f64::INFINITY, f64::min);
            let got_sse = sse(&lo) + sse(&hi);
            prop_assert!(got_sse <= best + 1e-9 * best.max(1.0), "{} > {}", got_sse, best);
        }
    }
}
