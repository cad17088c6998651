use super::*;
use proptest::prelude::*;

/// Rows `0..r1` and columns `0..c1` form one block of level `hi`, the other rows and columns another; `lo`
/// elsewhere.
fn two_blocks(r: usize, c: usize, r1: usize, c1: usize, hi: f64, lo: f64) -> Mat<f64> {
    Mat::from_fn(r, c, |i, j| if (i < r1) == (j < c1) { hi + 0.01 * ((i * 7 + j * 3) % 5) as f64 } else { lo })
}

fn sides(labels: &[usize]) -> (Vec<usize>, Vec<usize>) {
    (0..labels.len()).partition(|&i| labels[i] == 0)
}

#[test]
fn recovers_two_planted_blocks() {
    let m = two_blocks(9, 6, 3, 2, 5.0, 0.2);
    let b = dhillon_bipartition(m.as_ref()).unwrap();
    let (rows0, rows1) = sides(&b.row_labels);
    let (cols0, cols1) = sides(&b.col_labels);
    let small_rows = if rows0.len() < rows1.len() { (&rows0, 0) } else { (&rows1, 1) };
    assert_eq!(small_rows.0, &vec![0, 1, 2]);
    // The columns of the small rows' block are on their side.
    let small_cols = if small_rows.1 == 0 { &cols0 } else { &cols1 };
    assert_eq!(small_cols, &vec![0, 1]);
}

#[test]
fn too_small() {
    for (r, c) in [(1, 5), (5, 1), (0, 0), (1, 1)] {
        let err = dhillon_bipartition(Mat::<f64>::zeros(r, c).as_ref()).unwrap_err();
        assert_eq!(err, ClusterError::TooSmall { what: "dhillon", nrows: r, ncols: c, min_rows: 2, min_cols: 2 });
    }
    // The reason a pipeline records.
    let err = dhillon_bipartition(Mat::<f64>::zeros(1, 7).as_ref()).unwrap_err();
    assert_eq!(err.to_string(), "dhillon needs at least a 2×2 matrix, got 1×7");
}

#[test]
fn non_finite_input() {
    let mut m = two_blocks(4, 4, 2, 2, 3.0, 0.0);
    m[(2, 1)] = f64::NAN;
    assert!(matches!(dhillon_bipartition(m.as_ref()), Err(ClusterError::NonFinite { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Labels are 0/1, one per row and column, and shifting the matrix by a constant changes nothing (the
    /// minimum is shifted to 0 first).
    #[test]
    fn labels_and_shift_invariance(
        (r, c, v) in (2usize..8, 2usize..8).prop_flat_map(|(r, c)| {
            (Just(r), Just(c), proptest::collection::vec(0u8..8, r * c))
        }),
        shift in -3i8..3,
    ) {
        let m = Mat::from_fn(r, c, |i, j| v[i * c + j] as f64);
        let b = dhillon_bipartition(m.as_ref()).unwrap();
        prop_assert_eq!(b.row_labels.len(), r);
        prop_assert_eq!(b.col_labels.len(), c);
        prop_assert!(b.row_labels.iter().chain(&b.col_labels).all(|&l| l <= 1));
        let shifted = Mat::from_fn(r, c, |i, j| m[(i, j)] + shift as f64);
        prop_assert_eq!(dhillon_bipartition(shifted.as_ref()).unwrap(), b);
    }
}
