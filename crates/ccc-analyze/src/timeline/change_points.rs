//! Change points of a series by PELT (Killick, Fearnhead & Eckley 2012) on a piecewise-linear least-squares cost
//! (docs/timeline.md §4).
//!
//! A segment's cost is the residual sum of squares of its least-squares line, divided by the noise variance
//! `σ²`; every change costs a penalty `β = 3 ln n` (BIC: a segment adds an intercept, a slope and a location).
//! A line rather than a constant, because the curves of training (a decaying speed, a growing count) trend: a
//! piecewise-constant model would cut a smooth trend into many pieces, while a line per segment finds both jumps
//! and elbows (a change of slope). `σ` is estimated robustly from second differences,
//! `σ = 1.4826 · MAD(Δ²y) / √6` (white noise has `Var Δ²y = 6σ²`), which neither a trend nor a few jumps move.

/// The fewest points in a segment: a line through two points fits exactly, so three is the least that can say
/// anything.
pub const MIN_SEGMENT: usize = 3;

/// Prefix sums that give the least-squares line's residual on any segment in O(1).
struct LineCost {
    s1: Vec<f64>,
    sx: Vec<f64>,
    sxx: Vec<f64>,
    sy: Vec<f64>,
    sxy: Vec<f64>,
    syy: Vec<f64>,
}

impl LineCost {
    fn new(y: &[f64]) -> Self {
        let n = y.len();
        let mut c = LineCost {
            s1: vec![0.0; n + 1],
            sx: vec![0.0; n + 1],
            sxx: vec![0.0; n + 1],
            sy: vec![0.0; n + 1],
            sxy: vec![0.0; n + 1],
            syy: vec![0.0; n + 1],
        };
        for (i, &v) in y.iter().enumerate() {
            let x = i as f64;
            c.s1[i + 1] = c.s1[i] + 1.0;
            c.sx[i + 1] = c.sx[i] + x;
            c.sxx[i + 1] = c.sxx[i] + x * x;
            c.sy[i + 1] = c.sy[i] + v;
            c.sxy[i + 1] = c.sxy[i] + x * v;
            c.syy[i + 1] = c.syy[i] + v * v;
        }
        c
    }

    /// Residual sum of squares of the least-squares line through `y[a..b]`.
    fn cost(&self, a: usize, b: usize) -> f64 {
        let d = |v: &[f64]| v[b] - v[a];
        let (n, sx, sxx, sy, sxy, syy) =
            (d(&self.s1), d(&self.sx), d(&self.sxx), d(&self.sy), d(&self.sxy), d(&self.syy));
        let vxx = sxx - sx * sx / n;
        let vyy = syy - sy * sy / n;
        let vxy = sxy - sx * sy / n;
        let rss = if vxx > 0.0 { vyy - vxy * vxy / vxx } else { vyy };
        rss.max(0.0)
    }
}

/// The robust noise scale of `y` from its second differences (0 for fewer than 3 points).
pub fn noise_scale(y: &[f64]) -> f64 {
    if y.len() < 3 {
        return 0.0;
    }
    let d2: Vec<f64> = y.windows(3).map(|w| w[2] - 2.0 * w[1] + w[0]).collect();
    let (_, mad) = crate::robust::median_mad(&d2);
    1.4826 * mad / 6f64.sqrt()
}

/// The change points of `y`: the indices where a new segment starts (ascending, never 0), by PELT with the cost and
/// penalty of the module docs; `min_sigma` is a floor on the noise scale (e.g. half a unit for a count, whose
/// steps of one are rounding, not change). A series with a non-finite value, or shorter than two segments, has
/// none.
pub fn pelt(y: &[f64], min_sigma: f64) -> Vec<usize> {
    let n = y.len();
    if n < 2 * MIN_SEGMENT || y.iter().any(|v| !v.is_finite()) {
        return Vec::new();
    }
    let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    // A floor relative to the series' size: an exactly piecewise-linear series has σ = 0, and then every change
    // that is not rounding is real.
    let sigma = noise_scale(y).max(min_sigma).max(1e-9 * (scale + 1e-300));
    let var = sigma * sigma;
    let beta = 3.0 * (n as f64).ln();
    let lc = LineCost::new(y);
    let cost = |a: usize, b: usize| lc.cost(a, b) / var;
    let mut f = vec![f64::INFINITY; n + 1];
    let mut last = vec![0usize; n + 1];
    f[0] = -beta;
    let mut cands: Vec<usize> = vec![0];
    for t in MIN_SEGMENT..=n {
        let mut best = (f64::INFINITY, 0usize);
        for &tau in &cands {
            if t - tau >= MIN_SEGMENT {
                let v = f[tau] + cost(tau, t) + beta;
                if v < best.0 {
                    best = (v, tau);
                }
            }
        }
        f[t] = best.0;
        last[t] = best.1;
        // Pruning (PELT's rule with K = 0, valid since the cost is additive-subadditive): a start that cannot beat
        // the optimum now never will.
        let ft = f[t];
        cands.retain(|&tau| t - tau < MIN_SEGMENT || f[tau] + cost(tau, t) <= ft);
        if t + MIN_SEGMENT <= n {
            cands.push(t);
        }
    }
    let mut cps = Vec::new();
    let mut t = n;
    while t > 0 {
        let tau = last[t];
        if tau > 0 {
            cps.push(tau);
        }
        t = tau;
    }
    cps.reverse();
    cps
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    fn noisy(y: impl Fn(usize) -> f64, n: usize, noise: f64, seed: u64) -> Vec<f64> {
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|i| y(i) + noise * (r.random::<f64>() - 0.5)).collect()
    }

    #[test]
    fn finds_a_jump_in_noise() {
        let y = noisy(|i| if i < 23 { 2.0 } else { 10.0 }, 40, 1.0, 1);
        assert_eq!(pelt(&y, 0.0), [23]);
    }

    #[test]
    fn finds_an_elbow() {
        // Flat, then rising: a change of slope at 20.
        let y = noisy(|i| if i < 20 { 1.0 } else { 1.0 + 0.8 * (i - 20) as f64 }, 45, 0.3, 2);
        let cps = pelt(&y, 0.0);
        assert_eq!(cps.len(), 1, "{cps:?}");
        assert!(cps[0].abs_diff(20) <= 2, "{cps:?}");
    }

    #[test]
    fn a_trend_or_noise_alone_has_no_change() {
        assert!(pelt(&noisy(|i| 5.0 - 0.1 * i as f64, 60, 0.5, 3), 0.0).is_empty());
        assert!(pelt(&noisy(|_| 0.0, 60, 1.0, 4), 0.0).is_empty());
        // Counts that wobble by one are not changes with a floor of half a count.
        let wobble: Vec<f64> = (0..30).map(|i| [1.0, 2.0, 2.0, 1.0, 2.0][i % 5]).collect();
        assert!(pelt(&wobble, 0.5).is_empty());
        let exact: Vec<f64> = (0..30).map(|i| 2.0 * i as f64).collect();
        assert!(pelt(&exact, 0.0).is_empty());
        assert!(pelt(&[1.0, 5.0, 1.0], 0.0).is_empty());
    }

    #[test]
    fn two_jumps_exact() {
        let y: Vec<f64> = (0..30)
            .map(|i| {
                if i < 10 {
                    0.0
                } else if i < 20 {
                    5.0
                } else {
                    1.0
                }
            })
            .collect();
        assert_eq!(pelt(&y, 0.0), [10, 20]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Change points are sorted, inside the series, and at least a segment apart.
        #[test]
        fn change_points_are_valid_segment_starts(v in proptest::collection::vec(-100.0f64..100.0, 0..80)) {
            let cps = pelt(&v, 0.0);
            let mut prev = 0;
            for &c in &cps {
                prop_assert!(c >= prev + MIN_SEGMENT);
                prev = c;
            }
            if !cps.is_empty() {
                prop_assert!(v.len() - prev >= MIN_SEGMENT);
            }
        }
    }
}
