//! Parameters of spectral biclustering, validated once into [`CheckedBiclusterParams`].

use crate::cluster::kmeans::DEFAULT_N_INIT;
use crate::cluster::ClusterError;

/// How the matrix is normalized before its singular vectors are taken (scikit-learn's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BiNormalization {
    /// Kluger's log interactions: shift to minimum ≥ 1, `log`, double-centre; every singular pair is used.
    Log,
    /// Alternate row/column scaling until rows sum to one constant and columns to another (≤ 1000 iterations,
    /// tolerance 1e-5); the first singular pair is discarded.
    Bistochastic,
    /// One row/column scaling `D1^-½ A D2^-½`; the first singular pair is discarded.
    Scale,
}

impl BiNormalization {
    /// scikit-learn's name of the method (`log`, `bistochastic`, `scale`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Bistochastic => "bistochastic",
            Self::Scale => "scale",
        }
    }

    /// Number of leading singular pairs discarded (the trivial one of the scalings).
    pub fn n_discard(&self) -> usize {
        match self {
            Self::Log => 0,
            Self::Bistochastic | Self::Scale => 1,
        }
    }
}

/// Spectral biclustering parameters (unchecked builder); defaults are scikit-learn's
/// (`bistochastic`, 6 components, best 3, 10 k-means restarts).
#[derive(Debug, Clone, PartialEq)]
pub struct BiclusterParams {
    n_row_clusters: usize,
    n_col_clusters: usize,
    method: BiNormalization,
    n_components: usize,
    n_best: usize,
    n_init: usize,
}

impl BiclusterParams {
    /// A checkerboard of `n_row_clusters × n_col_clusters` with scikit-learn's other defaults.
    pub fn new(n_row_clusters: usize, n_col_clusters: usize) -> Self {
        Self {
            n_row_clusters,
            n_col_clusters,
            method: BiNormalization::Bistochastic,
            n_components: 6,
            n_best: 3,
            n_init: DEFAULT_N_INIT,
        }
    }

    /// Normalization method.
    pub fn method(mut self, method: BiNormalization) -> Self {
        self.method = method;
        self
    }

    /// Number of singular vectors examined (after the discarded one).
    pub fn n_components(mut self, n_components: usize) -> Self {
        self.n_components = n_components;
        self
    }

    /// Number of best piecewise-constant vectors the data are projected on.
    pub fn n_best(mut self, n_best: usize) -> Self {
        self.n_best = n_best;
        self
    }

    /// k-means restarts of every k-means run inside.
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.n_init = n_init;
        self
    }

    /// Validate: cluster counts, `n_components`, `n_best`, `n_init` all ≥ 1, and `n_best ≤ n_components`.
    ///
    /// # Errors
    /// [`ClusterError::InvalidParam`] naming the first bad parameter.
    pub fn check(&self) -> Result<CheckedBiclusterParams, ClusterError> {
        let bad = |name: &'static str, reason: String| Err(ClusterError::InvalidParam { name, reason });
        for (name, v) in [
            ("n_row_clusters", self.n_row_clusters),
            ("n_col_clusters", self.n_col_clusters),
            ("n_components", self.n_components),
            ("n_best", self.n_best),
            ("n_init", self.n_init),
        ] {
            if v == 0 {
                return bad(name, "must be at least 1".into());
            }
        }
        if self.n_best > self.n_components {
            return bad("n_best", format!("must be at most n_components = {}, got {}", self.n_components, self.n_best));
        }
        Ok(CheckedBiclusterParams {
            n_row_clusters: self.n_row_clusters,
            n_col_clusters: self.n_col_clusters,
            method: self.method,
            n_components: self.n_components,
            n_best: self.n_best,
            n_init: self.n_init,
        })
    }
}

/// Validated spectral biclustering parameters (only [`BiclusterParams::check`] makes one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckedBiclusterParams {
    pub(super) n_row_clusters: usize,
    pub(super) n_col_clusters: usize,
    pub(super) method: BiNormalization,
    pub(super) n_components: usize,
    pub(super) n_best: usize,
    pub(super) n_init: usize,
}

impl CheckedBiclusterParams {
    /// Row clusters.
    pub fn n_row_clusters(&self) -> usize {
        self.n_row_clusters
    }
    /// Column clusters.
    pub fn n_col_clusters(&self) -> usize {
        self.n_col_clusters
    }
    /// Normalization method.
    pub fn method(&self) -> BiNormalization {
        self.method
    }
    /// Singular vectors examined.
    pub fn n_components(&self) -> usize {
        self.n_components
    }
    /// Best vectors kept.
    pub fn n_best(&self) -> usize {
        self.n_best
    }
    /// k-means restarts.
    pub fn n_init(&self) -> usize {
        self.n_init
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_rejects_bad_parameters() {
        assert!(BiclusterParams::new(3, 3).check().is_ok());
        let name = |p: BiclusterParams| match p.check() {
            Err(ClusterError::InvalidParam { name, .. }) => name,
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(name(BiclusterParams::new(0, 3)), "n_row_clusters");
        assert_eq!(name(BiclusterParams::new(3, 0)), "n_col_clusters");
        assert_eq!(name(BiclusterParams::new(3, 3).n_components(0)), "n_components");
        assert_eq!(name(BiclusterParams::new(3, 3).n_best(7)), "n_best");
        assert_eq!(name(BiclusterParams::new(3, 3).n_init(0)), "n_init");
    }
}
