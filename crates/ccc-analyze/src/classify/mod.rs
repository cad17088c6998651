//! Running classification pipelines on `prep`: every shared intermediate (the foldings, the clusterings of the
//! coordinate folding, the component biclusterings) is computed once per distinct input, in parallel, and each
//! pipeline then assembles its groups record from them.
//!
//! - `input`: what the pipelines read from `prep` ([`PrepInput`]), in memory or blockwise from a mapped file.
//! - `plan`: which shared intermediates a set of pipelines needs (one pipeline's plan is its own cost).
//! - `schedule`: computes them, then runs the pipelines in parallel.
//! - `assemble`: one pipeline's groups record from the shared intermediates.
//! - `coords`, `comps`, `joint`: the coordinate splits, component bipartitions and joint bipartitions of spec
//!   02 §3, built on the algorithms of [`crate::cluster`].

mod assemble;
mod comps;
mod coords;
mod input;
mod joint;
mod plan;
mod schedule;

pub(crate) use coords::majority_mad_of_sums;
pub(crate) use input::PrepInput;
pub(crate) use plan::estimated_cost;

pub(crate) use schedule::run_pipelines;

use ccc_core::Groups;
use faer::Mat;

use crate::pipeline::Pipeline;

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
/// k-means restarts of the spectral biclustering of the coordinate folding (docs/analysis.md §3).
const SPBI_COORD_RESTARTS: usize = 100;
/// k-means restarts elsewhere.
const RESTARTS: usize = 10;

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

/// The mean of the block `m[rows, cols]`.
fn block_mean(m: &Mat<f64>, rows: &[usize], cols: &[usize]) -> f64 {
    let mut s = 0.0;
    for &i in rows {
        for &j in cols {
            s += m[(i, j)];
        }
    }
    s / (rows.len() * cols.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_groups_drop_empty_and_unknown_labels() {
        assert_eq!(label_groups(&[2, 0, 2, 5, 0], 3), vec![vec![1, 4], vec![0, 2]]);
        assert!(label_groups(&[], 3).is_empty());
    }

    #[test]
    fn degeneracies_in_words() {
        let g = Groups {
            coords_in: Some(vec![]),
            comps_grp1: Some(vec![0]),
            comps_grp2: Some(vec![]),
            ..Groups::default()
        };
        assert_eq!(degeneracies(&g), vec!["component group 2 is empty", "no inlier coordinates"]);
        assert!(degeneracies(&Groups::default()).is_empty());
    }
}
