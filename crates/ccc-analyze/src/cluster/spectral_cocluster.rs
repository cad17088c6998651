//! Spectral co-clustering (Dhillon 2001), as scikit-learn's `SpectralCoclustering`.

use faer::MatRef;
use rand_chacha::ChaCha8Rng;

use super::error::{check_finite, ClusterError};
use super::kmeans::{kmeans_rows, KMeansParams};
use super::normalize::scale_normalize;
use super::svd::leading_singular_vectors;
use super::Bicluster;

/// Spectral co-clustering of `m` (`r × c`) into `n_clusters` co-clusters:
/// `An = D1^-½ A D2^-½` ([`scale_normalize`], after shifting a negative
/// matrix to minimum 0), its singular vectors `2 ..= 1 + ⌈log2 n_clusters⌉`, and k-means (`n_init` k-means++
/// restarts) on the rows of `z = [D1^-½ U; D2^-½ V]`; the first `r` labels are the rows', the rest the
/// columns'.
///
/// With one cluster every label is 0 (no singular vector is used). Labels of empty clusters are unused.
///
/// # Errors
/// [`ClusterError::InvalidParam`] for `n_clusters == 0` or `n_init == 0`; [`ClusterError::TooFewSamples`] when
/// `n_clusters > r`; [`ClusterError::NonFinite`]; [`ClusterError::Svd`].
///
/// # Example
/// ```
/// use ccc_analyze::cluster::spectral_cocluster;
/// use rand::SeedableRng;
/// // Two diagonal blocks.
/// let m = faer::Mat::from_fn(6, 6, |i, j| if (i < 3) == (j < 3) { 5.0 } else { 0.1 });
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let bi = spectral_cocluster(m.as_ref(), 2, 10, &mut rng).unwrap();
/// assert_eq!(bi.row_labels[0], bi.row_labels[2]);
/// assert_ne!(bi.row_labels[0], bi.row_labels[3]);
/// ```
pub fn spectral_cocluster(
    m: MatRef<'_, f64>,
    n_clusters: usize,
    n_init: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Bicluster, ClusterError> {
    KMeansParams::new(n_clusters).n_init(n_init).check()?;
    SpectralCoclustering::prepare(m, n_clusters)?.fit(n_init, rng)
}

/// The deterministic part of [`spectral_cocluster`] (normalization, SVD, the embedding `z`), done once so
/// that several seeded runs can share it.
#[derive(Debug, Clone)]
pub struct SpectralCoclustering {
    n_clusters: usize,
    nrows: usize,
    ncols: usize,
    /// Rows of `z`, row-major, `(nrows + ncols) × dim`.
    z: Vec<f64>,
    dim: usize,
}

impl SpectralCoclustering {
    /// Normalize `m`, take its singular vectors and build the embedding `z`.
    ///
    /// # Errors
    /// As [`spectral_cocluster`].
    pub fn prepare(m: MatRef<'_, f64>, n_clusters: usize) -> Result<Self, ClusterError> {
        KMeansParams::new(n_clusters).check()?;
        let (nrows, ncols) = (m.nrows(), m.ncols());
        if n_clusters > nrows {
            return Err(ClusterError::TooFewSamples { what: "spectral_cocluster", n_samples: nrows, n_clusters });
        }
        check_finite(m, "spectral_cocluster")?;
        if n_clusters == 1 {
            return Ok(Self { n_clusters, nrows, ncols, z: Vec::new(), dim: 0 });
        }
        let normalized = scale_normalize(m);
        let n_sv = 1 + (n_clusters as f64).log2().ceil() as usize;
        let svd = leading_singular_vectors(normalized.an.as_ref(), n_sv)?;
        // Vectors 2..n_sv (fewer when the matrix is too small to have them all).
        let dim = svd.len().saturating_sub(1);
        let mut z = Vec::with_capacity((nrows + ncols) * dim);
        for i in 0..nrows {
            z.extend((1..=dim).map(|j| normalized.row_diag[i] * svd.u[(i, j)]));
        }
        for i in 0..ncols {
            z.extend((1..=dim).map(|j| normalized.col_diag[i] * svd.v[(i, j)]));
        }
        Ok(Self { n_clusters, nrows, ncols, z, dim })
    }

    /// k-means (`n_init` restarts from `rng`) on the embedding; the first `nrows` labels are the rows'.
    ///
    /// # Errors
    /// [`ClusterError::InvalidParam`] for `n_init == 0`.
    pub fn fit(&self, n_init: usize, rng: &mut ChaCha8Rng) -> Result<Bicluster, ClusterError> {
        let params = KMeansParams::new(self.n_clusters).n_init(n_init).check()?;
        if self.n_clusters == 1 {
            return Ok(Bicluster { row_labels: vec![0; self.nrows], col_labels: vec![0; self.ncols] });
        }
        let fit = kmeans_rows(&self.z, self.nrows + self.ncols, self.dim, &params, rng)?;
        let mut row_labels = fit.labels;
        let col_labels = row_labels.split_off(self.nrows);
        Ok(Bicluster { row_labels, col_labels })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;
    use rand::{Rng, SeedableRng};

    /// A symmetric block-diagonal matrix with noise: blocks of `sizes`, within-block mean `hi`, between `lo`.
    pub(crate) fn planted(sizes: &[usize], hi: f64, lo: f64, seed: u64) -> (Mat<f64>, Vec<usize>) {
        let truth: Vec<usize> = sizes.iter().enumerate().flat_map(|(g, &s)| std::iter::repeat_n(g, s)).collect();
        let n = truth.len();
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let mut m = Mat::zeros(n, n);
        for i in 0..n {
            for j in 0..=i {
                let base = if truth[i] == truth[j] { hi } else { lo };
                let v = base * (1.0 + 0.2 * r.random_range(-1.0..1.0));
                m[(i, j)] = v;
                m[(j, i)] = v;
            }
        }
        (m, truth)
    }

    fn same_partition(a: &[usize], b: &[usize]) -> bool {
        let mut ab = std::collections::HashMap::new();
        let mut ba = std::collections::HashMap::new();
        a.iter().zip(b).all(|(x, y)| *ab.entry(x).or_insert(y) == y && *ba.entry(y).or_insert(x) == x)
    }

    #[test]
    fn recovers_planted_blocks_small_and_large() {
        for (sizes, seed) in [(vec![5, 8, 12], 1u64), (vec![60, 90, 150], 2)] {
            let (m, truth) = planted(&sizes, 10.0, 1.0, seed);
            let bi = spectral_cocluster(m.as_ref(), 3, 10, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            assert!(same_partition(&bi.row_labels, &truth), "rows, sizes {sizes:?}");
            assert!(same_partition(&bi.col_labels, &truth), "cols, sizes {sizes:?}");
        }
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let constant = Mat::from_fn(30, 30, |_, _| 2.0);
        let bi = spectral_cocluster(constant.as_ref(), 3, 5, &mut rng).unwrap();
        assert!(bi.row_labels.iter().all(|&l| l < 3));
        let zero = Mat::<f64>::zeros(300, 300);
        let bi = spectral_cocluster(zero.as_ref(), 3, 5, &mut rng).unwrap();
        assert_eq!(bi.row_labels.len(), 300);
        let one = spectral_cocluster(constant.as_ref(), 1, 5, &mut rng).unwrap();
        assert!(one.row_labels.iter().all(|&l| l == 0));
        assert!(matches!(
            spectral_cocluster(constant.subrows(0, 2), 3, 5, &mut rng),
            Err(ClusterError::TooFewSamples { .. })
        ));
        let mut nan = constant.clone();
        nan[(4, 5)] = f64::NAN;
        assert!(matches!(
            spectral_cocluster(nan.as_ref(), 3, 5, &mut rng),
            Err(ClusterError::NonFinite { row: 4, col: 5, .. })
        ));
    }

    #[test]
    fn prepared_equals_one_shot() {
        let (m, _) = planted(&[10, 20, 30], 3.0, 1.0, 6);
        let prepared = SpectralCoclustering::prepare(m.as_ref(), 3).unwrap();
        let a = prepared.fit(10, &mut ChaCha8Rng::seed_from_u64(8)).unwrap();
        let b = spectral_cocluster(m.as_ref(), 3, 10, &mut ChaCha8Rng::seed_from_u64(8)).unwrap();
        assert_eq!(a, b);
        // A single column: no second singular vector, every point in one cluster.
        let col = Mat::from_fn(5, 1, |i, _| i as f64 + 1.0);
        let bi = spectral_cocluster(col.as_ref(), 2, 3, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
        assert_eq!((bi.row_labels.len(), bi.col_labels.len()), (5, 1));
    }

    #[test]
    fn deterministic_for_a_seed() {
        let (m, _) = planted(&[10, 20, 30], 3.0, 1.0, 5);
        let a = spectral_cocluster(m.as_ref(), 3, 10, &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
        let b = spectral_cocluster(m.as_ref(), 3, 10, &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
        assert_eq!(a, b);
    }
}
