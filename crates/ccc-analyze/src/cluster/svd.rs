//! Truncated singular value decomposition: the `k` leading singular triplets of a dense matrix.
//!
//! Small matrices use faer's dense thin SVD. Large symmetric ones (the fold matrices) use faer's restarted
//! Lanczos for the eigenpairs of largest magnitude (`σ = |λ|`, `u = x`, `v = sign(λ) x`: half the matrix
//! products of an SVD); other large ones faer's Lanczos bidiagonalization (`partial_svd`). Both start from a
//! fixed pseudo-random vector, check every returned triplet's residuals
//! `‖A v − σ u‖` and `‖Aᵀ u − σ v‖` against `1e-8 · ‖A‖_F`, and fall back to the dense SVD when the check
//! fails (non-convergence, repeated singular values that a single-vector Krylov method cannot resolve, rank
//! deficiency). So the result is deterministic and exact to working precision either way — unlike
//! scikit-learn's default randomized SVD, which is an approximation of this.
//!
//! A matrix of low numerical rank never reaches faer's Lanczos: once the Krylov space is invariant (rank below
//! its dimension), faer 0.24's reorthogonalization loop (`iterate_lanczos` / `iterate_arnoldi`) shrinks the next
//! vector to exactly zero and then never meets its own stopping test (`|r| < f·‖v‖` with both zero): it spins
//! forever, with no restart count to bound it. The sign matrices of a window of few checkpoints (a `K × K` ±1
//! pattern of a few distinct rows) are such matrices. [`rank_exceeds`] certifies the rank from a seeded sketch
//! `A Ω` (one GEMM of `max_dim + 9` columns) first; a matrix that fails goes to the dense SVD.
//!
//! Sign convention (scikit-learn's `svd_flip`, u-based): each left singular vector is flipped so its entry
//! of largest magnitude (the first such) is positive, and its right vector with it.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::matrix_free::eigen::{
    partial_self_adjoint_eigen, partial_self_adjoint_eigen_scratch, partial_svd, partial_svd_scratch,
    PartialEigenParams,
};
use faer::{Col, Mat, MatRef};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::error::{check_finite, ClusterError};

/// Matrices with `min(nrows, ncols)` up to this use the dense SVD directly. Up to a few hundred the dense SVD
/// (blocked, a few tens of ms) beats the restarted Lanczos methods, whose reorthogonalization is one vector at a
/// time and whose restarts multiply on the flat spectra of a window's `C × K` matrices: at `K = 218` (pythia-70m)
/// `partial_svd` was half the CPU of a window's analysis (docs/timeline.md §7).
pub const DENSE_SVD_MAX_DIM: usize = 256;

/// Seed of the Lanczos start vector (fixed: the decomposition depends on the matrix only).
const START_VECTOR_SEED: u64 = 0x5eed_5bd0;

/// The `k` leading singular triplets `A ≈ U diag(s) Vᵀ`, in nonincreasing order of `s`.
#[derive(Debug, Clone)]
pub struct TruncatedSvd {
    /// Left singular vectors, `nrows × k`, orthonormal columns.
    pub u: Mat<f64>,
    /// Singular values, nonincreasing, `k` of them.
    pub s: Vec<f64>,
    /// Right singular vectors, `ncols × k`, orthonormal columns.
    pub v: Mat<f64>,
}

impl TruncatedSvd {
    /// Number of triplets held.
    pub fn len(&self) -> usize {
        self.s.len()
    }

    /// Whether no triplet is held (an empty input matrix).
    pub fn is_empty(&self) -> bool {
        self.s.is_empty()
    }
}

/// The `k` leading singular triplets of `m` (fewer when `k > min(nrows, ncols)`: all of them).
///
/// # Errors
/// [`ClusterError::NonFinite`] when `m` holds NaN/inf; [`ClusterError::Svd`] when even the dense SVD fails.
///
/// # Example
/// ```
/// use ccc_analyze::cluster::leading_singular_vectors;
/// let m = faer::mat![[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]];
/// let svd = leading_singular_vectors(m.as_ref(), 1).unwrap();
/// assert!((svd.s[0] - 3.0).abs() < 1e-12);
/// assert!((svd.u[(0, 0)] - 1.0).abs() < 1e-12);
/// ```
pub fn leading_singular_vectors(m: MatRef<'_, f64>, k: usize) -> Result<TruncatedSvd, ClusterError> {
    check_finite(m, "svd")?;
    let (nrows, ncols) = (m.nrows(), m.ncols());
    let k = k.min(nrows.min(ncols));
    if k == 0 {
        return Ok(TruncatedSvd { u: Mat::zeros(nrows, 0), s: Vec::new(), v: Mat::zeros(ncols, 0) });
    }
    let mut svd = if nrows.min(ncols) <= DENSE_SVD_MAX_DIM {
        dense(m, k)?
    } else {
        let symmetric = is_symmetric(m);
        let krylov = krylov_dims(k, nrows.min(ncols));
        // Lanczos only where its Krylov space cannot become invariant (see the module docs: faer hangs there).
        let lanczos_safe = krylov.is_some_and(|p| rank_exceeds(m, p.max_dim + 1));
        let iterative =
            lanczos_safe.then(|| symmetric.then(|| lanczos_symmetric(m, k)).flatten().or_else(|| lanczos(m, k)));
        match iterative.flatten() {
            Some(svd) => svd,
            None => dense(m, k)?,
        }
    };
    flip_signs(&mut svd);
    Ok(svd)
}

/// Dense thin SVD, truncated to `k`.
fn dense(m: MatRef<'_, f64>, k: usize) -> Result<TruncatedSvd, ClusterError> {
    let err = ClusterError::Svd { nrows: m.nrows(), ncols: m.ncols() };
    let svd = m.thin_svd().map_err(|_| err.clone())?;
    let s: Vec<f64> = (0..k).map(|j| svd.S()[j]).collect();
    if s.iter().any(|x| !x.is_finite()) {
        return Err(err);
    }
    Ok(TruncatedSvd { u: svd.U().subcols(0, k).to_owned(), s, v: svd.V().subcols(0, k).to_owned() })
}

/// Whether `m` is square and exactly symmetric.
fn is_symmetric(m: MatRef<'_, f64>) -> bool {
    m.nrows() == m.ncols() && (0..m.ncols()).all(|j| (0..j).all(|i| m[(i, j)] == m[(j, i)]))
}

/// The subspace dimensions of the restarted Lanczos methods: room for the wanted vectors plus a margin,
/// below `dim` as faer requires; `None` when `dim` is too small for that.
fn krylov_dims(k: usize, dim: usize) -> Option<PartialEigenParams> {
    let max_dim = (2 * k).max(64).min(dim.checked_sub(1)?);
    let min_dim = (k + 8).max(32).min(max_dim.checked_sub(1)?);
    (max_dim > k && min_dim >= k).then(|| PartialEigenParams {
        min_dim,
        max_dim,
        // Bounded: a stalled restart loop (nearly flat spectra) falls back to the dense SVD in seconds
        // instead of spinning for minutes.
        max_restarts: 150,
        ..Default::default()
    })
}

/// Relative singular value (of the sketch) below which a direction counts as absent: far above rounding
/// (`1e-16`), so a direction that passes gives the Lanczos vectors a component that reorthogonalization keeps.
const RANK_TOL: f64 = 1e-8;

/// Whether the numerical rank of `m` is at least `needed`: the singular values of the sketch `m Ω` (`Ω` a fixed
/// pseudo-random `ncols × (needed + 8)` matrix; the sketch has the rank of `m` up to its width, almost surely)
/// above `RANK_TOL` times the largest. `false` when the sketch would not be narrower than `m` (no saving).
fn rank_exceeds(m: MatRef<'_, f64>, needed: usize) -> bool {
    let width = needed + 8;
    if width >= m.nrows().min(m.ncols()) {
        return false;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(START_VECTOR_SEED ^ 0x5ca1ab1e);
    let omega = Mat::from_fn(m.ncols(), width, |_, _| rng.random_range(-1.0..1.0));
    let sketch = m * &omega;
    let Ok(s) = sketch.singular_values() else { return false };
    let top = s.first().copied().unwrap_or(0.0);
    top > 0.0 && s.iter().filter(|&&x| x > RANK_TOL * top).count() >= needed
}

/// The fixed start vector of the Lanczos methods.
fn start_vector(n: usize) -> Col<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(START_VECTOR_SEED);
    Col::from_fn(n, |_| rng.random_range(-1.0..1.0))
}

/// Restarted symmetric Lanczos for the `k` eigenpairs of largest magnitude, as singular triplets; `None` when
/// any fails the residual check.
fn lanczos_symmetric(m: MatRef<'_, f64>, k: usize) -> Option<TruncatedSvd> {
    let n = m.nrows();
    let frob = m.norm_l2();
    if frob == 0.0 {
        return None;
    }
    let params = krylov_dims(k, n)?;
    let v0 = start_vector(n);
    let par = faer::get_global_parallelism();
    let mut mem = MemBuffer::new(partial_self_adjoint_eigen_scratch::<f64>(&m, k, par, params));
    let mut x = Mat::<f64>::zeros(n, k);
    let mut w = vec![0.0; k];
    let info = partial_self_adjoint_eigen(
        x.as_mut(),
        &mut w,
        &m,
        v0.as_ref(),
        1e-10 * frob,
        par,
        MemStack::new(&mut mem),
        params,
    );
    if info.n_converged_eigen < k {
        return None;
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| w[b].abs().total_cmp(&w[a].abs()));
    let u = Mat::from_fn(n, k, |i, j| x[(i, order[j])]);
    let v = Mat::from_fn(n, k, |i, j| x[(i, order[j])] * if w[order[j]] < 0.0 { -1.0 } else { 1.0 });
    let s: Vec<f64> = order.iter().map(|&j| w[j].abs()).collect();
    let svd = TruncatedSvd { u, s, v };
    residuals_ok(m, &svd, 1e-8 * frob).then_some(svd)
}

/// Restarted Lanczos bidiagonalization; `None` when any requested triplet fails the residual check.
fn lanczos(m: MatRef<'_, f64>, k: usize) -> Option<TruncatedSvd> {
    let (nrows, ncols) = (m.nrows(), m.ncols());
    let frob = m.norm_l2();
    if frob == 0.0 {
        return None;
    }
    let params = krylov_dims(k, nrows.min(ncols))?;
    let v0 = start_vector(ncols);
    let par = faer::get_global_parallelism();
    let mut mem = MemBuffer::new(partial_svd_scratch::<f64>(&m, k, par, params));
    let mut u = Mat::<f64>::zeros(nrows, k);
    let mut v = Mat::<f64>::zeros(ncols, k);
    let mut s = vec![0.0; k];
    let info = partial_svd(
        u.as_mut(),
        v.as_mut(),
        &mut s,
        &m,
        v0.as_ref(),
        1e-10 * frob,
        par,
        MemStack::new(&mut mem),
        params,
    );
    if info.n_converged_eigen < k {
        return None;
    }
    // Sort by nonincreasing singular value (faer sorts by magnitude already; make it explicit).
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| s[b].abs().total_cmp(&s[a].abs()));
    let u = Mat::from_fn(nrows, k, |i, j| u[(i, order[j])] * s[order[j]].signum());
    let v = Mat::from_fn(ncols, k, |i, j| v[(i, order[j])]);
    let s: Vec<f64> = order.iter().map(|&j| s[j].abs()).collect();
    let svd = TruncatedSvd { u, s, v };
    residuals_ok(m, &svd, 1e-8 * frob).then_some(svd)
}

/// Whether every triplet satisfies `‖A v − σ u‖ ≤ tol`, `‖Aᵀ u − σ v‖ ≤ tol` and has unit vectors.
fn residuals_ok(m: MatRef<'_, f64>, svd: &TruncatedSvd, tol: f64) -> bool {
    let av = m * &svd.v;
    let atu = m.transpose() * &svd.u;
    (0..svd.len()).all(|j| {
        let s = svd.s[j];
        let ru = (av.col(j) - svd.u.col(j) * faer::Scale(s)).norm_l2();
        let rv = (atu.col(j) - svd.v.col(j) * faer::Scale(s)).norm_l2();
        let nu = svd.u.col(j).norm_l2();
        let nv = svd.v.col(j).norm_l2();
        s.is_finite() && ru <= tol && rv <= tol && (nu - 1.0).abs() < 1e-8 && (nv - 1.0).abs() < 1e-8
    })
}

/// scikit-learn's `svd_flip` (u-based): the largest-magnitude entry of each `u` column becomes positive.
fn flip_signs(svd: &mut TruncatedSvd) {
    for j in 0..svd.len() {
        let col = svd.u.col(j);
        let mut best = 0usize;
        for i in 1..col.nrows() {
            if col[i].abs() > col[best].abs() {
                best = i;
            }
        }
        if col.nrows() > 0 && col[best] < 0.0 {
            svd.u.col_mut(j).iter_mut().for_each(|x| *x = -*x);
            svd.v.col_mut(j).iter_mut().for_each(|x| *x = -*x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A matrix with known singular triplets: `Q1 diag(s) Q2ᵀ` from orthonormal factors of random matrices.
    fn planted(nrows: usize, ncols: usize, s: &[f64], seed: u64) -> Mat<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = Mat::from_fn(nrows, s.len(), |_, _| rng.random_range(-1.0..1.0));
        let b = Mat::from_fn(ncols, s.len(), |_, _| rng.random_range(-1.0..1.0));
        let qa = a.qr().compute_thin_Q();
        let qb = b.qr().compute_thin_Q();
        let d = Mat::from_fn(s.len(), s.len(), |i, j| if i == j { s[i] } else { 0.0 });
        &qa * &d * qb.transpose()
    }

    fn check_against_dense(m: &Mat<f64>, k: usize) {
        let got = leading_singular_vectors(m.as_ref(), k).unwrap();
        let mut want = dense(m.as_ref(), k).unwrap();
        flip_signs(&mut want);
        for j in 0..k {
            assert!((got.s[j] - want.s[j]).abs() <= 1e-9 * want.s[0], "s[{j}]");
            let dot: f64 = (0..m.nrows()).map(|i| got.u[(i, j)] * want.u[(i, j)]).sum();
            assert!((dot - 1.0).abs() < 1e-7, "u[{j}] differs: dot {dot}");
            let dot: f64 = (0..m.ncols()).map(|i| got.v[(i, j)] * want.v[(i, j)]).sum();
            assert!((dot - 1.0).abs() < 1e-7, "v[{j}] differs: dot {dot}");
        }
    }

    #[test]
    fn lanczos_matches_dense_on_large_matrix() {
        let s: Vec<f64> = (0..40).map(|i| 100.0 * 0.8f64.powi(i)).collect();
        let m = planted(300, 260, &s, 1);
        assert!(lanczos(m.as_ref(), 7).is_some(), "lanczos should converge on a distinct spectrum");
        check_against_dense(&m, 7);
    }

    #[test]
    fn symmetric_path_matches_dense_with_negative_eigenvalues() {
        // Symmetric with eigenvalues of both signs: singular values are their magnitudes.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let a = Mat::from_fn(240, 30, |_, _| rng.random_range(-1.0..1.0));
        let q = a.qr().compute_thin_Q();
        let lambda: Vec<f64> = (0..30).map(|i| if i % 2 == 0 { 50.0 } else { -45.0 } * 0.8f64.powi(i)).collect();
        let d = Mat::from_fn(30, 30, |i, j| if i == j { lambda[i] } else { 0.0 });
        let m = &q * &d * q.transpose();
        // Exactly symmetric (rounding may break symmetry of the product).
        let m = Mat::from_fn(240, 240, |i, j| if i <= j { m[(i, j)] } else { m[(j, i)] });
        assert!(is_symmetric(m.as_ref()));
        assert!(lanczos_symmetric(m.as_ref(), 7).is_some());
        check_against_dense(&m, 7);
    }

    #[test]
    fn repeated_singular_values_fall_back_and_stay_exact() {
        // Three equal leading singular values: a single-vector Krylov method cannot resolve the space.
        let mut s = vec![5.0, 5.0, 5.0];
        s.extend((0..20).map(|i| 0.5f64.powi(i)));
        let m = planted(220, 210, &s, 2);
        let got = leading_singular_vectors(m.as_ref(), 4).unwrap();
        for j in 0..3 {
            assert!((got.s[j] - 5.0).abs() < 1e-9);
        }
        assert!((got.s[3] - 1.0).abs() < 1e-9);
        assert!(residuals_ok(m.as_ref(), &got, 1e-8 * m.norm_l2()));
    }

    #[test]
    fn low_rank_matrices_skip_lanczos_and_stay_exact() {
        // Rank 12 < the Krylov dimension: faer's Lanczos would spin forever on these (see the module docs).
        let s: Vec<f64> = (0..12).map(|i| 10.0 * 0.7f64.powi(i)).collect();
        let m = planted(300, 280, &s, 4);
        assert!(!rank_exceeds(m.as_ref(), 65));
        check_against_dense(&m, 7);
        // A ±1 pattern of a few distinct rows, symmetric, as the sign matrix of a window's component folding.
        let pattern = |i: usize| [i % 3 == 0, i % 5 < 2, i % 7 == 1];
        let sign = Mat::from_fn(300, 300, |i, j| {
            let (a, b) = (pattern(i), pattern(j));
            if (0..3).filter(|&q| a[q] == b[q]).count() >= 2 {
                1.0
            } else {
                -1.0
            }
        });
        assert!(is_symmetric(sign.as_ref()));
        let got = leading_singular_vectors(sign.as_ref(), 7).unwrap();
        assert!(residuals_ok(sign.as_ref(), &got, 1e-8 * sign.norm_l2()));
        // A full-rank matrix still passes the certificate (and takes the Lanczos path).
        let full: Vec<f64> = (0..280).map(|i| 1.0 + 0.99f64.powi(i)).collect();
        assert!(rank_exceeds(planted(300, 280, &full, 5).as_ref(), 65));
    }

    #[test]
    fn small_and_degenerate_inputs() {
        let z = Mat::<f64>::zeros(5, 4);
        let svd = leading_singular_vectors(z.as_ref(), 9).unwrap();
        assert_eq!(svd.len(), 4);
        assert!(svd.s.iter().all(|&x| x == 0.0));
        let big_zero = Mat::<f64>::zeros(200, 200);
        assert_eq!(leading_singular_vectors(big_zero.as_ref(), 3).unwrap().len(), 3);
        let e = Mat::<f64>::zeros(0, 3);
        assert!(leading_singular_vectors(e.as_ref(), 2).unwrap().is_empty());
        let mut nan = Mat::<f64>::zeros(3, 3);
        nan[(1, 2)] = f64::NAN;
        assert!(matches!(
            leading_singular_vectors(nan.as_ref(), 1),
            Err(ClusterError::NonFinite { row: 1, col: 2, .. })
        ));
    }

    #[test]
    fn signs_follow_svd_flip() {
        let m = planted(50, 30, &[3.0, 2.0, 1.0], 3);
        let svd = leading_singular_vectors(m.as_ref(), 3).unwrap();
        for j in 0..3 {
            let col = svd.u.col(j);
            let max = col.iter().copied().fold(0.0f64, |a, x| if x.abs() > a.abs() { x } else { a });
            assert!(max > 0.0);
        }
    }
}
