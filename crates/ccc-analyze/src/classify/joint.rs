//! Joint bipartitions of a `C × K` matrix (docs/analysis.md §3): `dhillon` and `spectral_2x2` split its rows and columns
//! together; the larger row side is the inliers, the column sides are the two component groups.

use ccc_core::Groups;
use faer::Mat;

use super::RESTARTS;
use crate::cluster::{self, BiNormalization, Bicluster, BiclusterParams};
use crate::rng::{rng_for, Stream};

/// `dhillon`: Dhillon's bipartition ([`cluster::dhillon_bipartition`]).
pub(super) fn dhillon(m: &Mat<f64>) -> Result<Groups, String> {
    let b = cluster::dhillon_bipartition(m.as_ref()).map_err(|e| e.to_string())?;
    Ok(joint_groups(&b))
}

/// `spectral_2x2`: spectral biclustering `(2,2)`, `log`, fixed seed.
pub(super) fn spectral_2x2(m: &Mat<f64>, seed: u64) -> Result<Groups, String> {
    let mut rng = rng_for(seed, Stream::Spectral2x2);
    let params = BiclusterParams::new(2, 2).method(BiNormalization::Log).n_components(6).n_best(3).n_init(RESTARTS);
    let b = cluster::spectral_bicluster(m.as_ref(), &params, &mut rng).map_err(|e| e.to_string())?;
    Ok(joint_groups(&b))
}

/// Rows labelled 0 or 1: the larger side (label 0 on ties) is the inliers. Columns labelled 0 are group 1,
/// those labelled 1 group 2.
fn joint_groups(b: &Bicluster) -> Groups {
    let side = |labels: &[usize], l: usize| -> Vec<usize> { (0..labels.len()).filter(|&i| labels[i] == l).collect() };
    let (r0, r1) = (side(&b.row_labels, 0), side(&b.row_labels, 1));
    let (coords_in, coords_out) = if r0.len() >= r1.len() { (r0, r1) } else { (r1, r0) };
    Groups {
        coords_in: Some(coords_in),
        coords_out: Some(coords_out),
        comps_grp1: Some(side(&b.col_labels, 0)),
        comps_grp2: Some(side(&b.col_labels, 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn larger_row_side_is_inliers_label_0_on_ties() {
        let b = Bicluster { row_labels: vec![1, 0, 1, 1], col_labels: vec![0, 1, 1] };
        let g = joint_groups(&b);
        assert_eq!((g.coords_in.unwrap(), g.coords_out.unwrap()), (vec![0, 2, 3], vec![1]));
        assert_eq!((g.comps_grp1.unwrap(), g.comps_grp2.unwrap()), (vec![0], vec![1, 2]));
        let tie = joint_groups(&Bicluster { row_labels: vec![1, 0], col_labels: vec![] });
        assert_eq!((tie.coords_in.unwrap(), tie.coords_out.unwrap()), (vec![1], vec![0]));
    }

    #[test]
    fn dhillon_reports_a_too_small_matrix() {
        assert_eq!(dhillon(&Mat::zeros(1, 7)).unwrap_err(), "dhillon needs at least a 2×2 matrix, got 1×7");
    }
}
