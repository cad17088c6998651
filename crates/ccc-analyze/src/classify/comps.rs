//! Component bipartitions (docs/analysis.md §3): a biclustering of a component folding, and `svd_sign`.

use std::time::Instant;

use faer::Mat;

use super::{block_mean, label_groups, N_CLUSTERS, RESTARTS};
use crate::cluster::{self, BiNormalization, BiclusterParams};
use crate::rng::{rng_for, Stream};

/// Component groups from a biclustering, and how many non-empty row groups it found.
#[derive(Debug, Clone)]
pub(super) struct CompSplit {
    /// Group 1.
    pub(super) grp1: Vec<usize>,
    /// Group 2.
    pub(super) grp2: Vec<usize>,
    /// Non-empty row groups found (of [`N_CLUSTERS`]).
    pub(super) n_groups: usize,
    /// Wall time, seconds (the folding's included by the caller).
    pub(super) time: f64,
}

/// Spectral biclustering `(3,3)`, bistochastic, of `sign(M)`; of the row groups take the pair whose
/// off-diagonal block of `M` has the smallest mean.
pub(super) fn bicluster_comps(m: &Mat<f64>, seed: u64) -> Result<CompSplit, String> {
    let t0 = Instant::now();
    let mut rng = rng_for(seed, Stream::CompBiclustering);
    let sign = Mat::from_fn(m.nrows(), m.ncols(), |i, j| {
        let v = m[(i, j)];
        if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            0.0
        }
    });
    // A constant sign matrix (e.g. a folding with no negative entry) has no checkerboard to find: one group.
    let first = if sign.nrows() > 0 && sign.ncols() > 0 { sign[(0, 0)] } else { 0.0 };
    if (0..sign.ncols()).all(|j| (0..sign.nrows()).all(|i| sign[(i, j)] == first)) {
        let all: Vec<usize> = (0..m.nrows()).collect();
        let n_groups = usize::from(!all.is_empty());
        return Ok(CompSplit { grp1: all, grp2: Vec::new(), n_groups, time: t0.elapsed().as_secs_f64() });
    }
    let params = BiclusterParams::new(N_CLUSTERS, N_CLUSTERS)
        .method(BiNormalization::Bistochastic)
        .n_components(6)
        .n_best(3)
        .n_init(RESTARTS);
    let labels = cluster::spectral_bicluster(sign.as_ref(), &params, &mut rng).map_err(|e| e.to_string())?.row_labels;
    let groups = label_groups(&labels, N_CLUSTERS);
    let (grp1, grp2) = match groups.len() {
        0 => (Vec::new(), Vec::new()),
        1 => (groups[0].clone(), Vec::new()),
        2 => (groups[0].clone(), groups[1].clone()),
        _ => {
            let mut best = (0, 1);
            let mut best_mean = f64::INFINITY;
            for i in 0..groups.len() {
                for j in i + 1..groups.len() {
                    let mean = block_mean(m, &groups[i], &groups[j]);
                    if mean < best_mean {
                        best_mean = mean;
                        best = (i, j);
                    }
                }
            }
            (groups[best.0].clone(), groups[best.1].clone())
        }
    };
    Ok(CompSplit { grp1, grp2, n_groups: groups.len(), time: t0.elapsed().as_secs_f64() })
}

/// `svd_sign`: `grp1 = {k: v_k < 0}` for the first right singular vector `v`, `grp2` the rest.
pub(super) fn svd_sign(m: &Mat<f64>) -> Result<(Vec<usize>, Vec<usize>), String> {
    if m.nrows() == 0 || m.ncols() == 0 {
        return Ok((Vec::new(), (0..m.ncols()).collect()));
    }
    let svd = cluster::leading_singular_vectors(m.as_ref(), 1).map_err(|e| e.to_string())?;
    let (g1, g2): (Vec<usize>, Vec<usize>) = (0..m.ncols()).partition(|&j| svd.v[(j, 0)] < 0.0);
    Ok((g1, g2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_sign_is_one_group() {
        let m = Mat::from_fn(4, 4, |i, j| 1.0 + (i + j) as f64);
        let s = bicluster_comps(&m, 0).unwrap();
        assert_eq!((s.grp1, s.grp2, s.n_groups), (vec![0, 1, 2, 3], vec![], 1));
    }

    #[test]
    fn svd_sign_splits_by_the_first_right_vector() {
        // Columns 0 and 2 move against columns 1 and 3 along the dominant direction.
        let m = Mat::from_fn(5, 4, |i, j| (1.0 + i as f64) * if j % 2 == 0 { 1.0 } else { -1.0 });
        let (g1, g2) = svd_sign(&m).unwrap();
        let mut both = [g1, g2];
        both.sort();
        assert_eq!(both, [vec![0, 2], vec![1, 3]]);
        assert_eq!(svd_sign(&Mat::zeros(0, 3)).unwrap(), (vec![], vec![0, 1, 2]));
    }
}
