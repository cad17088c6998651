//! Ward agglomerative clustering of the rows of a matrix, as scikit-learn's
//! `AgglomerativeClustering(linkage="ward")` without connectivity: SciPy's Ward linkage of the Euclidean
//! distances (here by `kodama`, the same NN-chain algorithm, merges sorted stably by height and labelled as
//! SciPy), then scikit-learn's `_hc_cut`, including its heap-ordered label numbering.

use faer::MatRef;
use rayon::prelude::*;

use super::error::{check_finite, ClusterError};

/// Cluster labels (`0..n_clusters`) of the rows of `m` (`n × d`): Ward linkage on the Euclidean distances
/// between rows, cut into `n_clusters` clusters.
///
/// On data whose merge heights are distinct the partition *and* the label numbers equal scikit-learn's.
///
/// # Errors
/// [`ClusterError::InvalidParam`] when `n_clusters` is 0; [`ClusterError::TooFewSamples`] when it exceeds the
/// number of rows; [`ClusterError::NonFinite`] for NaN/inf; [`ClusterError::Overflow`] when distances overflow.
///
/// # Example
/// ```
/// use ccc_analyze::cluster::ward;
/// let m = faer::mat![[0.0], [0.2], [10.0], [10.1], [30.0]];
/// let labels = ward(m.as_ref(), 3).unwrap();
/// assert_eq!(labels[0], labels[1]);
/// assert_eq!(labels[2], labels[3]);
/// assert_ne!(labels[0], labels[4]);
/// ```
pub fn ward(m: MatRef<'_, f64>, n_clusters: usize) -> Result<Vec<usize>, ClusterError> {
    let n = m.nrows();
    if n_clusters == 0 {
        return Err(ClusterError::InvalidParam { name: "n_clusters", reason: "must be at least 1".into() });
    }
    if n_clusters > n {
        return Err(ClusterError::TooFewSamples { what: "ward", n_samples: n, n_clusters });
    }
    check_finite(m, "ward")?;
    if n == 1 {
        return Ok(vec![0]);
    }
    let children = ward_children(m)?;
    Ok(hc_cut(n_clusters, &children, n))
}

/// The merges of the Ward tree, SciPy-style: step `i` creates node `n + i` from `(a, b)`, `a < b`.
pub(crate) fn ward_children(m: MatRef<'_, f64>) -> Result<Vec<(usize, usize)>, ClusterError> {
    let n = m.nrows();
    let mut condensed = condensed_distances(m);
    if condensed.iter().any(|d| !d.is_finite()) {
        return Err(ClusterError::Overflow { what: "ward distances" });
    }
    let dendrogram = kodama::linkage(&mut condensed, n, kodama::Method::Ward);
    Ok(dendrogram.steps().iter().map(|s| (s.cluster1.min(s.cluster2), s.cluster1.max(s.cluster2))).collect())
}

/// Rows per tile of the distance computation (a tile pair's feature chunks stay in L2 cache).
const TILE: usize = 32;
/// Features per chunk of the distance computation.
const FEATURE_CHUNK: usize = 256;

/// Condensed (upper triangle, row by row) Euclidean distances between the rows of `m`.
///
/// Computed directly (not from a Gram matrix, whose cancellation would blur close pairs), tiled over rows
/// and features for cache reuse, one row tile per task; the summation order is fixed, so results do not
/// depend on the number of threads.
fn condensed_distances(m: MatRef<'_, f64>) -> Vec<f64> {
    let (n, d) = (m.nrows(), m.ncols());
    if n < 2 {
        return Vec::new();
    }
    // Row-major copy for contiguous rows.
    let mut x = Vec::with_capacity(n * d);
    for i in 0..n {
        x.extend((0..d).map(|j| m[(i, j)]));
    }
    // Split the condensed vector into the (contiguous) parts of each row tile.
    let mut out = vec![0.0; n * (n - 1) / 2];
    let mut parts: Vec<(usize, &mut [f64])> = Vec::new();
    let mut rest: &mut [f64] = &mut out;
    for i0 in (0..n).step_by(TILE) {
        let i1 = (i0 + TILE).min(n);
        let len: usize = (i0..i1).map(|i| n - 1 - i).sum();
        let (head, tail) = rest.split_at_mut(len);
        parts.push((i0, head));
        rest = tail;
    }
    parts.into_par_iter().for_each(|(i0, part)| distance_tile_rows(&x, n, d, i0, part));
    out
}

/// [`distance_tile_rows_impl`], compiled for AVX2 when the CPU has it. The arithmetic is the same
/// operation for operation (no FMA), so both versions give bit-identical distances.
fn distance_tile_rows(x: &[f64], n: usize, d: usize, i0: usize, part: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above), the only requirement of the target feature.
        unsafe { distance_tile_rows_avx2(x, n, d, i0, part) };
        return;
    }
    distance_tile_rows_impl(x, n, d, i0, part);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn distance_tile_rows_avx2(x: &[f64], n: usize, d: usize, i0: usize, part: &mut [f64]) {
    distance_tile_rows_impl(x, n, d, i0, part);
}

/// Distances of rows `i0..i0+TILE` to every later row, written in condensed order into `part`.
#[inline(always)]
fn distance_tile_rows_impl(x: &[f64], n: usize, d: usize, i0: usize, part: &mut [f64]) {
    let i1 = (i0 + TILE).min(n);
    // Offset of row i's entries within `part`.
    let mut offsets = Vec::with_capacity(i1 - i0);
    let mut off = 0;
    for i in i0..i1 {
        offsets.push(off);
        off += n - 1 - i;
    }
    // Accumulate squared distances per (i, j) pair, feature chunk by feature chunk, tile by tile.
    let mut acc = vec![0.0; TILE * TILE];
    for j0 in (i0..n).step_by(TILE) {
        let j1 = (j0 + TILE).min(n);
        acc.iter_mut().for_each(|a| *a = 0.0);
        for f0 in (0..d).step_by(FEATURE_CHUNK) {
            let f1 = (f0 + FEATURE_CHUNK).min(d);
            for i in i0..i1 {
                let a = &x[i * d + f0..i * d + f1];
                for j in j0.max(i + 1)..j1 {
                    acc[(i - i0) * TILE + (j - j0)] += sq_dist(a, &x[j * d + f0..j * d + f1]);
                }
            }
        }
        for i in i0..i1 {
            for j in j0.max(i + 1)..j1 {
                part[offsets[i - i0] + (j - i - 1)] = acc[(i - i0) * TILE + (j - j0)].sqrt();
            }
        }
    }
}

/// Squared Euclidean distance, eight accumulators (vectorizable; fixed summation order).
#[inline(always)]
fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (pa, pb) in ca.zip(cb) {
        for l in 0..8 {
            let t = pa[l] - pb[l];
            acc[l] += t * t;
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (u, v) in ra.iter().zip(rb) {
        s += (u - v) * (u - v);
    }
    s
}

/// scikit-learn's `_hc_cut`: undo the last `n_clusters − 1` merges with a heap of (negated) node ids, and
/// number the clusters in the heap's list order.
pub(crate) fn hc_cut(n_clusters: usize, children: &[(usize, usize)], n_leaves: usize) -> Vec<usize> {
    let root = children.last().map_or(0, |&(a, b)| a.max(b) + 1);
    let mut heap: Vec<i64> = vec![-(root as i64)];
    for _ in 1..n_clusters {
        let node = (-heap[0]) as usize;
        let (a, b) = children[node - n_leaves];
        heap_push(&mut heap, -(a as i64));
        heap_pushpop(&mut heap, -(b as i64));
    }
    let mut labels = vec![0usize; n_leaves];
    for (label, &node) in heap.iter().enumerate() {
        // Descendant leaves of the node.
        let mut stack = vec![(-node) as usize];
        while let Some(v) = stack.pop() {
            if v < n_leaves {
                labels[v] = label;
            } else {
                let (a, b) = children[v - n_leaves];
                stack.push(a);
                stack.push(b);
            }
        }
    }
    labels
}

/// Python's `heapq.heappush`.
fn heap_push(heap: &mut Vec<i64>, item: i64) {
    heap.push(item);
    let last = heap.len() - 1;
    sift_down(heap, 0, last);
}

/// Python's `heapq.heappushpop` (the popped item is discarded).
fn heap_pushpop(heap: &mut [i64], item: i64) {
    if !heap.is_empty() && heap[0] < item {
        heap[0] = item;
        sift_up(heap, 0);
    }
}

/// Python's `heapq._siftdown`.
fn sift_down(heap: &mut [i64], start: usize, mut pos: usize) {
    let new = heap[pos];
    while pos > start {
        let parent = (pos - 1) >> 1;
        if new < heap[parent] {
            heap[pos] = heap[parent];
            pos = parent;
            continue;
        }
        break;
    }
    heap[pos] = new;
}

/// Python's `heapq._siftup`.
fn sift_up(heap: &mut [i64], mut pos: usize) {
    let end = heap.len();
    let start = pos;
    let new = heap[pos];
    let mut child = 2 * pos + 1;
    while child < end {
        let right = child + 1;
        if right < end && heap[child] >= heap[right] {
            child = right;
        }
        heap[pos] = heap[child];
        pos = child;
        child = 2 * pos + 1;
    }
    heap[pos] = new;
    sift_down(heap, start, pos);
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Naive O(n³) Ward: repeatedly merge the pair of clusters with the smallest increase of the total
    /// within-cluster sum of squares, `|A||B|/(|A|+|B|) ‖c_A − c_B‖²`, computed from the centroids.
    /// Returns the partition into `k` clusters as a canonical labeling (by first occurrence).
    fn naive_ward(x: &Mat<f64>, k: usize) -> Vec<usize> {
        let (n, d) = (x.nrows(), x.ncols());
        let mut clusters: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
        let centroid = |c: &[usize]| -> Vec<f64> {
            (0..d).map(|f| c.iter().map(|&i| x[(i, f)]).sum::<f64>() / c.len() as f64).collect()
        };
        while clusters.len() > k {
            let cents: Vec<Vec<f64>> = clusters.iter().map(|c| centroid(c)).collect();
            let mut best = (0, 1, f64::INFINITY);
            for a in 0..clusters.len() {
                for b in a + 1..clusters.len() {
                    let (na, nb) = (clusters[a].len() as f64, clusters[b].len() as f64);
                    let d2: f64 = cents[a].iter().zip(&cents[b]).map(|(u, v)| (u - v) * (u - v)).sum();
                    let cost = na * nb / (na + nb) * d2;
                    if cost < best.2 {
                        best = (a, b, cost);
                    }
                }
            }
            let merged = clusters.remove(best.1);
            clusters[best.0].extend(merged);
        }
        let mut labels = vec![0; n];
        for (l, c) in clusters.iter().enumerate() {
            for &i in c {
                labels[i] = l;
            }
        }
        canonical(&labels)
    }

    fn canonical(labels: &[usize]) -> Vec<usize> {
        let mut map = std::collections::HashMap::new();
        labels
            .iter()
            .map(|&l| {
                let next = map.len();
                *map.entry(l).or_insert(next)
            })
            .collect()
    }

    #[test]
    fn tiled_distances_equal_pairwise_ones() {
        let mut r = ChaCha8Rng::seed_from_u64(5);
        for (n, d) in [(9usize, 3usize), (70, 600), (40, 8)] {
            let x = Mat::from_fn(n, d, |_, _| r.random_range(-3.0..3.0));
            let condensed = condensed_distances(x.as_ref());
            let row = |i: usize| (0..d).map(|f| x[(i, f)]).collect::<Vec<_>>();
            let mut k = 0;
            for i in 0..n {
                for j in i + 1..n {
                    // Feature chunk by feature chunk, as the tiles accumulate.
                    let (ri, rj) = (row(i), row(j));
                    let want: f64 = (0..d)
                        .step_by(FEATURE_CHUNK)
                        .map(|f| {
                            let e = (f + FEATURE_CHUNK).min(d);
                            sq_dist(&ri[f..e], &rj[f..e])
                        })
                        .sum();
                    assert_eq!(condensed[k], want.sqrt(), "({i},{j})");
                    k += 1;
                }
            }
        }
    }

    #[test]
    fn heap_matches_python_heapq() {
        // Reference sequence from Python: h=[-8]; heappush(h,-6); heappushpop(h,-7); heappush(h,-2);
        // heappushpop(h,-5) -> h == [-6, -5, -2].
        let mut h = vec![-8];
        heap_push(&mut h, -6);
        heap_pushpop(&mut h, -7);
        assert_eq!(h, vec![-7, -6]);
        heap_push(&mut h, -2);
        assert_eq!(h, vec![-7, -6, -2]);
        heap_pushpop(&mut h, -5);
        assert_eq!(h, vec![-6, -5, -2]);
    }

    #[test]
    fn errors_and_small_cases() {
        let m = Mat::from_fn(3, 2, |i, j| (i * 2 + j) as f64);
        assert!(matches!(ward(m.as_ref(), 0), Err(ClusterError::InvalidParam { .. })));
        assert!(matches!(ward(m.as_ref(), 4), Err(ClusterError::TooFewSamples { .. })));
        assert_eq!(ward(m.as_ref(), 3).unwrap().iter().collect::<std::collections::HashSet<_>>().len(), 3);
        assert_eq!(ward(m.as_ref(), 1).unwrap(), vec![0, 0, 0]);
        assert_eq!(ward(m.subrows(0, 1), 1).unwrap(), vec![0]);
        let mut nan = m.clone();
        nan[(2, 1)] = f64::NAN;
        assert!(matches!(ward(nan.as_ref(), 2), Err(ClusterError::NonFinite { row: 2, col: 1, .. })));
        let huge = Mat::from_fn(3, 1, |i, _| if i == 0 { -1e300 } else { 1e300 });
        assert!(matches!(ward(huge.as_ref(), 2), Err(ClusterError::Overflow { .. })));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn matches_naive_ward(n in 2usize..28, d in 1usize..5, k in 1usize..6, seed in 0u64..10_000) {
            let k = k.min(n);
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            let x = Mat::from_fn(n, d, |_, _| r.random_range(-10.0..10.0));
            let got = ward(x.as_ref(), k).unwrap();
            prop_assert_eq!(canonical(&got), naive_ward(&x, k));
            prop_assert!(got.iter().all(|&l| l < k));
        }
    }
}
