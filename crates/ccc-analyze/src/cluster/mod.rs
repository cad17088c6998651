//! Clustering algorithms of the analysis (docs/analysis.md §3), with scikit-learn's semantics.
//!
//! | function | scikit-learn reference |
//! |---|---|
//! | [`kmeans()`] | `KMeans(init="k-means++", algorithm="lloyd")` with `n_init` restarts |
//! | [`spectral_cocluster()`] / [`SpectralCoclustering`] | `SpectralCoclustering` (Dhillon 2001) |
//! | [`spectral_bicluster()`] / [`SpectralBiclustering`] | `SpectralBiclustering` (Kluger 2003) |
//! | [`ward()`] | `AgglomerativeClustering(linkage="ward")` |
//! | [`scale_normalize`], [`bistochastic_normalize`], [`log_normalize`] | `_bicluster.py` helpers |
//! | [`leading_singular_vectors`] | the truncated SVD (exact; scikit-learn's default is randomized) |
//! | [`dhillon_bipartition`] | none (docs/analysis.md §3.7 `dhillon`: the reference tool's own code) |
//! | [`two_means_1d`] | none (optimal 1-D 2-means, the split step of [`dhillon_bipartition`]) |
//!
//! Everything random draws from a caller's [`rand_chacha::ChaCha8Rng`]; the same seed gives the same labels,
//! whatever the number of threads. Deterministic algorithms (Ward, the normalizations, the SVD) match
//! scikit-learn exactly up to rounding (Dhillon's bipartition and 2-means are deterministic too); k-means-based ones agree with it in distribution (NumPy's random stream
//! is not reproduced).
//!
//! Inputs holding NaN or infinity are rejected with [`ClusterError::NonFinite`]; fewer samples than clusters
//! with [`ClusterError::TooFewSamples`]. Fewer *distinct* points than clusters is not an error: some labels
//! then stay unused (as scikit-learn); callers drop empty clusters.

pub mod dhillon;
mod error;
pub mod kmeans;
pub mod normalize;
pub mod spectral_bicluster;
pub mod spectral_cocluster;
pub mod svd;
pub mod ward;

pub use dhillon::{dhillon_bipartition, two_means_1d};
pub use error::ClusterError;
pub use kmeans::{kmeans, CheckedKMeansParams, KMeansParams, KMeansResult};
pub use normalize::{bistochastic_normalize, log_normalize, make_nonnegative, scale_normalize, ScaleNormalized};
pub use spectral_bicluster::{
    spectral_bicluster, BiNormalization, BiclusterParams, CheckedBiclusterParams, SpectralBiclustering,
};
pub use spectral_cocluster::{spectral_cocluster, SpectralCoclustering};
pub use svd::{leading_singular_vectors, TruncatedSvd};
pub use ward::ward;

/// Row and column labels of a (co-/bi-)clustering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bicluster {
    /// Cluster of each row.
    pub row_labels: Vec<usize>,
    /// Cluster of each column.
    pub col_labels: Vec<usize>,
}
