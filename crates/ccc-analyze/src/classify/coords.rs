//! Coordinate splits (docs/analysis.md §3): a clustering of the coordinate folding, and `majority_mad` on the tensor.

use std::time::Instant;

use faer::Mat;
use rand_chacha::ChaCha8Rng;

use super::{block_mean, label_groups, N_CLUSTERS, RESTARTS, SPBI_COORD_RESTARTS};
use crate::cluster::{self, BiNormalization, BiclusterParams};
use crate::pipeline::Clusterer;
use crate::prep::Tensor3;
use crate::robust::{mad_flags_f32, pairwise_sum_f32};

/// A coordinate split from a clustering: the outliers, and how many non-empty groups the clusterer found.
#[derive(Debug, Clone)]
pub(super) struct CoordSplit {
    /// The outlier coordinates, ascending.
    pub(super) out: Vec<usize>,
    /// Non-empty groups found (of [`N_CLUSTERS`]).
    pub(super) n_groups: usize,
    /// Wall time, seconds.
    pub(super) time: f64,
}

/// Cluster the coordinate folding into 3 groups; the outliers are the group whose diagonal block has the
/// largest mean (first on ties).
pub(super) fn cluster_coords(m: &Mat<f64>, c: Clusterer, rng: &mut ChaCha8Rng) -> Result<CoordSplit, String> {
    let t0 = Instant::now();
    let labels = match c {
        Clusterer::SpCo => {
            cluster::spectral_cocluster(m.as_ref(), N_CLUSTERS, RESTARTS, rng).map_err(|e| e.to_string())?.row_labels
        }
        Clusterer::Agg => cluster::ward(m.as_ref(), N_CLUSTERS).map_err(|e| e.to_string())?,
        Clusterer::SpBiLog | Clusterer::SpBiBistoch => {
            let params = BiclusterParams::new(N_CLUSTERS, N_CLUSTERS)
                .method(if c == Clusterer::SpBiLog { BiNormalization::Log } else { BiNormalization::Bistochastic })
                .n_components(6)
                .n_best(3)
                .n_init(SPBI_COORD_RESTARTS);
            cluster::spectral_bicluster(m.as_ref(), &params, rng).map_err(|e| e.to_string())?.row_labels
        }
    };
    let groups = label_groups(&labels, N_CLUSTERS);
    let mut best = 0;
    let mut best_mean = f64::NEG_INFINITY;
    for (i, g) in groups.iter().enumerate() {
        let mean = block_mean(m, g, g);
        if mean > best_mean {
            best_mean = mean;
            best = i;
        }
    }
    let out = groups.get(best).cloned().unwrap_or_default();
    Ok(CoordSplit { out, n_groups: groups.len(), time: t0.elapsed().as_secs_f64() })
}

/// `majority_mad`: `S = Σ_k X`; outlier when `mad_abs > 3.5` along coordinates in more than half the checkpoints.
pub(super) fn majority_mad(x: &Tensor3) -> Vec<usize> {
    let (n_c, n_t) = (x.n_coord, x.n_ckpt);
    let mut sums = vec![0.0f32; n_c * n_t];
    for c in 0..n_c {
        for t in 0..n_t {
            sums[c * n_t + t] = pairwise_sum_f32(x.row(c, t));
        }
    }
    majority_mad_of_sums(&sums, n_c, n_t)
}

/// [`majority_mad`] from the sums `S[c, t] = Σ_k X[c, t, k]` (row-major `C × T`), however they were computed.
pub(crate) fn majority_mad_of_sums(sums: &[f32], n_c: usize, n_t: usize) -> Vec<usize> {
    let mut count = vec![0usize; n_c];
    for t in 0..n_t {
        let s: Vec<f32> = (0..n_c).map(|c| sums[c * n_t + t]).collect();
        for (c, f) in mad_flags_f32(&s).into_iter().enumerate() {
            if f {
                count[c] += 1;
            }
        }
    }
    // mean over checkpoints > 0.5  ⇔  2·count > T.
    (0..n_c).filter(|&c| 2 * count[c] > n_t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn majority_needs_more_than_half() {
        // 7 coordinates, 4 checkpoints, 1 component; coordinate 6 spikes in 3 of 4 checkpoints, 5 in 2 of 4.
        let mut data = Vec::new();
        for c in 0..7 {
            for t in 0..4 {
                let base = c as f32 * 0.01 + t as f32 * 0.001;
                let spike = (c == 6 && t < 3) || (c == 5 && t < 2);
                data.push(if spike { base + 10.0 } else { base });
            }
        }
        let x = Tensor3 { n_coord: 7, n_ckpt: 4, n_comp: 1, data };
        assert_eq!(majority_mad(&x), vec![6]);
    }

    #[test]
    fn outliers_are_the_group_with_the_largest_diagonal_block() {
        // Coordinates 0–1 strongly tied to each other, 2–5 and 6–9 weakly within their groups.
        let level = |i: usize| {
            if i < 2 {
                0
            } else if i < 6 {
                1
            } else {
                2
            }
        };
        let m = Mat::from_fn(10, 10, |i, j| if level(i) == level(j) { [9.0, 2.0, 1.0][level(i)] } else { 0.1 });
        for c in Clusterer::ALL {
            let s = cluster_coords(&m, c, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
            assert_eq!((s.out.as_slice(), s.n_groups), (&[0, 1][..], 3), "{}", c.name());
        }
    }
}
