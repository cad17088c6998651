//! The steps of spectral biclustering after the SVD: `_fit_best_piecewise` and `_project_and_cluster`.

use faer::{Mat, MatRef};
use rand_chacha::ChaCha8Rng;

use crate::cluster::kmeans::{kmeans_rows, KMeansParams};
use crate::cluster::ClusterError;

/// scikit-learn's `_fit_best_piecewise`: approximate each column of `vectors` by a piecewise-constant vector
/// (1-D k-means with `n_clusters`, each entry replaced by its center) and return the indices of the `n_best`
/// columns closest (Euclidean) to their approximation, closest first (stable on ties).
pub(super) fn fit_best_piecewise(
    vectors: MatRef<'_, f64>,
    n_best: usize,
    n_clusters: usize,
    n_init: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<usize>, ClusterError> {
    let params = KMeansParams::new(n_clusters).n_init(n_init).check()?;
    let n = vectors.nrows();
    let mut dists = Vec::with_capacity(vectors.ncols());
    for j in 0..vectors.ncols() {
        let v: Vec<f64> = vectors.col(j).iter().copied().collect();
        let fit = kmeans_rows(&v, n, 1, &params, rng)?;
        let d2: f64 = v.iter().zip(&fit.labels).map(|(x, &l)| (x - fit.centers[(l, 0)]).powi(2)).sum();
        dists.push(d2.sqrt());
    }
    let mut order: Vec<usize> = (0..dists.len()).collect();
    order.sort_by(|&a, &b| dists[a].total_cmp(&dists[b]));
    order.truncate(n_best);
    Ok(order)
}

/// scikit-learn's `_project_and_cluster`: k-means on the rows of `data · vectors`.
pub(super) fn project_and_cluster(
    data: MatRef<'_, f64>,
    vectors: MatRef<'_, f64>,
    n_clusters: usize,
    n_init: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<usize>, ClusterError> {
    let params = KMeansParams::new(n_clusters).n_init(n_init).check()?;
    let projected: Mat<f64> = data * vectors;
    let (n, d) = (projected.nrows(), projected.ncols());
    let mut x = Vec::with_capacity(n * d);
    for i in 0..n {
        x.extend((0..d).map(|j| projected[(i, j)]));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(ClusterError::Overflow { what: "spectral_bicluster projection" });
    }
    Ok(kmeans_rows(&x, n, d, &params, rng)?.labels)
}
