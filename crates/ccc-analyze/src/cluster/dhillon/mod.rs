//! Dhillon's bipartition of a matrix's rows and columns together (docs/analysis.md §3.7 `dhillon`): bipartite spectral
//! graph partitioning (Dhillon 2001) without the degree normalization (the reference's `normalizeFalse`).
//!
//! 1. Shift the matrix so its minimum is 0 (a nonnegative bipartite graph of rows and columns).
//! 2. Its second left and right singular vectors, stacked: one value per row, then one per column.
//! 3. Split those values by the optimal 1-D 2-means ([`two_means_1d`]): rows and columns below the break are
//!    one side, the rest the other.

mod two_means;

#[cfg(test)]
mod tests;

pub use two_means::two_means_1d;

use faer::{Mat, MatRef};

use super::error::ClusterError;
use super::svd::leading_singular_vectors;
use super::Bicluster;

/// Dhillon's bipartition of `m` (`r × c`, at least `2 × 2`): label 0 for the rows and columns below the 2-means
/// break of the stacked second singular vectors, 1 for those above it.
///
/// The sign of a singular vector is fixed by the SVD's convention (see [`super::svd`]); flipping it would swap
/// the labels of the rows and columns together, not the partition.
///
/// # Errors
/// [`ClusterError::TooSmall`] for fewer than 2 rows or columns; [`ClusterError::NonFinite`] and
/// [`ClusterError::Svd`] from the SVD.
///
/// # Example
/// ```
/// use ccc_analyze::cluster::dhillon_bipartition;
/// // Rows 0–1 go with columns 0–1, rows 2–4 with columns 2–3.
/// let m = faer::Mat::from_fn(5, 4, |i, j| if (i < 2) == (j < 2) { 4.0 } else { 0.5 });
/// let b = dhillon_bipartition(m.as_ref()).unwrap();
/// assert_eq!(b.row_labels[0], b.row_labels[1]);
/// assert_ne!(b.row_labels[0], b.row_labels[2]);
/// assert_eq!(b.col_labels[0], b.row_labels[0]);
/// assert_eq!(b.col_labels[3], b.row_labels[4]);
/// ```
pub fn dhillon_bipartition(m: MatRef<'_, f64>) -> Result<Bicluster, ClusterError> {
    let (nrows, ncols) = (m.nrows(), m.ncols());
    if nrows.min(ncols) < 2 {
        return Err(ClusterError::TooSmall { what: "dhillon", nrows, ncols, min_rows: 2, min_cols: 2 });
    }
    let min =
        (0..ncols).flat_map(|j| (0..nrows).map(move |i| (i, j))).fold(f64::INFINITY, |a, (i, j)| a.min(m[(i, j)]));
    let shifted = Mat::from_fn(nrows, ncols, |i, j| m[(i, j)] - min);
    // At least 2 × 2, so the SVD has a second pair.
    let svd = leading_singular_vectors(shifted.as_ref(), 2)?;
    let z: Vec<f64> = (0..nrows).map(|i| svd.u[(i, 1)]).chain((0..ncols).map(|j| svd.v[(j, 1)])).collect();
    let upper = two_means_1d(&z)?;
    let label = |u: &bool| usize::from(*u);
    Ok(Bicluster {
        row_labels: upper[..nrows].iter().map(label).collect(),
        col_labels: upper[nrows..].iter().map(label).collect(),
    })
}
