//! Robust statistics of docs/analysis.md §1: medians with NumPy's semantics, MAD scores and MAD outliers, and NumPy's
//! pairwise summation order (so that `f32` sums reproduce the reference tool bit for bit).

/// The MAD threshold of `outliers`.
pub const MAD_THRESHOLD: f64 = 3.5;
/// The consistency constant of the MAD (`mad / 0.6745` estimates the standard deviation).
pub const MAD_SCALE: f64 = 0.6745;

/// The median of `v` as `numpy.median` computes it: the mean of the two middle values for an even count;
/// `NaN` for an empty slice. `v` is reordered.
pub fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let cmp = |a: &f64, b: &f64| a.total_cmp(b);
    let (_, &mut hi, _) = v.select_nth_unstable_by(n / 2, cmp);
    if n % 2 == 1 {
        return hi;
    }
    // The lower middle value is the largest of the left part.
    let lo = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo + hi) / 2.0
}

/// The median of `v` (NumPy semantics), leaving `v` untouched.
pub fn median(v: &[f64]) -> f64 {
    let mut w = v.to_vec();
    median_in_place(&mut w)
}

/// The `f32` median as `numpy.median` computes it on a `float32` array (the mean of the two middle values is
/// computed in `f32`).
pub fn median_f32_in_place(v: &mut [f32]) -> f32 {
    let n = v.len();
    if n == 0 {
        return f32::NAN;
    }
    let cmp = |a: &f32, b: &f32| a.total_cmp(b);
    let (_, &mut hi, _) = v.select_nth_unstable_by(n / 2, cmp);
    if n % 2 == 1 {
        return hi;
    }
    let lo = v[..n / 2].iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (lo + hi) / 2.0
}

/// `median(v)` and `mad = median(|v - median(v)|)`.
pub fn median_mad(v: &[f64]) -> (f64, f64) {
    let mut w = v.to_vec();
    let med = median_in_place(&mut w);
    w.clear();
    w.extend(v.iter().map(|&x| (x - med).abs()));
    (med, median_in_place(&mut w))
}

/// Signed MAD scores `(v - median) / (1e-6 + mad / 0.6745)`.
pub fn mad_z(v: &[f64]) -> Vec<f64> {
    let (med, mad) = median_mad(v);
    let d = 1e-6 + mad / MAD_SCALE;
    v.iter().map(|&x| (x - med) / d).collect()
}

/// Absolute MAD scores `|v - median| / (mad / 0.6745 + 1e-6)`.
pub fn mad_abs(v: &[f64]) -> Vec<f64> {
    let (med, mad) = median_mad(v);
    let d = mad / MAD_SCALE + 1e-6;
    v.iter().map(|&x| (x - med).abs() / d).collect()
}

/// The indices (ascending) where `mad_abs(v) > 3.5`: the MAD outliers of a vector (docs/analysis.md §1).
pub fn outliers(v: &[f64]) -> Vec<usize> {
    let (med, mad) = median_mad(v);
    let d = mad / MAD_SCALE + 1e-6;
    v.iter().enumerate().filter(|(_, &x)| (x - med).abs() / d > MAD_THRESHOLD).map(|(i, _)| i).collect()
}

/// `outliers` computed in `f32` arithmetic, as the reference does for a `float32` vector.
pub fn outliers_f32(v: &[f32]) -> Vec<usize> {
    let flags = mad_flags_f32(v);
    (0..v.len()).filter(|&i| flags[i]).collect()
}

/// `mad_abs(v) > 3.5` in `f32` arithmetic, per entry.
pub fn mad_flags_f32(v: &[f32]) -> Vec<bool> {
    let mut w = v.to_vec();
    let med = median_f32_in_place(&mut w);
    for (d, &x) in w.iter_mut().zip(v) {
        *d = (x - med).abs();
    }
    let mad = median_f32_in_place(&mut w);
    let d = mad / 0.6745f32 + 1e-6f32;
    v.iter().map(|&x| (x - med).abs() / d > 3.5f32).collect()
}

/// Marks the MAD outliers of `v` in `flags` (`flags[i] |= outlier`), reusing `scratch`.
pub(crate) fn mark_outliers(v: &[f64], flags: &mut [bool], scratch: &mut Vec<f64>) {
    scratch.clear();
    scratch.extend_from_slice(v);
    let med = median_in_place(scratch);
    scratch.clear();
    scratch.extend(v.iter().map(|&x| (x - med).abs()));
    let mad = median_in_place(scratch);
    let d = mad / MAD_SCALE + 1e-6;
    for (f, &x) in flags.iter_mut().zip(v) {
        if (x - med).abs() / d > MAD_THRESHOLD {
            *f = true;
        }
    }
}

macro_rules! pairwise {
    ($name:ident, $t:ty, $doc:literal) => {
        #[doc = $doc]
        pub fn $name(v: &[$t]) -> $t {
            const BLOCK: usize = 128;
            let n = v.len();
            if n < 8 {
                let mut res: $t = 0.0;
                for &x in v {
                    res += x;
                }
                res
            } else if n <= BLOCK {
                let mut r: [$t; 8] = [0.0; 8];
                r.copy_from_slice(&v[..8]);
                let full = n - (n % 8);
                for chunk in v[8..full].chunks_exact(8) {
                    for (rj, &x) in r.iter_mut().zip(chunk) {
                        *rj += x;
                    }
                }
                let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
                for &x in &v[full..] {
                    res += x;
                }
                res
            } else {
                let mut n2 = n / 2;
                n2 -= n2 % 8;
                $name(&v[..n2]) + $name(&v[n2..])
            }
        }
    };
}

pairwise!(
    pairwise_sum_f32,
    f32,
    "The sum of `v` in the order of NumPy's pairwise summation (`float32` reductions along a contiguous axis)."
);
pairwise!(pairwise_sum_f64, f64, "The sum of `v` in the order of NumPy's pairwise summation, in `f64`.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
        let mut v = [4.0f32, 1.0, 3.0, 2.0];
        assert_eq!(median_f32_in_place(&mut v), 2.5);
    }

    #[test]
    fn mad_scores_and_outliers() {
        let v = [1.0, 2.0, 3.0, 4.0, 100.0];
        // median 3, |dev| = 2,1,0,1,97 → mad 1.
        let z = mad_z(&v);
        let d = 1e-6 + 1.0 / 0.6745;
        assert!((z[4] - 97.0 / d).abs() < 1e-9);
        assert!((z[0] + 2.0 / d).abs() < 1e-9);
        assert_eq!(mad_abs(&v)[0], 2.0 / (1.0 / 0.6745 + 1e-6));
        assert_eq!(outliers(&v), vec![4]);
        assert_eq!(outliers(&[1.0; 5]), Vec::<usize>::new());
    }

    #[test]
    fn pairwise_matches_reference_order() {
        // Independent re-statement of NumPy's order for n = 13: eight lanes, then the tail of 5.
        let v: Vec<f32> = (0..13).map(|i| 1.0 / (i as f32 + 1.3)).collect();
        let mut r = [0f32; 8];
        r.copy_from_slice(&v[..8]);
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for x in &v[8..] {
            res += x;
        }
        assert_eq!(pairwise_sum_f32(&v).to_bits(), res.to_bits());
        // Large sums split into halves of multiples of 8 and stay close to the exact sum.
        let big: Vec<f32> = (0..1000).map(|i| (i % 7) as f32 * 0.1).collect();
        let exact: f64 = big.iter().map(|&x| x as f64).sum();
        assert!((pairwise_sum_f32(&big) as f64 - exact).abs() < 1e-3);
        assert_eq!(pairwise_sum_f32(&[1.0, 2.0]), 3.0);
    }
}
