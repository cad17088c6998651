//! Agreement with the reference tool's output on `tests/data/golden/synthetic-small.safetensors` (the golden
//! files of the analyze issue): `prep`, the scores of the golden groups, the experiment names and order, and the
//! groups of every pipeline.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use ccc_analyze::prep::{prep, Tensor3};
use ccc_analyze::{analyze, trajectories, Aggregation, Analysis, AnalyzeOptions, Experiment};
use ccc_core::{CccTensor, Groups, NoProgress};
use serde::Deserialize;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/golden")
}

fn tensor() -> &'static CccTensor {
    static T: OnceLock<CccTensor> = OnceLock::new();
    T.get_or_init(|| ccc_core::file::read(&golden_dir().join("synthetic-small.safetensors")).unwrap())
}

#[derive(Debug, Deserialize)]
struct GoldenScores {
    irregularity: Option<f64>,
    fraction: f64,
}

#[derive(Debug, Deserialize)]
struct GoldenExperiment {
    source: String,
    method: String,
    groups: Groups,
    scores: GoldenScores,
}

#[derive(Debug, Deserialize)]
struct Golden {
    seed: u64,
    aggregation: String,
    grid: usize,
    experiments: Vec<GoldenExperiment>,
}

fn golden() -> &'static Golden {
    static G: OnceLock<Golden> = OnceLock::new();
    G.get_or_init(|| {
        let text = std::fs::read_to_string(golden_dir().join("golden-small.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

fn analysis() -> &'static Analysis {
    static A: OnceLock<Analysis> = OnceLock::new();
    A.get_or_init(|| {
        let g = golden();
        let opts = AnalyzeOptions {
            seed: g.seed,
            aggregation: g.aggregation.parse().unwrap(),
            grid: g.grid,
            ..AnalyzeOptions::default()
        };
        analyze(tensor(), &opts, &NoProgress).unwrap()
    })
}

fn read_f32(path: &std::path::Path, name: &str) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let v = st.tensor(name).unwrap();
    let data = v.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    (v.shape().to_vec(), data)
}

#[test]
fn prep_matches_reference() {
    let t = tensor().filled_only();
    let x = Tensor3 { n_coord: t.n_coord, n_ckpt: t.n_ckpt(), n_comp: t.n_comp(), data: t.mags.clone() };
    let p = prep(&x, true);
    let path = golden_dir().join("prep-small.safetensors");
    for (name, ours) in [("prep", &p.prep), ("normalized", p.normalized.as_ref().unwrap())] {
        let (shape, want) = read_f32(&path, name);
        assert_eq!(shape, vec![ours.n_coord, ours.n_ckpt, ours.n_comp]);
        let max = ours.data.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        eprintln!("{name}: max |ours − reference| = {max:e}");
        assert!(max <= 1e-5, "{name}: max difference {max}");
    }
}

#[test]
fn scoring_golden_groups_reproduces_golden_scores() {
    let t = tensor().filled_only();
    let g = golden();
    assert_eq!(g.experiments.len(), 301);
    let (mut max_diff, mut max_small, mut n_edge) = (0.0f64, 0.0f64, 0);
    for (i, e) in g.experiments.iter().enumerate() {
        let gr = &e.groups;
        let tr = trajectories(&t, gr.comps_grp1.as_ref().unwrap(), gr.comps_grp2.as_ref().unwrap(), Aggregation::Sum);
        let s = ccc_analyze::score(&tr, gr.coords_in.as_ref().unwrap(), gr.coords_out.as_ref().unwrap().len(), g.grid);
        assert_eq!(s.fraction, e.scores.fraction, "experiment {i}: fraction");
        match (s.irregularity, e.scores.irregularity) {
            (Some(a), Some(b)) => {
                max_diff = max_diff.max((a - b).abs());
                if (a - b).abs() > 1e-6 {
                    n_edge += 1;
                } else {
                    max_small = max_small.max((a - b).abs());
                }
                assert!((a - b).abs() <= 1e-4, "experiment {i}: irregularity {a} vs {b}");
            }
            (a, b) => assert_eq!(a, b, "experiment {i}"),
        }
    }
    eprintln!(
        "max |irregularity − golden| over 301 experiments: {max_diff:e}; {n_edge} experiment(s) above 1e-6 (a point on \
         the other side of a bin edge), the others within {max_small:e}"
    );
}

#[test]
fn names_and_order_match() {
    let a = analysis();
    let g = golden();
    assert_eq!(a.experiments.len(), g.experiments.len());
    for (i, (ours, want)) in a.experiments.iter().zip(&g.experiments).enumerate() {
        assert_eq!(ours.id, i);
        assert_eq!((ours.source.to_string(), &ours.method), (want.source.clone(), &want.method), "experiment {i}");
        assert_eq!(want.source.parse::<ccc_analyze::Source>().unwrap(), ours.source, "experiment {i}");
    }
}

/// Whether an experiment's groups depend on no random draw (docs/analysis.md §3 and §9).
fn is_deterministic(method: &str) -> bool {
    let random = ["SpCo", "SpBi-log", "SpBi-bistoch", "biclustering", "bipartition_spectral", "MAD-union-lincomb"];
    !random.iter().any(|r| method.contains(r))
}

/// Fraction of items with the same label under the best matching of the labels of `a` and `b` (both label the
/// same `n` items; labels are small integers).
fn best_matching_agreement(a: &[usize], b: &[usize]) -> f64 {
    let la = a.iter().max().map_or(0, |m| m + 1);
    let lb = b.iter().max().map_or(0, |m| m + 1);
    let mut counts = vec![vec![0usize; lb]; la];
    for (&x, &y) in a.iter().zip(b) {
        counts[x][y] += 1;
    }
    // Exhaustive over permutations of the (few) labels of `b` assigned to labels of `a`.
    fn best(counts: &[Vec<usize>], i: usize, used: &mut Vec<bool>) -> usize {
        if i == counts.len() {
            return 0;
        }
        let mut m = best(counts, i + 1, used); // label i matched to nothing
        for j in 0..used.len() {
            if !used[j] {
                used[j] = true;
                m = m.max(counts[i][j] + best(counts, i + 1, used));
                used[j] = false;
            }
        }
        m
    }
    let mut used = vec![false; lb];
    best(&counts, 0, &mut used) as f64 / a.len().max(1) as f64
}

fn coord_labels(g: &Groups, n: usize) -> Vec<usize> {
    let mut l = vec![0; n];
    for &c in g.coords_out.as_deref().unwrap_or(&[]) {
        l[c] = 1;
    }
    l
}

fn comp_labels(g: &Groups, n: usize) -> Vec<usize> {
    let mut l = vec![0; n];
    for &k in g.comps_grp1.as_deref().unwrap_or(&[]) {
        l[k] = 1;
    }
    for &k in g.comps_grp2.as_deref().unwrap_or(&[]) {
        l[k] = 2;
    }
    l
}

fn unordered_comps(g: &Groups) -> [Vec<usize>; 2] {
    let mut v = [g.comps_grp1.clone().unwrap_or_default(), g.comps_grp2.clone().unwrap_or_default()];
    v.sort();
    v
}

#[test]
fn groups_agree_with_reference() {
    let a = analysis();
    let g = golden();
    let (n_c, n_k) = (64, 42);
    let mut det_mismatch = Vec::new();
    let (mut rand_coords, mut rand_comps, mut n_rand) = (0.0, 0.0, 0);
    let (mut min_coords, mut min_comps) = (1.0f64, 1.0f64);
    for (i, (ours, want)) in a.experiments.iter().zip(&g.experiments).enumerate() {
        let ours: &Experiment = ours;
        if want.source.starts_with("comps_grps:random") {
            // A random grouping by definition (its own draws): nothing to compare but its name and order.
            continue;
        }
        if is_deterministic(&want.method) {
            let same = ours.groups.coords_out == want.groups.coords_out
                && unordered_comps(&ours.groups) == unordered_comps(&want.groups);
            if !same {
                det_mismatch.push(format!("{i} {} {}", want.source, want.method));
            }
        } else {
            let c = best_matching_agreement(&coord_labels(&ours.groups, n_c), &coord_labels(&want.groups, n_c));
            let k = best_matching_agreement(&comp_labels(&ours.groups, n_k), &comp_labels(&want.groups, n_k));
            rand_coords += c;
            rand_comps += k;
            min_coords = min_coords.min(c);
            min_comps = min_comps.min(k);
            n_rand += 1;
        }
    }
    let (mc, mk) = (rand_coords / n_rand as f64, rand_comps / n_rand as f64);
    eprintln!(
        "deterministic mismatches: {} of {}; random ones ({n_rand}): mean agreement coords {mc:.4} (min {min_coords:.4}), comps {mk:.4} (min {min_comps:.4})",
        det_mismatch.len(),
        301 - 14 - n_rand
    );
    assert!(det_mismatch.is_empty(), "deterministic experiments differ:\n{}", det_mismatch.join("\n"));
    assert!(mc >= 0.95, "coordinates agreement {mc}");
    assert!(mk >= 0.90, "components agreement {mk}");
}

#[test]
fn sources_and_status() {
    let a = analysis();
    let mut by_source: BTreeMap<String, usize> = BTreeMap::new();
    for e in &a.experiments {
        *by_source.entry(e.source.to_string()).or_default() += 1;
    }
    assert_eq!(by_source.len(), 6);
    assert_eq!(by_source["TCI-comps-coords"], 21);
    assert_eq!(by_source["TCI-comps-coords:keeping_comps_grps|find_outliers_traj2d"], 147);
    assert_eq!(a.pipelines.len(), 40);
    assert!(a.experiments.iter().all(|e| e.status != ccc_analyze::Status::Failed), "no experiment fails here");
}
