//! One Lloyd run on dense row-major data, as scikit-learn's `_kmeans_single_lloyd`.

use super::init::dist2;
use super::Run;

/// Index of the nearest center (first one on ties) and its squared distance.
#[inline]
fn nearest(p: &[f64], centers: &[f64], d: usize) -> (usize, f64) {
    let mut best = (0usize, f64::INFINITY);
    for (j, c) in centers.chunks_exact(d).enumerate() {
        let dd = dist2(p, c);
        if dd < best.1 {
            best = (j, dd);
        }
    }
    best
}

/// Lloyd iterations from `centers` (row-major `k × d`) on `x` (row-major `n × d`, centered).
///
/// Per iteration: assign every point to its nearest center; recompute the means; relocate each empty cluster
/// to one of the points farthest from their (old) centers; stop on identical labels ("strict convergence") or
/// when the summed squared center shift is at most `tol`. Without strict convergence the labels are
/// recomputed for the final centers.
pub(super) fn lloyd(x: &[f64], n: usize, d: usize, mut centers: Vec<f64>, max_iter: usize, tol: f64) -> Run {
    let k = centers.len() / d;
    let mut labels = vec![usize::MAX; n];
    let mut labels_old = vec![usize::MAX; n];
    let mut sums = vec![0.0; k * d];
    let mut weights = vec![0.0; k];
    let mut strict = false;
    let mut n_iter = 0;
    for it in 0..max_iter {
        n_iter = it + 1;
        sums.iter_mut().for_each(|s| *s = 0.0);
        weights.iter_mut().for_each(|w| *w = 0.0);
        for (i, p) in x.chunks_exact(d).enumerate() {
            let (j, _) = nearest(p, &centers, d);
            labels[i] = j;
            weights[j] += 1.0;
            for (s, v) in sums[j * d..(j + 1) * d].iter_mut().zip(p) {
                *s += v;
            }
        }
        relocate_empty(x, d, &centers, &labels, &mut sums, &mut weights);
        let mut shift = 0.0;
        for j in 0..k {
            let w = weights[j];
            let new = &mut sums[j * d..(j + 1) * d];
            if w > 0.0 {
                new.iter_mut().for_each(|s| *s /= w);
            }
            shift += dist2(new, &centers[j * d..(j + 1) * d]);
        }
        std::mem::swap(&mut centers, &mut sums);
        if labels == labels_old {
            strict = true;
            break;
        }
        if shift <= tol {
            break;
        }
        labels_old.copy_from_slice(&labels);
    }
    if !strict {
        for (i, p) in x.chunks_exact(d).enumerate() {
            labels[i] = nearest(p, &centers, d).0;
        }
    }
    let inertia = x.chunks_exact(d).zip(&labels).map(|(p, &j)| dist2(p, &centers[j * d..(j + 1) * d])).sum();
    Run { labels, centers, inertia, n_iter }
}

/// scikit-learn's `_relocate_empty_clusters_dense`: each empty cluster takes one of the points farthest from
/// their current (old) center, in decreasing distance (ties: lower index first); the point's weight moves from
/// its cluster's sums to the empty cluster. Labels are left as they are.
fn relocate_empty(x: &[f64], d: usize, old: &[f64], labels: &[usize], sums: &mut [f64], weights: &mut [f64]) {
    let empty: Vec<usize> = (0..weights.len()).filter(|&j| weights[j] == 0.0).collect();
    if empty.is_empty() {
        return;
    }
    let dists: Vec<f64> = x.chunks_exact(d).zip(labels).map(|(p, &j)| dist2(p, &old[j * d..(j + 1) * d])).collect();
    let far = farthest(&dists, empty.len());
    for (&new, &i) in empty.iter().zip(&far) {
        let p = &x[i * d..(i + 1) * d];
        let from = labels[i];
        for f in 0..d {
            sums[from * d + f] -= p[f];
            sums[new * d + f] = p[f];
        }
        weights[new] = 1.0;
        weights[from] -= 1.0;
    }
}

/// Indices of the `m` largest distances, in decreasing order (ties: lower index first).
pub(super) fn farthest(dists: &[f64], m: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..dists.len()).collect();
    let m = m.min(idx.len());
    if m == 0 {
        return Vec::new();
    }
    let cmp = |a: &usize, b: &usize| dists[*b].total_cmp(&dists[*a]).then(a.cmp(b));
    if m < idx.len() {
        idx.select_nth_unstable_by(m, cmp);
        idx.truncate(m);
    }
    idx.sort_by(cmp);
    idx
}
