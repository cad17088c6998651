//! Running classification pipelines on `prep`: every shared intermediate (the foldings, the clusterings of the
//! coordinate folding, the component biclusterings) is computed once per distinct input, in parallel, and each
//! pipeline then assembles its groups record from them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Instant;

use ccc_core::Groups;
use faer::Mat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::cluster::{self, BiNormalization, BiclusterParams};
use crate::fold;
use crate::pipeline::{
    Chain, Clusterer, CompFolding, CoordFolding, JointSplit, MatNorm, MatrixEnd, Pipeline, Reduce, RowReduce,
    TensorStep,
};
use crate::prep::Tensor3;
use crate::robust::{mad_flags_f32, median_f32_in_place, outliers_f32, pairwise_sum_f32};

// The outcome type belongs to the file formats, which spell it; it is used here under its old path.
pub use crate::files::Status;

/// What a pipeline produced.
#[derive(Debug, Clone)]
pub struct PipelineResult {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// Its outcome.
    pub status: Status,
    /// Why it is degenerate or failed.
    pub reason: Option<String>,
    /// The groups it produced (the keys its chain gives; none when failed).
    pub groups: Groups,
    /// Wall time of the computations the pipeline used (shared ones included), seconds.
    pub time_s: f64,
}

/// Number of clusters of the coordinate clusterers and of the component biclustering.
const N_CLUSTERS: usize = 3;
/// k-means restarts of the spectral biclustering of the coordinate folding (spec 02 §3).
const SPBI_COORD_RESTARTS: usize = 100;
/// k-means restarts elsewhere.
const RESTARTS: usize = 10;

/// Random streams of the one seeded generator: every random task draws from its own stream of the seed, so
/// results do not depend on the order in which parallel tasks run.
pub(crate) mod stream {
    /// The random component groupings.
    pub const RANDOM_GROUPS: u64 = 1;
    /// Clusterings of the coordinate folding: `COORD_CLUSTER + 4 · family + clusterer`.
    pub const COORD_CLUSTER: u64 = 10;
    /// The component biclustering (a fixed seed in the reference: every component matrix starts afresh).
    pub const COMP_BICLUSTER: u64 = 30;
    /// `spectral_2x2` (a fixed seed in the reference).
    pub const SPECTRAL_2X2: u64 = 31;
    /// `MAD-union-lincomb` of experiment `i` (before sorting): `LINCOMB + i`.
    pub const LINCOMB: u64 = 1000;
}

/// The generator of one random stream of `seed`.
pub(crate) fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Wall times of the phases and clusterer families (seconds), summed over tasks.
#[derive(Debug, Default)]
pub(crate) struct Times(Mutex<BTreeMap<String, f64>>);

impl Times {
    pub(crate) fn add(&self, key: &str, secs: f64) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(key.to_string()).or_insert(0.0) += secs;
        }
    }
    pub(crate) fn into_map(self) -> BTreeMap<String, f64> {
        self.0.into_inner().unwrap_or_default()
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t0 = Instant::now();
    let v = f();
    (v, t0.elapsed().as_secs_f64())
}

/// A coordinate split from a clustering: the outliers, and how many non-empty groups the clusterer found.
#[derive(Debug, Clone)]
struct CoordSplit {
    out: Vec<usize>,
    n_groups: usize,
    time: f64,
}

/// Component groups from a biclustering, and how many non-empty row groups it found.
#[derive(Debug, Clone)]
struct CompSplit {
    grp1: Vec<usize>,
    grp2: Vec<usize>,
    n_groups: usize,
    time: f64,
}

/// Non-empty label groups `0..n` (each sorted ascending), in label order.
fn label_groups(labels: &[usize], n: usize) -> Vec<Vec<usize>> {
    let mut g = vec![Vec::new(); n];
    for (i, &l) in labels.iter().enumerate() {
        if l < n {
            g[l].push(i);
        }
    }
    g.retain(|v| !v.is_empty());
    g
}

fn block_mean(m: &Mat<f64>, rows: &[usize], cols: &[usize]) -> f64 {
    let mut s = 0.0;
    for &i in rows {
        for &j in cols {
            s += m[(i, j)];
        }
    }
    s / (rows.len() * cols.len()) as f64
}

/// Cluster the coordinate folding into 3 groups; the outliers are the group whose diagonal block has the
/// largest mean (first on ties).
fn cluster_coords(m: &Mat<f64>, c: Clusterer, rng: &mut ChaCha8Rng) -> Result<CoordSplit, String> {
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

/// Spectral biclustering `(3,3)`, bistochastic, of `sign(M)`; of the row groups take the pair whose
/// off-diagonal block of `M` has the smallest mean.
fn bicluster_comps(m: &Mat<f64>, seed: u64) -> Result<CompSplit, String> {
    let t0 = Instant::now();
    let mut rng = rng_for(seed, stream::COMP_BICLUSTER);
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

/// A `C × K` matrix in `f32` (row-major), the reference's dtype for the matrix chains.
#[derive(Debug, Clone)]
struct Mat32 {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Mat32 {
    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
    fn to_f64(&self) -> Mat<f64> {
        Mat::from_fn(self.rows, self.cols, |i, j| self.data[i * self.cols + j] as f64)
    }
}

fn reduce(x: &Tensor3, r: Reduce) -> Mat32 {
    let (n_c, n_t, n_k) = (x.n_coord, x.n_ckpt, x.n_comp);
    let mut data = vec![0.0f32; n_c * n_k];
    data.par_chunks_mut(n_k.max(1)).enumerate().for_each(|(c, row)| match r {
        Reduce::Last => {
            if n_t > 0 {
                row.copy_from_slice(x.row(c, n_t - 1));
            }
        }
        Reduce::Median => {
            let mut col = vec![0.0f32; n_t];
            for (k, v) in row.iter_mut().enumerate() {
                for (t, ct) in col.iter_mut().enumerate() {
                    *ct = x.get(c, t, k);
                }
                *v = median_f32_in_place(&mut col);
            }
        }
    });
    Mat32 { rows: n_c, cols: n_k, data }
}

fn normalize(m: &Mat32, n: MatNorm) -> Mat32 {
    let mut out = m.clone();
    match n {
        MatNorm::RowsL1 => {
            for i in 0..m.rows {
                let d = pairwise_sum_f32(m.row(i)) + 1e-8f32;
                out.data[i * m.cols..(i + 1) * m.cols].iter_mut().for_each(|v| *v /= d);
            }
        }
        MatNorm::ColsL2 => {
            // NumPy sums over axis 0 row by row (sequentially).
            let mut ss = vec![0.0f32; m.cols];
            for i in 0..m.rows {
                for (s, &v) in ss.iter_mut().zip(m.row(i)) {
                    *s += v * v;
                }
            }
            let d: Vec<f32> = ss.iter().map(|&s| s.sqrt() + 1e-8f32).collect();
            for i in 0..m.rows {
                for (v, &di) in out.data[i * m.cols..(i + 1) * m.cols].iter_mut().zip(&d) {
                    *v /= di;
                }
            }
        }
    }
    out
}

fn row_reduce(m: &Mat32, r: RowReduce) -> Vec<f32> {
    let mut buf = vec![0.0f32; m.cols];
    (0..m.rows)
        .map(|i| {
            for (b, &v) in buf.iter_mut().zip(m.row(i)) {
                *b = match r {
                    RowReduce::L1 => v.abs(),
                    RowReduce::L2sq | RowReduce::L2 => v * v,
                };
            }
            let s = pairwise_sum_f32(&buf);
            if r == RowReduce::L2 {
                s.sqrt()
            } else {
                s
            }
        })
        .collect()
}

/// The leading `k` singular triplets of `m` (left vectors as columns of `u`, right vectors as columns of `v`).
fn leading_svd(m: &Mat<f64>, k: usize) -> Result<(Mat<f64>, Mat<f64>), String> {
    let svd = cluster::svd::leading_singular_vectors(m.as_ref(), k).map_err(|e| e.to_string())?;
    Ok((svd.u, svd.v))
}

/// `svd_sign`: `grp1 = {k: v_k < 0}` for the first right singular vector `v`, `grp2` the rest.
fn svd_sign(m: &Mat<f64>) -> Result<(Vec<usize>, Vec<usize>), String> {
    if m.nrows() == 0 || m.ncols() == 0 {
        return Ok((Vec::new(), (0..m.ncols()).collect()));
    }
    let (_, v) = leading_svd(m, 1)?;
    let (g1, g2): (Vec<usize>, Vec<usize>) = (0..m.ncols()).partition(|&j| v[(j, 0)] < 0.0);
    Ok((g1, g2))
}

/// The 1-D optimal 2-means split of `z`: sort, take the break minimizing the total within-group sum of squares
/// (first minimum); returns the indices below the break and the rest.
pub fn two_means_split(z: &[f64]) -> (Vec<usize>, Vec<usize>) {
    let n = z.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| z[a].total_cmp(&z[b]));
    let s: Vec<f64> = idx.iter().map(|&i| z[i]).collect();
    // Prefix sums give each part's mean; the sum of squared deviations is then summed directly (as the
    // definition, which keeps near-ties decided as the reference decides them).
    let mut p1 = vec![0.0f64; n + 1];
    for i in 0..n {
        p1[i + 1] = p1[i] + s[i];
    }
    let ss = |a: usize, b: usize| -> f64 {
        if b <= a {
            return 0.0;
        }
        let mean = (p1[b] - p1[a]) / (b - a) as f64;
        s[a..b].iter().map(|&x| (x - mean) * (x - mean)).sum()
    };
    let mut best = 0;
    let mut best_cost = f64::INFINITY;
    for i in 0..n {
        let cost = ss(0, i) + ss(i, n);
        if cost < best_cost {
            best_cost = cost;
            best = i;
        }
    }
    (idx[..best].to_vec(), idx[best..].to_vec())
}

/// `dhillon`: shift to a zero minimum, SVD, split the second singular vectors (rows then columns) by 1-D 2-means.
fn dhillon(m: &Mat<f64>) -> Result<Groups, String> {
    let (n_r, n_c) = (m.nrows(), m.ncols());
    if n_r + n_c < 2 || n_r.min(n_c) < 2 {
        return Err(format!("dhillon needs at least a 2×2 matrix, got {n_r}×{n_c}"));
    }
    let min = (0..n_c).flat_map(|j| (0..n_r).map(move |i| (i, j))).fold(f64::INFINITY, |a, (i, j)| a.min(m[(i, j)]));
    let shifted = Mat::from_fn(n_r, n_c, |i, j| m[(i, j)] - min);
    let (u, v) = leading_svd(&shifted, 2)?;
    let z: Vec<f64> = (0..n_r).map(|i| u[(i, 1)]).chain((0..n_c).map(|j| v[(j, 1)])).collect();
    let (a, _) = two_means_split(&z);
    let mut in_a = vec![false; n_r + n_c];
    for i in a {
        in_a[i] = true;
    }
    let rows_a: Vec<usize> = (0..n_r).filter(|&i| in_a[i]).collect();
    let rows_b: Vec<usize> = (0..n_r).filter(|&i| !in_a[i]).collect();
    let (coords_in, coords_out) = if rows_a.len() >= rows_b.len() { (rows_a, rows_b) } else { (rows_b, rows_a) };
    Ok(Groups {
        coords_in: Some(coords_in),
        coords_out: Some(coords_out),
        comps_grp1: Some((0..n_c).filter(|&j| in_a[n_r + j]).collect()),
        comps_grp2: Some((0..n_c).filter(|&j| !in_a[n_r + j]).collect()),
    })
}

/// `spectral_2x2`: spectral biclustering `(2,2)`, `log`, fixed seed; larger row cluster = inliers.
fn spectral_2x2(m: &Mat<f64>, seed: u64) -> Result<Groups, String> {
    let mut rng = rng_for(seed, stream::SPECTRAL_2X2);
    let params = BiclusterParams::new(2, 2).method(BiNormalization::Log).n_components(6).n_best(3).n_init(RESTARTS);
    let b = cluster::spectral_bicluster(m.as_ref(), &params, &mut rng).map_err(|e| e.to_string())?;
    let r0: Vec<usize> = (0..m.nrows()).filter(|&i| b.row_labels[i] == 0).collect();
    let r1: Vec<usize> = (0..m.nrows()).filter(|&i| b.row_labels[i] == 1).collect();
    let (coords_in, coords_out) = if r0.len() >= r1.len() { (r0, r1) } else { (r1, r0) };
    Ok(Groups {
        coords_in: Some(coords_in),
        coords_out: Some(coords_out),
        comps_grp1: Some((0..m.ncols()).filter(|&j| b.col_labels[j] == 0).collect()),
        comps_grp2: Some((0..m.ncols()).filter(|&j| b.col_labels[j] == 1).collect()),
    })
}

fn coords_groups(n: usize, out: &[usize]) -> (Option<Vec<usize>>, Option<Vec<usize>>) {
    let (i, o) = Groups::coords_from_outliers(n, out);
    (Some(i), Some(o))
}

/// `majority_mad`: `S = Σ_k X`; outlier when `mad_abs > 3.5` along coordinates in more than half the checkpoints.
fn majority_mad(x: &Tensor3) -> Vec<usize> {
    let (n_c, n_t) = (x.n_coord, x.n_ckpt);
    let mut count = vec![0usize; n_c];
    for t in 0..n_t {
        let s: Vec<f32> = (0..n_c).map(|c| pairwise_sum_f32(x.row(c, t))).collect();
        for (c, f) in mad_flags_f32(&s).into_iter().enumerate() {
            if f {
                count[c] += 1;
            }
        }
    }
    // mean over checkpoints > 0.5  ⇔  2·count > T.
    (0..n_c).filter(|&c| 2 * count[c] > n_t).collect()
}

/// The degeneracies of a groups record, in words (empty when none).
pub(crate) fn degeneracies(g: &Groups) -> Vec<String> {
    let mut v = Vec::new();
    if g.comps_grp1.as_ref().is_some_and(|x| x.is_empty()) {
        v.push("component group 1 is empty".to_string());
    }
    if g.comps_grp2.as_ref().is_some_and(|x| x.is_empty()) {
        v.push("component group 2 is empty".to_string());
    }
    if g.coords_in.as_ref().is_some_and(|x| x.is_empty()) {
        v.push("no inlier coordinates".to_string());
    }
    v
}

/// Everything the pipelines share, computed once.
struct Shared {
    median: Option<Mat32>,
    last: Option<Mat32>,
    coord_splits: BTreeMap<(CoordFolding, Clusterer), Result<CoordSplit, String>>,
    comp_splits: BTreeMap<CompKey, Result<CompSplit, String>>,
}

/// Which component matrix: `folding022`, `folding122` on all coordinates, or `folding122` on a subset.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum CompKey {
    F022,
    F122All,
    F122(Vec<usize>),
}

/// The key of the clustering a pipeline uses: Ward is deterministic, so both families share one run.
fn coord_key(f: CoordFolding, c: Clusterer) -> (CoordFolding, Clusterer) {
    if c == Clusterer::Agg {
        (CoordFolding::F200, c)
    } else {
        (f, c)
    }
}

/// Run `pipelines` on `prep`, in parallel; results in the order of `pipelines`.
pub(crate) fn run_pipelines(
    x: &Tensor3,
    pipelines: &[Pipeline],
    seed: u64,
    times: &Times,
    progress: &dyn ccc_core::Progress,
) -> Vec<PipelineResult> {
    // What is needed.
    let mut need_coords: BTreeSet<(CoordFolding, Clusterer)> = BTreeSet::new();
    let (mut need_022, mut need_122_all, mut need_median, mut need_last) = (false, false, false, false);
    let mut need_122_sub: BTreeSet<(CoordFolding, Clusterer)> = BTreeSet::new();
    for p in pipelines {
        match &p.chain {
            Chain::Matrix { reduce: Reduce::Median, .. } | Chain::Tensor(TensorStep::MedianRowL2sqMad) => {
                need_median = true
            }
            Chain::Matrix { reduce: Reduce::Last, .. } => need_last = true,
            Chain::Tensor(TensorStep::MajorityMad) => {}
            Chain::Tensor(TensorStep::FoldCoords(f, c)) => {
                need_coords.insert(coord_key(*f, *c));
            }
            Chain::Tensor(TensorStep::FoldComps(CompFolding::F022)) => need_022 = true,
            Chain::Tensor(TensorStep::FoldComps(CompFolding::F122)) => need_122_all = true,
            Chain::Tensor(TensorStep::FoldBoth(cf, f, c)) => {
                need_coords.insert(coord_key(*f, *c));
                match cf {
                    CompFolding::F022 => need_022 = true,
                    CompFolding::F122 => {
                        need_122_sub.insert(coord_key(*f, *c));
                    }
                }
            }
        }
    }

    // Foldings on all coordinates (one GEMM each) and the matrix reductions.
    let t_fold = Instant::now();
    let fold_c = (!need_coords.is_empty()).then(|| fold::fold_coords(&fold::abs(x)));
    let fold_022 = need_022.then(|| fold::fold_comps(&fold::normalize_over_ckpts(x)));
    let fold_122_all = need_122_all.then(|| fold::fold_comps(&fold::normalize_over_coords(x)));
    let fold_time = t_fold.elapsed().as_secs_f64();
    times.add("foldings", fold_time);
    let (median, t_med) = timed(|| need_median.then(|| reduce(x, Reduce::Median)));
    let (last, t_last) = timed(|| need_last.then(|| reduce(x, Reduce::Last)));
    times.add("reductions", t_med + t_last);

    // Clusterings of the coordinate folding, in parallel.
    let coord_splits: BTreeMap<_, _> = need_coords
        .iter()
        .copied()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(f, c)| {
            let fam = match f {
                CoordFolding::F200 => 0,
                CoordFolding::F100 => 1,
            };
            let cl = Clusterer::ALL.iter().position(|&k| k == c).unwrap_or(0) as u64;
            let mut rng = rng_for(seed, stream::COORD_CLUSTER + 4 * fam + cl);
            let r = match &fold_c {
                Some(m) => cluster_coords(m, c, &mut rng),
                None => Err("the coordinate folding was not computed".to_string()),
            };
            if let Ok(s) = &r {
                times.add(&format!("clusterer_{}", family_of(c)), s.time);
            }
            ((f, c), r)
        })
        .collect();
    drop(fold_c);

    // Component matrices: folding122 on each distinct outlier subset (one GEMM each), then all biclusterings.
    let mut comp_mats: Vec<(CompKey, Mat<f64>, f64)> = Vec::new();
    if let Some(m) = fold_022 {
        comp_mats.push((CompKey::F022, m, 0.0));
    }
    if let Some(m) = fold_122_all {
        comp_mats.push((CompKey::F122All, m, 0.0));
    }
    let subsets: BTreeSet<Vec<usize>> = need_122_sub
        .iter()
        .filter_map(|k| coord_splits.get(k).and_then(|r| r.as_ref().ok()).map(|s| s.out.clone()))
        .collect();
    for s in subsets {
        let (m, t) = timed(|| fold::fold_comps(&fold::normalize_over_coords(&x.select_coords(&s))));
        times.add("foldings", t);
        comp_mats.push((CompKey::F122(s), m, t));
    }
    let comp_splits: BTreeMap<CompKey, Result<CompSplit, String>> = comp_mats
        .into_par_iter()
        .map(|(k, m, t)| {
            let r = bicluster_comps(&m, seed).map(|mut s| {
                s.time += t;
                s
            });
            if let Ok(s) = &r {
                times.add("clusterer_spbi", s.time);
            }
            (k, r)
        })
        .collect();

    let shared = Shared { median, last, coord_splits, comp_splits };
    let shared_fold_time = fold_time;
    progress.start("pipelines", pipelines.len() as u64, "pipelines");
    let results: Vec<PipelineResult> = pipelines
        .par_iter()
        .map(|p| {
            let t0 = Instant::now();
            let (r, extra) = run_one(p, x, &shared, seed, times);
            let mut time_s = t0.elapsed().as_secs_f64() + extra;
            if matches!(
                p.chain,
                Chain::Tensor(TensorStep::FoldCoords(..) | TensorStep::FoldComps(_) | TensorStep::FoldBoth(..))
            ) {
                time_s += shared_fold_time;
            }
            progress.advance(1);
            let (status, reason, groups) = match r {
                Ok((g, mut notes)) => {
                    notes.extend(degeneracies(&g));
                    if notes.is_empty() {
                        (Status::Ok, None, g)
                    } else {
                        (Status::Degenerate, Some(notes.join("; ")), g)
                    }
                }
                Err(e) => (Status::Failed, Some(e), Groups::default()),
            };
            PipelineResult { pipeline: p.clone(), status, reason, groups, time_s }
        })
        .collect();
    progress.finish();
    results
}

fn family_of(c: Clusterer) -> &'static str {
    match c {
        Clusterer::SpCo => "spco",
        Clusterer::Agg => "ward",
        Clusterer::SpBiLog | Clusterer::SpBiBistoch => "spbi",
    }
}

type Outcome = Result<(Groups, Vec<String>), String>;

/// One pipeline from the shared intermediates; returns the groups, notes on degeneracies, and the time of the
/// shared computations it used.
fn run_one(p: &Pipeline, x: &Tensor3, sh: &Shared, seed: u64, times: &Times) -> (Outcome, f64) {
    let n_c = x.n_coord;
    let mut extra = 0.0;
    let mut notes = Vec::new();
    let coord_split =
        |f: CoordFolding, c: Clusterer, notes: &mut Vec<String>, extra: &mut f64| -> Result<Vec<usize>, String> {
            match sh.coord_splits.get(&coord_key(f, c)) {
                Some(Ok(s)) => {
                    *extra += s.time;
                    if s.n_groups < N_CLUSTERS {
                        notes.push(format!(
                            "{} found only {} non-empty coordinate group(s) of {N_CLUSTERS}",
                            c.name(),
                            s.n_groups
                        ));
                    }
                    Ok(s.out.clone())
                }
                Some(Err(e)) => Err(format!("{} on the coordinate folding failed: {e}", c.name())),
                None => Err("internal: coordinate clustering missing".into()),
            }
        };
    let r: Outcome = (|| match &p.chain {
        Chain::Tensor(TensorStep::MajorityMad) => {
            let (out, t) = timed(|| majority_mad(x));
            times.add("clusterer_mad", t);
            let (i, o) = coords_groups(n_c, &out);
            Ok((Groups { coords_in: i, coords_out: o, ..Groups::default() }, notes))
        }
        Chain::Tensor(TensorStep::MedianRowL2sqMad) => {
            let m = sh.median.as_ref().ok_or("internal: median missing")?;
            let (out, t) = timed(|| outliers_f32(&row_reduce(m, RowReduce::L2sq)));
            times.add("clusterer_mad", t);
            let (i, o) = coords_groups(n_c, &out);
            Ok((Groups { coords_in: i, coords_out: o, ..Groups::default() }, notes))
        }
        Chain::Tensor(TensorStep::FoldCoords(f, c)) => {
            let out = coord_split(*f, *c, &mut notes, &mut extra)?;
            let (i, o) = coords_groups(n_c, &out);
            Ok((Groups { coords_in: i, coords_out: o, ..Groups::default() }, notes))
        }
        Chain::Tensor(TensorStep::FoldComps(cf)) => {
            let key = match cf {
                CompFolding::F022 => CompKey::F022,
                CompFolding::F122 => CompKey::F122All,
            };
            let (g1, g2) = comp_split(sh, &key, &mut notes, &mut extra)?;
            Ok((Groups { comps_grp1: Some(g1), comps_grp2: Some(g2), ..Groups::default() }, notes))
        }
        Chain::Tensor(TensorStep::FoldBoth(cf, f, c)) => {
            let out = coord_split(*f, *c, &mut notes, &mut extra)?;
            let key = match cf {
                CompFolding::F022 => CompKey::F022,
                CompFolding::F122 => CompKey::F122(out.clone()),
            };
            let (g1, g2) = comp_split(sh, &key, &mut notes, &mut extra)?;
            let (i, o) = coords_groups(n_c, &out);
            Ok((Groups { coords_in: i, coords_out: o, comps_grp1: Some(g1), comps_grp2: Some(g2) }, notes))
        }
        Chain::Matrix { reduce: r, norms, end } => {
            let base = match r {
                Reduce::Median => sh.median.as_ref(),
                Reduce::Last => sh.last.as_ref(),
            }
            .ok_or("internal: reduction missing")?;
            let mut m = base.clone();
            for n in norms {
                m = normalize(&m, *n);
            }
            let t0 = Instant::now();
            let (g, family) = match end {
                MatrixEnd::RowsMad(rr) => {
                    let (i, o) = coords_groups(n_c, &outliers_f32(&row_reduce(&m, *rr)));
                    (Groups { coords_in: i, coords_out: o, ..Groups::default() }, "mad")
                }
                MatrixEnd::SvdSign => {
                    let (g1, g2) = svd_sign(&m.to_f64())?;
                    (Groups { comps_grp1: Some(g1), comps_grp2: Some(g2), ..Groups::default() }, "svd")
                }
                MatrixEnd::Joint(JointSplit::L1MadSvdSign) => {
                    let (i, o) = coords_groups(n_c, &outliers_f32(&row_reduce(&m, RowReduce::L1)));
                    let (g1, g2) = svd_sign(&m.to_f64())?;
                    (Groups { coords_in: i, coords_out: o, comps_grp1: Some(g1), comps_grp2: Some(g2) }, "svd")
                }
                MatrixEnd::Joint(JointSplit::Dhillon) => (dhillon(&m.to_f64())?, "svd"),
                MatrixEnd::Joint(JointSplit::Spectral2x2) => (spectral_2x2(&m.to_f64(), seed)?, "spbi"),
            };
            times.add(&format!("clusterer_{family}"), t0.elapsed().as_secs_f64());
            Ok((g, notes))
        }
    })();
    (r, extra)
}

fn comp_split(
    sh: &Shared,
    key: &CompKey,
    notes: &mut Vec<String>,
    extra: &mut f64,
) -> Result<(Vec<usize>, Vec<usize>), String> {
    match sh.comp_splits.get(key) {
        Some(Ok(s)) => {
            *extra += s.time;
            if s.n_groups < N_CLUSTERS {
                notes.push(format!(
                    "the component biclustering found only {} non-empty group(s) of {N_CLUSTERS}",
                    s.n_groups
                ));
            }
            Ok((s.grp1.clone(), s.grp2.clone()))
        }
        Some(Err(e)) => Err(format!("the component biclustering failed: {e}")),
        None => Err("internal: component biclustering missing".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_means_first_minimum() {
        let z = [0.1, 5.0, 0.0, 5.2, 0.2];
        let (a, b) = two_means_split(&z);
        assert_eq!(a, vec![2, 0, 4]);
        assert_eq!(b, vec![1, 3]);
        // A constant vector: every break costs 0, the first (empty left side) wins.
        let (a, b) = two_means_split(&[1.0, 1.0, 1.0]);
        assert!(a.is_empty());
        assert_eq!(b.len(), 3);
    }

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
}
