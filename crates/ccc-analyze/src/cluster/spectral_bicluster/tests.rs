use super::*;
use faer::Mat;
use rand::{Rng, SeedableRng};

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn same_partition(a: &[usize], b: &[usize]) -> bool {
    let mut ab = std::collections::HashMap::new();
    let mut ba = std::collections::HashMap::new();
    a.iter().zip(b).all(|(x, y)| *ab.entry(x).or_insert(y) == y && *ba.entry(y).or_insert(x) == x)
}

/// A checkerboard: rows in `row_sizes` groups, columns in `col_sizes` groups, block `(g, h)` of level
/// `levels[g][h]`, times multiplicative noise.
fn checkerboard(
    row_sizes: &[usize],
    col_sizes: &[usize],
    levels: &[&[f64]],
    noise: f64,
    seed: u64,
) -> (Mat<f64>, Vec<usize>, Vec<usize>) {
    let rows: Vec<usize> = row_sizes.iter().enumerate().flat_map(|(g, &s)| std::iter::repeat_n(g, s)).collect();
    let cols: Vec<usize> = col_sizes.iter().enumerate().flat_map(|(g, &s)| std::iter::repeat_n(g, s)).collect();
    let mut r = rng(seed);
    let m = Mat::from_fn(rows.len(), cols.len(), |i, j| {
        levels[rows[i]][cols[j]] * (1.0 + noise * r.random_range(-1.0..1.0))
    });
    (m, rows, cols)
}

const LEVELS: &[&[f64]] = &[&[10.0, 1.0, 4.0], &[1.0, 8.0, 2.0], &[3.0, 2.0, 12.0]];

#[test]
fn recovers_planted_checkerboard_with_each_method() {
    for method in [BiNormalization::Log, BiNormalization::Bistochastic, BiNormalization::Scale] {
        for (rs, cs, seed) in [(vec![6, 9, 12], vec![5, 7, 9], 1u64), (vec![50, 80, 120], vec![60, 70, 90], 2)] {
            let (m, rows, cols) = checkerboard(&rs, &cs, LEVELS, 0.1, seed);
            let params = BiclusterParams::new(3, 3).method(method);
            let bi = spectral_bicluster(m.as_ref(), &params, &mut rng(seed)).unwrap();
            assert!(same_partition(&bi.row_labels, &rows), "{method:?} rows {rs:?}");
            assert!(same_partition(&bi.col_labels, &cols), "{method:?} cols {cs:?}");
        }
    }
}

#[test]
fn recovers_planted_symmetric_blocks_on_a_large_matrix() {
    // The shape of use: a symmetric nonnegative fold matrix, large enough for the Lanczos SVD path.
    let sizes = [40usize, 90, 170];
    let truth: Vec<usize> = sizes.iter().enumerate().flat_map(|(g, &s)| std::iter::repeat_n(g, s)).collect();
    let n = truth.len();
    let mut r = rng(3);
    let mut m = Mat::zeros(n, n);
    for i in 0..n {
        for j in 0..=i {
            let base = [[9.0, 2.0, 1.0], [2.0, 6.0, 1.5], [1.0, 1.5, 4.0]][truth[i]][truth[j]];
            let v = base * (1.0 + 0.1 * r.random_range(-1.0..1.0));
            m[(i, j)] = v;
            m[(j, i)] = v;
        }
    }
    for method in [BiNormalization::Log, BiNormalization::Bistochastic] {
        let params = BiclusterParams::new(3, 3).method(method).n_init(20);
        let bi = spectral_bicluster(m.as_ref(), &params, &mut rng(4)).unwrap();
        assert!(same_partition(&bi.row_labels, &truth), "{method:?}");
    }
}

#[test]
fn prepared_runs_are_deterministic_and_reusable() {
    let (m, ..) = checkerboard(&[10, 10, 10], &[8, 8, 8], LEVELS, 0.5, 5);
    let prepared = SpectralBiclustering::prepare(m.as_ref(), &BiclusterParams::new(3, 3)).unwrap();
    let a = prepared.fit(&mut rng(6)).unwrap();
    let b = prepared.fit(&mut rng(6)).unwrap();
    let c = spectral_bicluster(m.as_ref(), &BiclusterParams::new(3, 3), &mut rng(6)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    let (u, v) = prepared.singular_vectors();
    assert_eq!((u.nrows(), u.ncols(), v.nrows(), v.ncols()), (30, 6, 24, 6));
}

#[test]
fn degenerate_inputs() {
    let mut r = rng(0);
    // Constant and zero matrices: labels valid, no panic.
    for value in [0.0, 3.0] {
        let m = Mat::from_fn(20, 15, |_, _| value);
        for method in [BiNormalization::Log, BiNormalization::Bistochastic, BiNormalization::Scale] {
            let bi = spectral_bicluster(m.as_ref(), &BiclusterParams::new(3, 3).method(method), &mut r).unwrap();
            assert!(bi.row_labels.iter().all(|&l| l < 3) && bi.col_labels.iter().all(|&l| l < 3));
        }
    }
    // Tiny: fewer singular pairs than components.
    let m = faer::mat![[1.0, 2.0], [3.0, 1.0], [0.5, 4.0]];
    let bi = spectral_bicluster(m.as_ref(), &BiclusterParams::new(2, 2), &mut r).unwrap();
    assert_eq!((bi.row_labels.len(), bi.col_labels.len()), (3, 2));
    // Too many clusters.
    assert!(matches!(
        spectral_bicluster(m.as_ref(), &BiclusterParams::new(4, 2), &mut r),
        Err(ClusterError::TooFewSamples { .. })
    ));
    assert!(matches!(
        spectral_bicluster(m.as_ref(), &BiclusterParams::new(2, 3), &mut r),
        Err(ClusterError::TooFewSamples { .. })
    ));
    let mut nan = m.clone();
    nan[(2, 0)] = f64::NEG_INFINITY;
    assert!(matches!(
        spectral_bicluster(nan.as_ref(), &BiclusterParams::new(2, 2), &mut r),
        Err(ClusterError::NonFinite { row: 2, col: 0, .. })
    ));
}
