use super::*;
use proptest::prelude::*;
use rand::Rng;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `n` points around each of `centers` (row-major, `d` wide), spread `noise`.
fn blobs(centers: &[&[f64]], n: usize, noise: f64, seed: u64) -> (Mat<f64>, Vec<usize>) {
    let mut r = rng(seed);
    let d = centers[0].len();
    let mut truth = Vec::new();
    let mut rows = Vec::new();
    for (c, center) in centers.iter().enumerate() {
        for _ in 0..n {
            rows.push(center.iter().map(|&v| v + noise * r.random_range(-1.0..1.0)).collect::<Vec<_>>());
            truth.push(c);
        }
    }
    (Mat::from_fn(rows.len(), d, |i, j| rows[i][j]), truth)
}

/// Whether two labelings are the same partition.
fn same_partition(a: &[usize], b: &[usize]) -> bool {
    same_clustering(a, b, a.len().max(1) + 8) && same_clustering(b, a, a.len().max(1) + 8)
}

#[test]
fn recovers_planted_blobs() {
    let (m, truth) = blobs(&[&[0.0, 0.0], &[10.0, 0.0], &[0.0, 10.0]], 40, 1.0, 7);
    let fit = kmeans(m.as_ref(), &KMeansParams::new(3), &mut rng(1)).unwrap();
    assert!(same_partition(&fit.labels, &truth));
    // Centers are the means of their clusters.
    for c in 0..3 {
        let members: Vec<usize> = (0..m.nrows()).filter(|&i| fit.labels[i] == c).collect();
        for f in 0..2 {
            let mean = members.iter().map(|&i| m[(i, f)]).sum::<f64>() / members.len() as f64;
            assert!((fit.centers[(c, f)] - mean).abs() < 1e-9);
        }
    }
    let inertia: f64 = (0..m.nrows())
        .map(|i| (0..2).map(|f| (m[(i, f)] - fit.centers[(fit.labels[i], f)]).powi(2)).sum::<f64>())
        .sum();
    assert!((fit.inertia - inertia).abs() < 1e-9 * inertia);
}

#[test]
fn recovers_planted_groups_in_one_dimension() {
    let (m, truth) = blobs(&[&[-3.0], &[0.5], &[4.0]], 50, 0.4, 3);
    let fit = kmeans(m.as_ref(), &KMeansParams::new(3), &mut rng(2)).unwrap();
    assert!(same_partition(&fit.labels, &truth));
}

#[test]
fn same_seed_same_result_different_seed_may_differ() {
    let (m, _) = blobs(&[&[0.0, 0.0, 0.0], &[1.0, 1.0, 1.0]], 60, 1.5, 4);
    let p = KMeansParams::new(4).n_init(8);
    let a = kmeans(m.as_ref(), &p, &mut rng(9)).unwrap();
    let b = kmeans(m.as_ref(), &p, &mut rng(9)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn fewer_distinct_points_than_clusters() {
    let m = Mat::from_fn(6, 2, |i, j| if i % 2 == 0 { 1.0 + j as f64 } else { -4.0 });
    for d in [1usize, 2] {
        let sub = m.subcols(0, d);
        let fit = kmeans(sub, &KMeansParams::new(4), &mut rng(3)).unwrap();
        assert_eq!(fit.inertia, 0.0);
        assert!(fit.labels.iter().all(|&l| l < 4));
        // Points with equal values share a label; the two values get different labels.
        assert!(fit.labels.iter().step_by(2).all(|&l| l == fit.labels[0]));
        assert!(fit.labels.iter().skip(1).step_by(2).all(|&l| l == fit.labels[1]));
        assert_ne!(fit.labels[0], fit.labels[1]);
    }
    let constant = Mat::from_fn(5, 3, |_, _| 2.5);
    let fit = kmeans(constant.as_ref(), &KMeansParams::new(3), &mut rng(3)).unwrap();
    assert!(fit.labels.iter().all(|&l| l == fit.labels[0]));
}

#[test]
fn errors_on_bad_input() {
    let m = Mat::from_fn(2, 2, |i, j| (i + j) as f64);
    assert!(matches!(
        kmeans(m.as_ref(), &KMeansParams::new(3), &mut rng(0)),
        Err(ClusterError::TooFewSamples { n_samples: 2, n_clusters: 3, .. })
    ));
    let mut bad = m.clone();
    bad[(1, 0)] = f64::INFINITY;
    assert!(matches!(
        kmeans(bad.as_ref(), &KMeansParams::new(1), &mut rng(0)),
        Err(ClusterError::NonFinite { row: 1, col: 0, .. })
    ));
}

#[test]
fn kmeans_plusplus_picks_distinct_far_points() {
    // Two tight groups far apart: the second center must come from the other group.
    let x = [0.0, 0.01, 0.02, 100.0, 100.01];
    for seed in 0..20 {
        let c = init::kmeans_plusplus(&x, 5, 1, 2, &mut rng(seed));
        assert!((c[0] < 50.0) != (c[1] < 50.0), "seed {seed}: {c:?}");
    }
}

/// Centered random 1-D data with some duplicates.
fn data_1d(n: usize, seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    let mut x: Vec<f64> = (0..n).map(|_| (r.random_range(-1.0f64..1.0)).powi(3) * 4.0).collect();
    for i in (0..n).step_by(7) {
        x[i] = x[0];
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    x.iter().map(|v| v - mean).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The sorted-run fast path is the dense algorithm: same labels, centers and iterations.
    #[test]
    fn one_dimensional_path_equals_dense_path(n in 3usize..120, k in 1usize..6, seed in 0u64..1000) {
        let k = k.min(n);
        let x = data_1d(n, seed);
        let init = init::kmeans_plusplus(&x, n, 1, k, &mut rng(seed + 1));
        let dense = fit::lloyd(&x, n, 1, init.clone(), 300, 1e-4 * 0.1);
        let fast = one_d::lloyd(&one_d::Sorted::new(&x), init, 300, 1e-4 * 0.1);
        prop_assert_eq!(&dense.labels, &fast.labels);
        prop_assert_eq!(dense.n_iter, fast.n_iter);
        for (a, b) in dense.centers.iter().zip(&fast.centers) {
            prop_assert!((a - b).abs() <= 1e-9);
        }
        prop_assert!((dense.inertia - fast.inertia).abs() <= 1e-9 * dense.inertia.max(1.0));
    }

    /// Lloyd never increases the inertia: stopping after more iterations never gives a larger one.
    #[test]
    fn inertia_never_increases(n in 4usize..80, d in 1usize..4, k in 2usize..5, seed in 0u64..1000) {
        let mut r = rng(seed);
        let x: Vec<f64> = (0..n * d).map(|_| r.random_range(-1.0..1.0)).collect();
        let k = k.min(n);
        let init = init::kmeans_plusplus(&x, n, d, k, &mut r);
        let mut last = f64::INFINITY;
        for t in 1..8 {
            let run = if d == 1 {
                one_d::lloyd(&one_d::Sorted::new(&x), init.clone(), t, 0.0)
            } else {
                fit::lloyd(&x, n, d, init.clone(), t, 0.0)
            };
            prop_assert!(run.inertia <= last * (1.0 + 1e-12) + 1e-12, "t={} {} > {}", t, run.inertia, last);
            last = run.inertia;
        }
    }

    /// Labels form a partition into at most k clusters, each point at its nearest center.
    #[test]
    fn labels_are_nearest_centers(n in 3usize..60, d in 1usize..4, k in 1usize..5, seed in 0u64..1000) {
        let k = k.min(n);
        let mut r = rng(seed);
        let m = Mat::from_fn(n, d, |_, _| r.random_range(-2.0..2.0));
        let fit = kmeans(m.as_ref(), &KMeansParams::new(k).n_init(3), &mut r).unwrap();
        prop_assert_eq!(fit.labels.len(), n);
        for i in 0..n {
            let dist = |c: usize| (0..d).map(|f| (m[(i, f)] - fit.centers[(c, f)]).powi(2)).sum::<f64>();
            let own = dist(fit.labels[i]);
            for c in 0..k {
                prop_assert!(own <= dist(c) + 1e-9);
            }
        }
    }
}
