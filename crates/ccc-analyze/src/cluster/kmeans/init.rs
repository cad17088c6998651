//! Greedy k-means++ seeding, as scikit-learn's `_kmeans_plusplus`.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Squared Euclidean distance between two points of dimension `a.len()`.
#[inline]
pub(super) fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// `k` initial centers (row-major, `k × d`) picked among the rows of `x` (`n × d`, row-major):
/// the first uniformly; each next one as the best (lowest resulting potential, first on ties) of
/// `2 + ⌊ln k⌋` candidates drawn with probability proportional to the squared distance to the closest
/// center so far (`searchsorted` left on the cumulative sums, clipped to `n − 1`).
pub(super) fn kmeans_plusplus(x: &[f64], n: usize, d: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let n_trials = 2 + (k as f64).ln() as usize;
    let row = |i: usize| &x[i * d..(i + 1) * d];
    let mut centers = Vec::with_capacity(k * d);
    let first = rng.random_range(0..n);
    centers.extend_from_slice(row(first));
    let mut closest: Vec<f64> = (0..n).map(|i| dist2(row(i), row(first))).collect();
    let mut pot: f64 = closest.iter().sum();
    let mut cumsum = vec![0.0; n];
    let mut cand_dist = vec![0.0; n];
    let mut best_dist = vec![0.0; n];
    for _ in 1..k {
        let mut acc = 0.0;
        for (c, &v) in cumsum.iter_mut().zip(&closest) {
            acc += v;
            *c = acc;
        }
        let mut best: Option<(f64, usize)> = None;
        for _ in 0..n_trials {
            let r = rng.random::<f64>() * pot;
            let id = cumsum.partition_point(|&c| c < r).min(n - 1);
            let cand = row(id);
            let mut cand_pot = 0.0;
            for (i, (cd, &cl)) in cand_dist.iter_mut().zip(&closest).enumerate() {
                *cd = dist2(row(i), cand).min(cl);
                cand_pot += *cd;
            }
            if best.is_none_or(|(p, _)| cand_pot < p) {
                best = Some((cand_pot, id));
                best_dist.copy_from_slice(&cand_dist);
            }
        }
        let (p, id) = best.unwrap_or((pot, 0));
        pot = p;
        closest.copy_from_slice(&best_dist);
        centers.extend_from_slice(row(id));
    }
    centers
}
