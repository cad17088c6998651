//! Clusterer benchmarks at the sizes of the analysis of an OLMo-1B-shaped tensor: `fold_coords` matrices of
//! 2048 × 2048 (coordinates) and `fold_comps` matrices of 1057 × 1057 (components).
//!
//! The input is a synthetic fold matrix `M = X Xᵀ` of a nonnegative `n × 50·4` feature matrix `X` with three
//! planted row groups (one small group of outliers with large values), like `fold_coords(|X|)`.
//!
//! Run: `cargo bench -p ccc-analyze --bench cluster`.

use ccc_analyze::cluster::{
    bistochastic_normalize, kmeans, leading_singular_vectors, log_normalize, spectral_bicluster, spectral_cocluster,
    two_means_1d, ward, BiNormalization, BiclusterParams, KMeansParams, SpectralBiclustering,
};
use divan::Bencher;
use faer::Mat;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    divan::main();
}

/// Matrix sizes: components (1057) and coordinates (2048) of OLMo-1B.
const SIZES: [usize; 2] = [1057, 2048];

/// A synthetic symmetric nonnegative fold matrix with planted groups.
fn fold_matrix(n: usize) -> Mat<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let f = 200;
    let x = Mat::from_fn(n, f, |i, j| {
        let group = if i % 97 == 0 {
            0
        } else if i % 3 == 0 {
            1
        } else {
            2
        };
        let scale = [8.0, 2.0, 1.0][group] * if (j % 3) == group { 1.5 } else { 1.0 };
        scale * rng.random::<f64>()
    });
    &x * x.transpose()
}

#[divan::bench(args = SIZES, sample_count = 3, sample_size = 1)]
fn svd_top7_of_bistochastic(bencher: Bencher, n: usize) {
    let m = bistochastic_normalize(fold_matrix(n).as_ref(), 1000, 1e-5);
    bencher.bench_local(|| leading_singular_vectors(m.as_ref(), 7).unwrap());
}

#[divan::bench(args = SIZES, sample_count = 3, sample_size = 1)]
fn bistochastic(bencher: Bencher, n: usize) {
    let m = fold_matrix(n);
    bencher.bench_local(|| bistochastic_normalize(m.as_ref(), 1000, 1e-5));
}

#[divan::bench(args = SIZES, sample_count = 3, sample_size = 1)]
fn log_norm(bencher: Bencher, n: usize) {
    let m = fold_matrix(n);
    bencher.bench_local(|| log_normalize(m.as_ref()));
}

#[divan::bench(args = SIZES, sample_count = 3, sample_size = 1)]
fn spco_3_clusters_10_restarts(bencher: Bencher, n: usize) {
    let m = fold_matrix(n);
    bencher.bench_local(|| spectral_cocluster(m.as_ref(), 3, 10, &mut ChaCha8Rng::seed_from_u64(0)).unwrap());
}

#[divan::bench(args = SIZES, sample_count = 3, sample_size = 1)]
fn spbi_log_100_restarts(bencher: Bencher, n: usize) {
    let m = fold_matrix(n);
    let p = BiclusterParams::new(3, 3).method(BiNormalization::Log).n_init(100);
    bencher.bench_local(|| spectral_bicluster(m.as_ref(), &p, &mut ChaCha8Rng::seed_from_u64(0)).unwrap());
}

#[divan::bench(args = SIZES, sample_count = 3, sample_size = 1)]
fn spbi_bistochastic_100_restarts(bencher: Bencher, n: usize) {
    let m = fold_matrix(n);
    let p = BiclusterParams::new(3, 3).method(BiNormalization::Bistochastic).n_init(100);
    bencher.bench_local(|| spectral_bicluster(m.as_ref(), &p, &mut ChaCha8Rng::seed_from_u64(0)).unwrap());
}

/// Only the seeded part of spectral biclustering (normalization and SVD done once, as a caller can cache).
#[divan::bench(args = SIZES, sample_count = 3, sample_size = 1)]
fn spbi_bistochastic_100_restarts_prepared(bencher: Bencher, n: usize) {
    let m = fold_matrix(n);
    let p = BiclusterParams::new(3, 3).method(BiNormalization::Bistochastic).n_init(100);
    let prepared = SpectralBiclustering::prepare(m.as_ref(), &p).unwrap();
    bencher.bench_local(|| prepared.fit(&mut ChaCha8Rng::seed_from_u64(0)).unwrap());
}

#[divan::bench(args = SIZES, sample_count = 3, sample_size = 1)]
fn ward_3_clusters(bencher: Bencher, n: usize) {
    let m = fold_matrix(n);
    bencher.bench_local(|| ward(m.as_ref(), 3).unwrap());
}

#[divan::bench(args = [2048], sample_count = 5, sample_size = 1)]
fn kmeans_1d_100_restarts(bencher: Bencher, n: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let m = Mat::from_fn(n, 1, |_, _| rng.random::<f64>().powi(3));
    let p = KMeansParams::new(3).n_init(100);
    bencher.bench_local(|| kmeans(m.as_ref(), &p, &mut ChaCha8Rng::seed_from_u64(0)).unwrap());
}

#[divan::bench(args = [2048], sample_count = 5, sample_size = 1)]
fn kmeans_3d_100_restarts(bencher: Bencher, n: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let m = Mat::from_fn(n, 3, |i, _| (i % 3) as f64 + rng.random::<f64>());
    let p = KMeansParams::new(3).n_init(100);
    bencher.bench_local(|| kmeans(m.as_ref(), &p, &mut ChaCha8Rng::seed_from_u64(0)).unwrap());
}

#[divan::bench(args = [2048 + 1057], sample_count = 5, sample_size = 1)]
fn two_means(bencher: Bencher, n: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let z: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    bencher.bench_local(|| two_means_1d(&z).unwrap());
}
