//! Matrix normalizations of spectral (bi)clustering, as scikit-learn's `sklearn/cluster/_bicluster.py`.
//!
//! All functions take any real matrix; they shift it first when needed (`make_nonnegative`), exactly as
//! scikit-learn does, so callers need not.

use faer::reborrow::ReborrowMut;
use faer::{Mat, MatMut, MatRef};
use rayon::prelude::*;

/// Columns per parallel task. Fixed, so sums are reduced in the same order whatever the thread count.
const COL_CHUNK: usize = 64;

/// Apply `f` to every entry, in parallel over column chunks.
fn for_each_entry(x: MatMut<'_, f64>, f: impl Fn(usize, usize, &mut f64) + Sync) {
    x.par_col_chunks_mut(COL_CHUNK).enumerate().for_each(|(c, mut chunk)| {
        for jj in 0..chunk.ncols() {
            let j = c * COL_CHUNK + jj;
            for (i, v) in chunk.rb_mut().col_mut(jj).iter_mut().enumerate() {
                f(i, j, v);
            }
        }
    });
}

/// scikit-learn's `make_nonnegative(X, min_value)`: when `min(X) < min_value`, shift every entry by
/// `min_value − min(X)`; otherwise return `X` unchanged.
pub fn make_nonnegative(m: MatRef<'_, f64>, min_value: f64) -> Mat<f64> {
    let min = min_entry(m);
    let mut x = m.to_owned();
    if min < min_value {
        let shift = min_value - min;
        for_each_entry(x.as_mut(), |_, _, v| *v += shift);
    }
    x
}

/// The smallest entry (`+inf` for an empty matrix).
pub(crate) fn min_entry(m: MatRef<'_, f64>) -> f64 {
    (0..m.ncols()).map(|j| m.col(j).iter().copied().fold(f64::INFINITY, f64::min)).fold(f64::INFINITY, f64::min)
}

/// `1/sqrt(s)` with `nan_to_num(posinf=0)`: a zero sum gives 0, not infinity.
fn inv_sqrt_or_zero(s: f64) -> f64 {
    let r = 1.0 / s.sqrt();
    if r.is_finite() {
        r
    } else {
        0.0
    }
}

/// The result of [`scale_normalize`].
#[derive(Debug, Clone)]
pub struct ScaleNormalized {
    /// `An = D1^-½ A D2^-½`.
    pub an: Mat<f64>,
    /// `diag(D1^-½)`: one factor per row (0 for a row that sums to 0).
    pub row_diag: Vec<f64>,
    /// `diag(D2^-½)`: one factor per column (0 for a column that sums to 0).
    pub col_diag: Vec<f64>,
}

/// scikit-learn's `_scale_normalize`: make the matrix nonnegative, then scale each row by `1/sqrt(row sum)`
/// and each column by `1/sqrt(column sum)` (a zero sum gives the factor 0).
pub fn scale_normalize(m: MatRef<'_, f64>) -> ScaleNormalized {
    let x = make_nonnegative(m, 0.0);
    let (row_sums, col_sums) = sums(x.as_ref());
    let row_diag: Vec<f64> = row_sums.iter().map(|&s| inv_sqrt_or_zero(s)).collect();
    let col_diag: Vec<f64> = col_sums.iter().map(|&s| inv_sqrt_or_zero(s)).collect();
    let mut an = x;
    for_each_entry(an.as_mut(), |i, j, v| *v = row_diag[i] * *v * col_diag[j]);
    ScaleNormalized { an, row_diag, col_diag }
}

/// Row sums and column sums (parallel over column chunks, reduced in chunk order).
fn sums(x: MatRef<'_, f64>) -> (Vec<f64>, Vec<f64>) {
    let nrows = x.nrows();
    let partials: Vec<(Vec<f64>, Vec<f64>)> = x
        .par_col_chunks(COL_CHUNK)
        .map(|chunk| {
            let mut row = vec![0.0; nrows];
            let mut col = Vec::with_capacity(chunk.ncols());
            for j in 0..chunk.ncols() {
                let mut s = 0.0;
                for (r, &v) in row.iter_mut().zip(chunk.col(j).iter()) {
                    *r += v;
                    s += v;
                }
                col.push(s);
            }
            (row, col)
        })
        .collect();
    let mut row = vec![0.0; nrows];
    let mut col = Vec::with_capacity(x.ncols());
    for (r, c) in partials {
        row.iter_mut().zip(&r).for_each(|(a, b)| *a += b);
        col.extend(c);
    }
    (row, col)
}

/// Default iteration cap of [`bistochastic_normalize`] (scikit-learn's).
pub const BISTOCHASTIC_MAX_ITER: usize = 1000;
/// Default tolerance of [`bistochastic_normalize`] (scikit-learn's).
pub const BISTOCHASTIC_TOL: f64 = 1e-5;

/// scikit-learn's `_bistochastic_normalize`: make the matrix nonnegative, then repeat [`scale_normalize`]
/// until the Frobenius norm of the change of one step is below `tol` (at most `max_iter` steps), so that all rows
/// sum to one constant and all columns to another.
pub fn bistochastic_normalize(m: MatRef<'_, f64>, max_iter: usize, tol: f64) -> Mat<f64> {
    let mut x = make_nonnegative(m, 0.0);
    let (nrows, ncols) = (x.nrows(), x.ncols());
    let mut row_diag = vec![0.0; nrows];
    let mut col_diag = vec![0.0; ncols];
    for _ in 0..max_iter {
        let (row_sums, col_sums) = sums(x.as_ref());
        for (d, s) in row_diag.iter_mut().zip(&row_sums) {
            *d = inv_sqrt_or_zero(*s);
        }
        for (d, s) in col_diag.iter_mut().zip(&col_sums) {
            *d = inv_sqrt_or_zero(*s);
        }
        // In place: x_new = D1^-½ x D2^-½, and the squared distance between x and x_new.
        let partial: Vec<f64> = x
            .as_mut()
            .par_col_chunks_mut(COL_CHUNK)
            .enumerate()
            .map(|(c, mut chunk)| {
                let mut dist2 = 0.0;
                for jj in 0..chunk.ncols() {
                    let cd = col_diag[c * COL_CHUNK + jj];
                    for (v, &rd) in chunk.rb_mut().col_mut(jj).iter_mut().zip(&row_diag) {
                        let new = rd * *v * cd;
                        let d = *v - new;
                        dist2 += d * d;
                        *v = new;
                    }
                }
                dist2
            })
            .collect();
        if partial.iter().sum::<f64>().sqrt() < tol {
            break;
        }
    }
    x
}

/// scikit-learn's `_log_normalize` (Kluger's log interactions): shift so the minimum is at least 1
/// (`make_nonnegative(X, 1)`), take logs, and double-centre: `L − row means − column means + overall mean`.
pub fn log_normalize(m: MatRef<'_, f64>) -> Mat<f64> {
    let mut l = make_nonnegative(m, 1.0);
    let (nrows, ncols) = (l.nrows(), l.ncols());
    for_each_entry(l.as_mut(), |_, _, v| *v = v.ln());
    let (row_sums, col_sums) = sums(l.as_ref());
    let row_avg: Vec<f64> = row_sums.iter().map(|s| s / ncols as f64).collect();
    let col_avg: Vec<f64> = col_sums.iter().map(|s| s / nrows as f64).collect();
    let avg = row_sums.iter().sum::<f64>() / (nrows * ncols) as f64;
    for_each_entry(l.as_mut(), |i, j, v| *v = *v - row_avg[i] - col_avg[j] + avg);
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    fn mat(rows: &[&[f64]]) -> Mat<f64> {
        Mat::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
    }

    #[test]
    fn make_nonnegative_shifts_only_when_needed() {
        let m = mat(&[&[-2.0, 0.0], &[1.0, 3.0]]);
        let s = make_nonnegative(m.as_ref(), 0.0);
        assert_eq!(s[(0, 0)], 0.0);
        assert_eq!(s[(1, 1)], 5.0);
        let s1 = make_nonnegative(m.as_ref(), 1.0);
        assert_eq!(s1[(0, 0)], 1.0);
        let p = mat(&[&[2.0, 3.0]]);
        assert_eq!(make_nonnegative(p.as_ref(), 1.0), p);
    }

    #[test]
    fn scale_normalize_zero_rows_and_columns_get_zero_factor() {
        let m = mat(&[&[1.0, 0.0, 3.0], &[0.0, 0.0, 0.0], &[2.0, 0.0, 4.0]]);
        let s = scale_normalize(m.as_ref());
        assert_eq!(s.row_diag[1], 0.0);
        assert_eq!(s.col_diag[1], 0.0);
        assert_relative_eq!(s.row_diag[0], 1.0 / 4f64.sqrt());
        assert_relative_eq!(s.col_diag[2], 1.0 / 7f64.sqrt());
        assert_relative_eq!(s.an[(2, 2)], 4.0 / (6f64.sqrt() * 7f64.sqrt()));
        assert!(s.an.col(1).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn log_normalize_is_double_centred() {
        let m = mat(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 9.0]]);
        let l = log_normalize(m.as_ref());
        for i in 0..2 {
            assert_relative_eq!(l.row(i).iter().sum::<f64>(), 0.0, epsilon = 1e-12);
        }
        for j in 0..3 {
            assert_relative_eq!(l.col(j).iter().sum::<f64>(), 0.0, epsilon = 1e-12);
        }
        // Entry (0,0) by hand: ln1 − mean(ln1,ln2,ln3) − mean(ln1,ln4) + mean(all).
        let ln = |v: f64| v.ln();
        let all = (ln(1.0) + ln(2.0) + ln(3.0) + ln(4.0) + ln(5.0) + ln(9.0)) / 6.0;
        let want = ln(1.0) - (ln(1.0) + ln(2.0) + ln(3.0)) / 3.0 - (ln(1.0) + ln(4.0)) / 2.0 + all;
        assert_relative_eq!(l[(0, 0)], want, epsilon = 1e-12);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn bistochastic_rows_and_columns_sum_to_constants(
            (r, c, vals) in (2usize..8, 2usize..8).prop_flat_map(|(r, c)| {
                (Just(r), Just(c), proptest::collection::vec(0.05f64..10.0, r * c))
            })
        ) {
            let m = Mat::from_fn(r, c, |i, j| vals[i * c + j]);
            let b = bistochastic_normalize(m.as_ref(), 1000, 1e-12);
            let (rs, cs) = sums(b.as_ref());
            for s in &rs {
                prop_assert!((s - rs[0]).abs() <= 1e-8 * rs[0].abs().max(1e-300));
            }
            for s in &cs {
                prop_assert!((s - cs[0]).abs() <= 1e-8 * cs[0].abs().max(1e-300));
            }
            // A scaling of the input: b = D1 m D2 with positive diagonals, so the ratios
            // b[i,j] b[0,0] / (b[i,0] b[0,j]) equal those of m.
            for i in 1..r {
                for j in 1..c {
                    let rb = b[(i, j)] * b[(0, 0)] / (b[(i, 0)] * b[(0, j)]);
                    let rm = m[(i, j)] * m[(0, 0)] / (m[(i, 0)] * m[(0, j)]);
                    prop_assert!((rb - rm).abs() <= 1e-8 * rm);
                }
            }
        }

        #[test]
        fn scale_normalize_matches_definition(
            (r, c, vals) in (1usize..7, 1usize..7).prop_flat_map(|(r, c)| {
                (Just(r), Just(c), proptest::collection::vec(-5.0f64..5.0, r * c))
            })
        ) {
            let m = Mat::from_fn(r, c, |i, j| vals[i * c + j]);
            let s = scale_normalize(m.as_ref());
            let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
            let x = |i: usize, j: usize| if min < 0.0 { m[(i, j)] - min } else { m[(i, j)] };
            for i in 0..r {
                let rs: f64 = (0..c).map(|j| x(i, j)).sum();
                for j in 0..c {
                    let cs: f64 = (0..r).map(|k| x(k, j)).sum();
                    let want = if rs > 0.0 && cs > 0.0 { x(i, j) / (rs.sqrt() * cs.sqrt()) } else { 0.0 };
                    prop_assert!((s.an[(i, j)] - want).abs() <= 1e-12 * want.abs().max(1.0));
                }
            }
        }
    }
}
