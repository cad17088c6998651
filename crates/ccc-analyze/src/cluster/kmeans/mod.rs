//! k-means with greedy k-means++ seeding and Lloyd iterations, as scikit-learn's `KMeans(algorithm="lloyd")`.
//!
//! - Seeding: scikit-learn's greedy k-means++ (`2 + ⌊ln k⌋` candidates per center, the one lowering the
//!   potential most is kept).
//! - Lloyd iterations up to `max_iter`, stopping on unchanged labels or when the summed squared center shift is
//!   at most `tol × mean_f var(X[:, f])`; empty clusters are relocated to the farthest points.
//! - `n_init` restarts; a restart replaces the best so far when its inertia is lower *and* its clustering
//!   differs (scikit-learn's rule, robust to rounding between equal clusterings).
//! - The data are centered first (as scikit-learn, for accuracy); centers are returned in the input's frame.
//!
//! Restarts run in parallel (rayon) yet deterministically: each restart's generator is drawn from the caller's
//! generator up front, in order. Random streams differ from NumPy's, so labels agree with scikit-learn's in
//! distribution, not draw for draw.
//!
//! Labels are in `0..n_clusters`; with fewer distinct points than clusters some labels are unused (as
//! scikit-learn, which warns): callers drop empty clusters.

mod fit;
mod init;
mod one_d;
mod params;

pub use params::{CheckedKMeansParams, KMeansParams, DEFAULT_MAX_ITER, DEFAULT_N_INIT, DEFAULT_TOL};

use faer::{Mat, MatRef};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::error::{check_finite, ClusterError};

/// The result of [`kmeans`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansResult {
    /// Cluster of each row, in `0..n_clusters`.
    pub labels: Vec<usize>,
    /// Cluster centers, `n_clusters × d`.
    pub centers: Mat<f64>,
    /// Sum of squared distances of the rows to their centers.
    pub inertia: f64,
    /// Lloyd iterations of the kept restart.
    pub n_iter: usize,
}

/// One restart's outcome (centers row-major, centered frame).
#[derive(Debug, Clone)]
struct Run {
    labels: Vec<usize>,
    centers: Vec<f64>,
    inertia: f64,
    n_iter: usize,
}

/// Cluster the rows of `data` (`n × d`).
///
/// # Errors
/// [`ClusterError::InvalidParam`] for bad parameters, [`ClusterError::NonFinite`] for NaN/inf input,
/// [`ClusterError::TooFewSamples`] when `n < n_clusters`.
///
/// # Example
/// ```
/// use ccc_analyze::cluster::{kmeans, KMeansParams};
/// use rand::SeedableRng;
/// let data = faer::mat![[0.0, 0.1], [0.1, 0.0], [5.0, 5.1], [5.1, 5.0]];
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let fit = kmeans(data.as_ref(), &KMeansParams::new(2), &mut rng).unwrap();
/// assert_eq!(fit.labels[0], fit.labels[1]);
/// assert_ne!(fit.labels[0], fit.labels[2]);
/// ```
pub fn kmeans(
    data: MatRef<'_, f64>,
    params: &KMeansParams,
    rng: &mut ChaCha8Rng,
) -> Result<KMeansResult, ClusterError> {
    let params = params.check()?;
    check_finite(data, "kmeans")?;
    let (n, d) = (data.nrows(), data.ncols());
    let mut x = Vec::with_capacity(n * d);
    for i in 0..n {
        x.extend((0..d).map(|j| data[(i, j)]));
    }
    kmeans_rows(&x, n, d, &params, rng)
}

/// [`kmeans`] on row-major finite data `x` (`n × d`), already validated.
pub(crate) fn kmeans_rows(
    x: &[f64],
    n: usize,
    d: usize,
    params: &CheckedKMeansParams,
    rng: &mut ChaCha8Rng,
) -> Result<KMeansResult, ClusterError> {
    let k = params.n_clusters();
    if n < k {
        return Err(ClusterError::TooFewSamples { what: "kmeans", n_samples: n, n_clusters: k });
    }
    // Center the data; the tolerance is relative to the mean per-feature variance (numpy `var`, ddof 0).
    let mut mean = vec![0.0; d];
    for p in x.chunks_exact(d.max(1)).take(n) {
        mean.iter_mut().zip(p).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let xc: Vec<f64> = x.iter().enumerate().map(|(i, v)| v - mean[i % d.max(1)]).collect();
    let var_mean = if d == 0 { 0.0 } else { xc.iter().map(|v| v * v).sum::<f64>() / (n * d) as f64 };
    let tol = var_mean * params.tol();

    let mut rngs: Vec<ChaCha8Rng> = (0..params.n_init()).map(|_| ChaCha8Rng::from_rng(&mut *rng)).collect();
    let runs: Vec<Run> = if d == 0 {
        // No features: every point is at the origin.
        vec![Run { labels: vec![0; n], centers: Vec::new(), inertia: 0.0, n_iter: 1 }]
    } else if d == 1 {
        let sorted = one_d::Sorted::new(&xc);
        rngs.par_iter_mut()
            .map(|r| {
                let init = init::kmeans_plusplus(&xc, n, 1, k, r);
                one_d::lloyd(&sorted, init, params.max_iter(), tol)
            })
            .collect()
    } else {
        rngs.par_iter_mut()
            .map(|r| {
                let init = init::kmeans_plusplus(&xc, n, d, k, r);
                fit::lloyd(&xc, n, d, init, params.max_iter(), tol)
            })
            .collect()
    };
    let mut best = 0;
    for i in 1..runs.len() {
        if runs[i].inertia < runs[best].inertia && !same_clustering(&runs[i].labels, &runs[best].labels, k) {
            best = i;
        }
    }
    let run = runs
        .into_iter()
        .nth(best)
        .ok_or(ClusterError::InvalidParam { name: "n_init", reason: "must be at least 1".into() })?;
    let centers = Mat::from_fn(k, d, |i, j| run.centers[i * d + j] + mean[j]);
    Ok(KMeansResult { labels: run.labels, centers, inertia: run.inertia, n_iter: run.n_iter })
}

/// scikit-learn's `_is_same_clustering`: whether `a` maps onto `b` by a relabeling (checked one way).
fn same_clustering(a: &[usize], b: &[usize], k: usize) -> bool {
    let mut map = vec![usize::MAX; k];
    for (&x, &y) in a.iter().zip(b) {
        if map[x] == usize::MAX {
            map[x] = y;
        } else if map[x] != y {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests;
