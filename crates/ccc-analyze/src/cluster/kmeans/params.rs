//! Parameters of k-means, validated once into [`CheckedKMeansParams`].

use crate::cluster::ClusterError;

/// Default number of restarts (scikit-learn's bicluster default).
pub const DEFAULT_N_INIT: usize = 10;
/// Default cap on Lloyd iterations per restart (scikit-learn's).
pub const DEFAULT_MAX_ITER: usize = 300;
/// Default relative tolerance (scikit-learn's): convergence when the squared center shift of an iteration is at
/// most `tol × mean over features of the data variance`.
pub const DEFAULT_TOL: f64 = 1e-4;

/// k-means parameters (unchecked builder). [`KMeansParams::check`] validates them.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    n_clusters: usize,
    n_init: usize,
    max_iter: usize,
    tol: f64,
}

impl KMeansParams {
    /// `n_clusters` clusters, [`DEFAULT_N_INIT`] restarts, [`DEFAULT_MAX_ITER`] iterations, [`DEFAULT_TOL`].
    pub fn new(n_clusters: usize) -> Self {
        Self { n_clusters, n_init: DEFAULT_N_INIT, max_iter: DEFAULT_MAX_ITER, tol: DEFAULT_TOL }
    }

    /// Number of k-means++ restarts; the one with the lowest inertia is kept.
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.n_init = n_init;
        self
    }

    /// Cap on Lloyd iterations per restart.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Relative tolerance (see [`DEFAULT_TOL`]).
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Validate: `n_clusters ≥ 1`, `n_init ≥ 1`, `max_iter ≥ 1`, `tol` finite and `≥ 0`.
    ///
    /// # Errors
    /// [`ClusterError::InvalidParam`] naming the first bad parameter.
    pub fn check(&self) -> Result<CheckedKMeansParams, ClusterError> {
        let bad = |name: &'static str, reason: &str| Err(ClusterError::InvalidParam { name, reason: reason.into() });
        if self.n_clusters == 0 {
            return bad("n_clusters", "must be at least 1");
        }
        if self.n_init == 0 {
            return bad("n_init", "must be at least 1");
        }
        if self.max_iter == 0 {
            return bad("max_iter", "must be at least 1");
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return bad("tol", &format!("must be finite and nonnegative, got {}", self.tol));
        }
        Ok(CheckedKMeansParams {
            n_clusters: self.n_clusters,
            n_init: self.n_init,
            max_iter: self.max_iter,
            tol: self.tol,
        })
    }
}

/// Validated k-means parameters (only [`KMeansParams::check`] makes one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckedKMeansParams {
    n_clusters: usize,
    n_init: usize,
    max_iter: usize,
    tol: f64,
}

impl CheckedKMeansParams {
    /// Number of clusters (≥ 1).
    pub fn n_clusters(&self) -> usize {
        self.n_clusters
    }
    /// Number of restarts (≥ 1).
    pub fn n_init(&self) -> usize {
        self.n_init
    }
    /// Cap on Lloyd iterations per restart (≥ 1).
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }
    /// Relative tolerance (finite, ≥ 0).
    pub fn tol(&self) -> f64 {
        self.tol
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_rejects_each_bad_parameter() {
        assert!(KMeansParams::new(3).check().is_ok());
        let name = |p: KMeansParams| match p.check() {
            Err(ClusterError::InvalidParam { name, .. }) => name,
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(name(KMeansParams::new(0)), "n_clusters");
        assert_eq!(name(KMeansParams::new(2).n_init(0)), "n_init");
        assert_eq!(name(KMeansParams::new(2).max_iter(0)), "max_iter");
        assert_eq!(name(KMeansParams::new(2).tol(f64::NAN)), "tol");
        assert_eq!(name(KMeansParams::new(2).tol(-1.0)), "tol");
    }
}
