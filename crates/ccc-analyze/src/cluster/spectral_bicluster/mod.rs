//! Spectral biclustering (Kluger et al. 2003), as scikit-learn's `SpectralBiclustering`.
//!
//! 1. Normalize ([`BiNormalization`]): `log`, `bistochastic` or `scale`.
//! 2. Take `n_components` singular pairs of the normalized matrix, after discarding the first one for the
//!    two scalings (whose first pair is trivial).
//! 3. `_fit_best_piecewise`: of the left vectors, keep the `n_best` best approximated by piecewise-constant
//!    vectors with `n_row_clusters` levels (1-D k-means); likewise the right vectors with `n_col_clusters`.
//! 4. `_project_and_cluster`: row labels = k-means of the rows of the **original** matrix projected on the
//!    best right vectors; column labels = k-means of its columns projected on the best left vectors.
//!
//! Steps 1–2 depend on the matrix only; [`SpectralBiclustering::prepare`] does them once so that several
//! seeded runs (step 3–4) can share them.
//!
//! Deviation from scikit-learn: the SVD is exact to working precision (see [`super::svd`]) instead of
//! scikit-learn's default randomized approximation; k-means restarts draw from ChaCha8, not NumPy.

mod fit;
mod params;

pub use params::{BiNormalization, BiclusterParams, CheckedBiclusterParams};

use faer::{Mat, MatRef};
use rand_chacha::ChaCha8Rng;

use super::error::{check_finite, ClusterError};
use super::normalize::{
    bistochastic_normalize, log_normalize, scale_normalize, BISTOCHASTIC_MAX_ITER, BISTOCHASTIC_TOL,
};
use super::svd::leading_singular_vectors;
use super::Bicluster;

/// A matrix normalized and decomposed, ready for seeded spectral biclustering runs.
#[derive(Debug, Clone)]
pub struct SpectralBiclustering {
    params: CheckedBiclusterParams,
    /// The original matrix (projected in step 4).
    data: Mat<f64>,
    /// Left singular vectors kept (after the discarded ones), `nrows × ≤ n_components`.
    u: Mat<f64>,
    /// Right singular vectors kept, `ncols × ≤ n_components`.
    v: Mat<f64>,
}

impl SpectralBiclustering {
    /// Validate `params` against `m`, normalize `m` and take its singular vectors.
    ///
    /// When `m` is too small to have `n_components` (+1 discarded) singular pairs, all it has are used.
    ///
    /// # Errors
    /// [`ClusterError::InvalidParam`]; [`ClusterError::TooFewSamples`] when a cluster count exceeds the rows
    /// (scikit-learn's check, for both counts) or `n_col_clusters` exceeds the columns;
    /// [`ClusterError::NonFinite`]; [`ClusterError::Svd`].
    pub fn prepare(m: MatRef<'_, f64>, params: &BiclusterParams) -> Result<Self, ClusterError> {
        let params = params.check()?;
        let (nrows, ncols) = (m.nrows(), m.ncols());
        for (k, n) in [(params.n_row_clusters, nrows), (params.n_col_clusters, nrows), (params.n_col_clusters, ncols)] {
            if k > n {
                return Err(ClusterError::TooFewSamples { what: "spectral_bicluster", n_samples: n, n_clusters: k });
            }
        }
        check_finite(m, "spectral_bicluster")?;
        let normalized = match params.method {
            BiNormalization::Log => log_normalize(m),
            BiNormalization::Bistochastic => bistochastic_normalize(m, BISTOCHASTIC_MAX_ITER, BISTOCHASTIC_TOL),
            BiNormalization::Scale => scale_normalize(m).an,
        };
        let n_discard = params.method.n_discard();
        let svd = leading_singular_vectors(normalized.as_ref(), params.n_components + n_discard)?;
        let kept = svd.len().saturating_sub(n_discard);
        let u = svd.u.subcols(svd.len() - kept, kept).to_owned();
        let v = svd.v.subcols(svd.len() - kept, kept).to_owned();
        Ok(Self { params, data: m.to_owned(), u, v })
    }

    /// The validated parameters.
    pub fn params(&self) -> &CheckedBiclusterParams {
        &self.params
    }

    /// The singular vectors examined: left (`nrows × c`) and right (`ncols × c`), `c ≤ n_components`.
    pub fn singular_vectors(&self) -> (MatRef<'_, f64>, MatRef<'_, f64>) {
        (self.u.as_ref(), self.v.as_ref())
    }

    /// Steps 3–4 with the k-means restarts drawn from `rng` (in scikit-learn's order: left vectors, right
    /// vectors, rows, columns).
    ///
    /// # Errors
    /// [`ClusterError::Overflow`] when the projection overflows.
    pub fn fit(&self, rng: &mut ChaCha8Rng) -> Result<Bicluster, ClusterError> {
        let p = &self.params;
        let n_best = p.n_best.min(self.u.ncols());
        let best_u = fit::fit_best_piecewise(self.u.as_ref(), n_best, p.n_row_clusters, p.n_init, rng)?;
        let best_v = fit::fit_best_piecewise(self.v.as_ref(), n_best, p.n_col_clusters, p.n_init, rng)?;
        let pick = |m: &Mat<f64>, cols: &[usize]| Mat::from_fn(m.nrows(), cols.len(), |i, j| m[(i, cols[j])]);
        let best_u = pick(&self.u, &best_u);
        let best_v = pick(&self.v, &best_v);
        let row_labels =
            fit::project_and_cluster(self.data.as_ref(), best_v.as_ref(), p.n_row_clusters, p.n_init, rng)?;
        let col_labels =
            fit::project_and_cluster(self.data.as_ref().transpose(), best_u.as_ref(), p.n_col_clusters, p.n_init, rng)?;
        Ok(Bicluster { row_labels, col_labels })
    }
}

/// Spectral biclustering of `m` into a checkerboard of `n_row_clusters × n_col_clusters`
/// ([`SpectralBiclustering::prepare`] then [`SpectralBiclustering::fit`]).
///
/// # Errors
/// As [`SpectralBiclustering::prepare`] and [`SpectralBiclustering::fit`].
///
/// # Example
/// ```
/// use ccc_analyze::cluster::{spectral_bicluster, BiNormalization, BiclusterParams};
/// use rand::SeedableRng;
/// // A 2×2 checkerboard with multiplicative structure.
/// let m = faer::Mat::from_fn(8, 6, |i, j| (if i < 4 { 1.0 } else { 5.0 }) * (if j < 3 { 1.0 } else { 3.0 }) + 0.01 * (i * j) as f64);
/// let params = BiclusterParams::new(2, 2).method(BiNormalization::Log);
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let bi = spectral_bicluster(m.as_ref(), &params, &mut rng).unwrap();
/// assert_eq!(bi.row_labels[0], bi.row_labels[3]);
/// assert_ne!(bi.row_labels[0], bi.row_labels[4]);
/// ```
pub fn spectral_bicluster(
    m: MatRef<'_, f64>,
    params: &BiclusterParams,
    rng: &mut ChaCha8Rng,
) -> Result<Bicluster, ClusterError> {
    SpectralBiclustering::prepare(m, params)?.fit(rng)
}

#[cfg(test)]
mod tests;
