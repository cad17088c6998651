//! The error type of the clusterers.

/// What can go wrong in a clusterer. Every data-dependent failure is one of these, never a panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The input holds a NaN or an infinity (the first one in row-major order is named).
    #[error("non-finite value {value} at row {row}, column {col} of the `{what}` input")]
    NonFinite {
        /// Which input (e.g. `spectral_bicluster`).
        what: &'static str,
        /// Row of the first bad entry.
        row: usize,
        /// Column of the first bad entry.
        col: usize,
        /// The bad value.
        value: f64,
    },
    /// Fewer samples than clusters were asked for.
    #[error("`{what}` has {n_samples} samples but {n_clusters} clusters were asked for: ask for at most {n_samples}")]
    TooFewSamples {
        /// Which input (e.g. `kmeans`).
        what: &'static str,
        /// Number of samples (rows) in the input.
        n_samples: usize,
        /// Number of clusters asked for.
        n_clusters: usize,
    },
    /// A matrix smaller than the algorithm needs.
    #[error("{what} needs at least a {min_rows}×{min_cols} matrix, got {nrows}×{ncols}")]
    TooSmall {
        /// Which algorithm (e.g. `dhillon`).
        what: &'static str,
        /// Rows of the input.
        nrows: usize,
        /// Columns of the input.
        ncols: usize,
        /// Rows needed.
        min_rows: usize,
        /// Columns needed.
        min_cols: usize,
    },
    /// A parameter out of its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter's name.
        name: &'static str,
        /// Why it is invalid and what would be valid.
        reason: String,
    },
    /// An intermediate result overflowed (e.g. squared distances of huge inputs).
    #[error("`{what}` overflowed: the input values are too large (scale them down)")]
    Overflow {
        /// Which step overflowed.
        what: &'static str,
    },
    /// The singular value decomposition did not converge.
    #[error("singular value decomposition of a {nrows}×{ncols} matrix failed to converge")]
    Svd {
        /// Rows of the decomposed matrix.
        nrows: usize,
        /// Columns of the decomposed matrix.
        ncols: usize,
    },
}

/// `Ok(())` when every entry of `m` is finite, else the first non-finite entry in row-major order.
pub(crate) fn check_finite(m: faer::MatRef<'_, f64>, what: &'static str) -> Result<(), ClusterError> {
    // Fast path: scan in storage order; only on failure look for the row-major first bad entry.
    let any_bad = (0..m.ncols()).any(|j| m.col(j).iter().any(|x| !x.is_finite()));
    if !any_bad {
        return Ok(());
    }
    for row in 0..m.nrows() {
        for col in 0..m.ncols() {
            let value = m[(row, col)];
            if !value.is_finite() {
                return Err(ClusterError::NonFinite { what, row, col, value });
            }
        }
    }
    Ok(())
}

/// `Ok(())` when every entry of the slice is finite (reported as row `i`, column 0).
pub(crate) fn check_finite_slice(z: &[f64], what: &'static str) -> Result<(), ClusterError> {
    match z.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(row) => Err(ClusterError::NonFinite { what, row, col: 0, value: z[row] }),
    }
}
