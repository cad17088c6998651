//! Lloyd's algorithm on 1-D data in `O(k log n)` per iteration.
//!
//! In one dimension the points nearest to each center form a contiguous run of the sorted data, so an
//! iteration needs only the run boundaries (binary searches between adjacent centers) and prefix sums —
//! the same labels, means, relocation and stopping rules as the dense [`super::fit::lloyd`], far faster on
//! the long singular vectors that spectral biclustering clusters hundreds of times.

use super::fit::farthest;
use super::Run;

/// The data sorted once, shared by all restarts.
pub(super) struct Sorted {
    /// Values in nondecreasing order.
    xs: Vec<f64>,
    /// `order[p]` = original index of sorted position `p`.
    order: Vec<usize>,
    /// `prefix[p]` = sum of `xs[..p]`.
    prefix: Vec<f64>,
}

impl Sorted {
    /// Sort `x` (finite values) stably.
    pub(super) fn new(x: &[f64]) -> Self {
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
        let xs: Vec<f64> = order.iter().map(|&i| x[i]).collect();
        let mut prefix = Vec::with_capacity(xs.len() + 1);
        let mut acc = 0.0;
        prefix.push(0.0);
        for &v in &xs {
            acc += v;
            prefix.push(acc);
        }
        Self { xs, order, prefix }
    }
}

/// Each cluster's run `[start, end)` of sorted positions; an empty cluster is `(0, 0)`.
type Runs = Vec<(usize, usize)>;

/// The runs of the points nearest to each center (first center on ties, as the dense assignment).
fn assign(s: &Sorted, centers: &[f64]) -> Runs {
    let k = centers.len();
    let n = s.xs.len();
    let mut ids: Vec<usize> = (0..k).collect();
    ids.sort_by(|&a, &b| centers[a].total_cmp(&centers[b]).then(a.cmp(&b)));
    // Of equal centers only the lowest index can win a point.
    let mut active: Vec<usize> = Vec::with_capacity(k);
    for id in ids {
        if active.last().is_none_or(|&last| centers[last] != centers[id]) {
            active.push(id);
        }
    }
    let mut runs = vec![(0, 0); k];
    let mut start = 0;
    for (w, &a) in active.iter().enumerate() {
        let end = match active.get(w + 1) {
            Some(&b) => {
                let (ca, cb) = (centers[a], centers[b]);
                let goes_to_b = |x: f64| {
                    let (da, db) = ((x - ca) * (x - ca), (x - cb) * (x - cb));
                    db < da || (db == da && b < a)
                };
                start + s.xs[start..].partition_point(|&x| !goes_to_b(x))
            }
            None => n,
        };
        if end > start {
            runs[a] = (start, end);
        }
        start = end;
    }
    runs
}

/// One Lloyd run from `centers` (centered coordinates).
pub(super) fn lloyd(s: &Sorted, mut centers: Vec<f64>, max_iter: usize, tol: f64) -> Run {
    let k = centers.len();
    let mut runs_old: Option<Runs> = None;
    let mut runs = assign(s, &centers);
    let mut strict = false;
    let mut n_iter = 0;
    let mut sums = vec![0.0; k];
    let mut weights = vec![0.0; k];
    for it in 0..max_iter {
        n_iter = it + 1;
        if it > 0 {
            runs = assign(s, &centers);
        }
        for j in 0..k {
            let (a, b) = runs[j];
            sums[j] = s.prefix[b] - s.prefix[a];
            weights[j] = (b - a) as f64;
        }
        relocate_empty(s, &centers, &runs, &mut sums, &mut weights);
        let mut shift = 0.0;
        for j in 0..k {
            let new = if weights[j] > 0.0 { sums[j] / weights[j] } else { sums[j] };
            shift += (new - centers[j]) * (new - centers[j]);
            centers[j] = new;
        }
        if runs_old.as_ref() == Some(&runs) {
            strict = true;
            break;
        }
        if shift <= tol {
            break;
        }
        runs_old = Some(runs.clone());
    }
    if !strict {
        runs = assign(s, &centers);
    }
    let mut labels = vec![0usize; s.xs.len()];
    let mut inertia = 0.0;
    for (j, &(a, b)) in runs.iter().enumerate() {
        let c = centers[j];
        for p in a..b {
            labels[s.order[p]] = j;
            inertia += (s.xs[p] - c) * (s.xs[p] - c);
        }
    }
    Run { labels, centers, inertia, n_iter }
}

/// As the dense relocation: each empty cluster takes one of the points farthest from their old center.
fn relocate_empty(s: &Sorted, old: &[f64], runs: &Runs, sums: &mut [f64], weights: &mut [f64]) {
    let empty: Vec<usize> = (0..weights.len()).filter(|&j| weights[j] == 0.0).collect();
    if empty.is_empty() {
        return;
    }
    // Distances in original index order, so ties break as in the dense version.
    let n = s.xs.len();
    let mut dists = vec![0.0; n];
    let mut label = vec![0usize; n];
    for (j, &(a, b)) in runs.iter().enumerate() {
        for p in a..b {
            let i = s.order[p];
            dists[i] = (s.xs[p] - old[j]) * (s.xs[p] - old[j]);
            label[i] = j;
        }
    }
    let mut value = vec![0.0; n];
    for (p, &i) in s.order.iter().enumerate() {
        value[i] = s.xs[p];
    }
    for (&new, &i) in empty.iter().zip(&farthest(&dists, empty.len())) {
        let from = label[i];
        sums[from] -= value[i];
        sums[new] = value[i];
        weights[new] = 1.0;
        weights[from] -= 1.0;
    }
}
