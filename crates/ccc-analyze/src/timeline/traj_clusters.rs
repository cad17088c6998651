//! Trajectory clustering (docs/timeline.md §6): the coordinates grouped by the shape of their 2-D trajectories
//! under one grouping of the components.
//!
//! **Distance.** Each coordinate's trajectory (docs/analysis.md §6: min–max normalized, log-scaled, per channel)
//! is centred on its own mean over the checkpoints, and two coordinates are compared by the Euclidean distance of
//! the centred trajectories, checkpoint by checkpoint (lock-step). Centring removes the level (a coordinate that is
//! large throughout and one that is small but moves alike have the same shape); the log scale already makes a
//! movement a relative change. Lock-step rather than dynamic time warping on purpose: every coordinate is observed
//! at the same checkpoints, and *when* a coordinate changes is what the clusters should separate; DTW would warp
//! an early and a late emergence onto each other. This distance is what k-means minimizes, so the clustering and
//! its criterion agree.
//!
//! **K.** Given, or chosen by the mean silhouette (Rousseeuw 1987) over `K = 2 ..= 8` (at most `C − 1`): the
//! largest wins, the smaller `K` on ties. Silhouettes are computed on all coordinates up to
//! [`SILHOUETTE_SAMPLE`], on a seeded sample beyond.

use faer::Mat;
use rand::seq::index::sample;
use rayon::prelude::*;

use crate::cluster::{kmeans, KMeansParams};
use crate::error::AnalyzeError;
use crate::rng::{rng_for, Stream};
use crate::trajectory::Trajectories;

/// The largest `K` tried by `auto`.
pub const MAX_AUTO_K: usize = 8;
/// Coordinates on which silhouettes are computed (a seeded sample beyond this many).
pub const SILHOUETTE_SAMPLE: usize = 3000;

/// How many clusters: a number, or chosen by the silhouette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterCount {
    /// Chosen by the mean silhouette over `2..=MAX_AUTO_K`.
    Auto,
    /// Exactly this many (≥ 1).
    Fixed(usize),
}

impl std::str::FromStr for ClusterCount {
    type Err = AnalyzeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(ClusterCount::Auto),
            t => match t.parse::<usize>() {
                Ok(k) if k >= 1 => Ok(ClusterCount::Fixed(k)),
                _ => Err(AnalyzeError::InvalidOption(format!(
                    "`--trajectory-clusters {s}`: expected `auto` or a number of clusters ≥ 1"
                ))),
            },
        }
    }
}

impl std::fmt::Display for ClusterCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClusterCount::Auto => f.write_str("auto"),
            ClusterCount::Fixed(k) => write!(f, "{k}"),
        }
    }
}

/// One cluster: its coordinates and mean trajectory.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajCluster {
    /// Member coordinates, ascending.
    pub coords: Vec<usize>,
    /// Mean `(x, y)` of the members at each checkpoint (not centred: on the axes of the trajectory sheets).
    pub mean: Vec<[f64; 2]>,
}

/// The result of a trajectory clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajClustering {
    /// Number of clusters.
    pub k: usize,
    /// Mean silhouette of each `K` tried (`auto`), or of the one used.
    pub silhouettes: Vec<(usize, f64)>,
    /// The clusters, largest first (ties: smallest first coordinate).
    pub clusters: Vec<TrajCluster>,
}

/// Centred trajectories as rows `[x_0 − x̄, …, x_{T−1} − x̄, y_0 − ȳ, …]`.
fn features(tr: &Trajectories) -> Vec<f64> {
    let (n, t) = (tr.n_coord, tr.n_ckpt);
    let mut f = Vec::with_capacity(n * 2 * t);
    for c in 0..n {
        for ch in [&tr.x, &tr.y] {
            let row = &ch[c * t..(c + 1) * t];
            let m = row.iter().sum::<f64>() / t.max(1) as f64;
            f.extend(row.iter().map(|v| v - m));
        }
    }
    f
}

/// Pairwise Euclidean distances of the rows `idx` of `f` (`d` columns), by one GEMM.
fn distances(f: &[f64], d: usize, idx: &[usize]) -> Mat<f64> {
    let x = Mat::from_fn(idx.len(), d, |i, j| f[idx[i] * d + j]);
    let g = &x * x.transpose();
    let sq: Vec<f64> = (0..idx.len()).map(|i| g[(i, i)]).collect();
    Mat::from_fn(
        idx.len(),
        idx.len(),
        |i, j| if i == j { 0.0 } else { (sq[i] + sq[j] - 2.0 * g[(i, j)]).max(0.0).sqrt() },
    )
}

/// The mean silhouette of `labels` (`k` labels) given distances `dist`; singletons score 0.
pub fn silhouette(dist: &Mat<f64>, labels: &[usize], k: usize) -> f64 {
    let n = labels.len();
    let mut size = vec![0usize; k];
    labels.iter().for_each(|&l| size[l] += 1);
    let s: f64 = (0..n)
        .into_par_iter()
        .map(|i| {
            if size[labels[i]] <= 1 {
                return 0.0;
            }
            let mut sum = vec![0.0; k];
            for j in 0..n {
                sum[labels[j]] += dist[(i, j)];
            }
            let a = sum[labels[i]] / (size[labels[i]] - 1) as f64;
            let b = (0..k)
                .filter(|&l| l != labels[i] && size[l] > 0)
                .map(|l| sum[l] / size[l] as f64)
                .fold(f64::INFINITY, f64::min);
            if !b.is_finite() {
                return 0.0;
            }
            let m = a.max(b);
            if m > 0.0 {
                (b - a) / m
            } else {
                0.0
            }
        })
        .sum();
    if n == 0 {
        0.0
    } else {
        s / n as f64
    }
}

/// k-means of the centred trajectories into `k` clusters; labels renumbered densely from 0.
fn fit(f: &[f64], n: usize, d: usize, k: usize, seed: u64) -> Result<(Vec<usize>, usize), AnalyzeError> {
    let data = Mat::from_fn(n, d, |i, j| f[i * d + j]);
    let mut rng = rng_for(seed, Stream::TrajectoryClusters(k as u64));
    let r = kmeans(data.as_ref(), &KMeansParams::new(k), &mut rng)
        .map_err(|e| AnalyzeError::BadInput(format!("trajectory clustering: {e}")))?;
    let mut map = vec![usize::MAX; k];
    let mut next = 0;
    let labels = r
        .labels
        .iter()
        .map(|&l| {
            if map[l] == usize::MAX {
                map[l] = next;
                next += 1;
            }
            map[l]
        })
        .collect();
    Ok((labels, next))
}

/// Cluster the coordinates of `tr` by the shape of their trajectories (see the module docs).
pub fn cluster_trajectories(tr: &Trajectories, count: ClusterCount, seed: u64) -> Result<TrajClustering, AnalyzeError> {
    let (n, t) = (tr.n_coord, tr.n_ckpt);
    if n < 2 || t < 2 {
        return Err(AnalyzeError::BadInput(format!(
            "trajectory clustering needs at least 2 coordinates and 2 checkpoints ({n} × {t})"
        )));
    }
    let d = 2 * t;
    let f = features(tr);
    let sample_idx: Vec<usize> = if n <= SILHOUETTE_SAMPLE {
        (0..n).collect()
    } else {
        let mut r = rng_for(seed, Stream::TrajectoryClusters(0));
        let mut v = sample(&mut r, n, SILHOUETTE_SAMPLE).into_vec();
        v.sort_unstable();
        v
    };
    let dist = distances(&f, d, &sample_idx);
    let score = |labels: &[usize], k: usize| -> f64 {
        let sl: Vec<usize> = sample_idx.iter().map(|&i| labels[i]).collect();
        silhouette(&dist, &sl, k)
    };
    let (labels, k, silhouettes) = match count {
        ClusterCount::Fixed(k) => {
            if k > n {
                return Err(AnalyzeError::InvalidOption(format!("{k} trajectory clusters of {n} coordinates")));
            }
            let (labels, used) = fit(&f, n, d, k, seed)?;
            let s = score(&labels, used);
            (labels, used, vec![(k, s)])
        }
        ClusterCount::Auto => {
            let mut best: Option<(Vec<usize>, usize, f64)> = None;
            let mut sils = Vec::new();
            for k in 2..=MAX_AUTO_K.min(n - 1).max(2) {
                let (labels, used) = fit(&f, n, d, k, seed)?;
                let s = score(&labels, used);
                sils.push((k, s));
                if best.as_ref().is_none_or(|b| s > b.2 + 1e-12) {
                    best = Some((labels, used, s));
                }
            }
            let (labels, used, _) = best.ok_or_else(|| AnalyzeError::BadInput("no clustering".into()))?;
            (labels, used, sils)
        }
    };
    let mut clusters: Vec<TrajCluster> = (0..k)
        .map(|l| {
            let coords: Vec<usize> = (0..n).filter(|&c| labels[c] == l).collect();
            let m = coords.len().max(1) as f64;
            let mean = (0..t)
                .map(|s| {
                    let (sx, sy) = coords.iter().fold((0.0, 0.0), |(a, b), &c| {
                        let (x, y) = tr.point(c, s);
                        (a + x, b + y)
                    });
                    [sx / m, sy / m]
                })
                .collect();
            TrajCluster { coords, mean }
        })
        .filter(|c| !c.coords.is_empty())
        .collect();
    clusters.sort_by(|a, b| b.coords.len().cmp(&a.coords.len()).then(a.coords[0].cmp(&b.coords[0])));
    Ok(TrajClustering { k: clusters.len(), silhouettes, clusters })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three shapes: flat, rising from the middle, falling; a little noise.
    fn three_shapes() -> (Trajectories, Vec<usize>) {
        let (n, t) = (30, 12);
        let mut x = Vec::new();
        let mut y = Vec::new();
        let mut truth = Vec::new();
        for c in 0..n {
            let g = c % 3;
            truth.push(g);
            for s in 0..t {
                let e = ((c * 7 + s * 13) % 10) as f64 * 0.01;
                let v = match g {
                    0 => 0.0,
                    1 => {
                        if s >= 6 {
                            2.0
                        } else {
                            0.0
                        }
                    }
                    _ => -(s as f64) * 0.3,
                };
                x.push(v + e + c as f64 * 0.1);
                y.push(e);
            }
        }
        (Trajectories { n_coord: n, n_ckpt: t, x, y }, truth)
    }

    #[test]
    fn auto_finds_the_three_shapes() {
        let (tr, truth) = three_shapes();
        let r = cluster_trajectories(&tr, ClusterCount::Auto, 0).unwrap();
        assert_eq!(r.k, 3, "{:?}", r.silhouettes);
        for cl in &r.clusters {
            let g = truth[cl.coords[0]];
            assert!(cl.coords.iter().all(|&c| truth[c] == g));
            assert_eq!(cl.coords.len(), 10);
            assert_eq!(cl.mean.len(), 12);
        }
        // Deterministic.
        assert_eq!(r, cluster_trajectories(&tr, ClusterCount::Auto, 0).unwrap());
    }

    #[test]
    fn silhouette_of_a_perfect_split_is_near_one() {
        let d = Mat::from_fn(4, 4, |i, j| {
            if i == j {
                0.0
            } else if (i < 2) == (j < 2) {
                0.01
            } else {
                1.0
            }
        });
        assert!(silhouette(&d, &[0, 0, 1, 1], 2) > 0.98);
        assert!(silhouette(&d, &[0, 1, 0, 1], 2) < 0.0);
    }

    #[test]
    fn counts_parse_and_bad_input_is_an_error() {
        assert_eq!("auto".parse::<ClusterCount>().unwrap(), ClusterCount::Auto);
        assert_eq!("4".parse::<ClusterCount>().unwrap(), ClusterCount::Fixed(4));
        assert!("0".parse::<ClusterCount>().is_err());
        let tr = Trajectories { n_coord: 1, n_ckpt: 3, x: vec![0.0; 3], y: vec![0.0; 3] };
        assert!(cluster_trajectories(&tr, ClusterCount::Auto, 0).is_err());
    }
}
