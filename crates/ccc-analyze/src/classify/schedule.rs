//! The scheduler: compute every shared intermediate a set of pipelines needs — once per distinct input, in
//! parallel — then assemble the pipelines' groups records from them, in parallel.
//!
//! Any subset of the pipelines can be run (one alone, by its index in the `--pipelines` selection): its
//! [`Plan`] holds only what it needs, and every random draw comes from its task's own stream
//! ([`crate::rng`]), so a pipeline gives the same groups alone as among all.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use faer::Mat;
use rayon::prelude::*;

use super::assemble::run_one;
use super::comps::{bicluster_comps, CompSplit};
use super::coords::{cluster_coords, CoordSplit};
use super::plan::{CompMatrix, CoordClustering, CoordSet, Plan};
use super::PipelineResult;
use super::PrepInput;
use crate::matrix::Mat32;
use crate::pipeline::{Clusterer, Pipeline, Reduce};
use crate::rng::{rng_for, Stream};
use crate::timing::{timed, Times};

/// Everything the pipelines share, computed once.
pub(super) struct Shared {
    /// The median over checkpoints, when planned.
    pub(super) median: Option<Mat32>,
    /// The last checkpoint, when planned.
    pub(super) last: Option<Mat32>,
    /// The clusterings of the coordinate folding.
    pub(super) coord_splits: BTreeMap<CoordClustering, Result<CoordSplit, String>>,
    /// The biclusterings of the component matrices.
    pub(super) comp_splits: BTreeMap<CompMatrix, Result<CompSplit, String>>,
    /// Wall time of the foldings of all coordinates, seconds (every folding pipeline is charged it).
    pub(super) fold_time: f64,
}

impl Shared {
    /// Compute what `plan` asks for on `x`.
    fn compute(x: &dyn PrepInput, plan: &Plan, seed: u64, times: &Times) -> Shared {
        // Foldings of all coordinates (one GEMM each) and the matrix reductions.
        let t_fold = Instant::now();
        let fold_c = (!plan.coord_clusterings.is_empty()).then(|| x.fold_coords_abs());
        let comps_ckpts_l2 = plan.comps_ckpts_l2.then(|| x.fold_comps_ckpts_l2());
        let comps_all_coords_l2 = plan.comps_all_coords_l2.then(|| x.fold_comps_coords_l2(None));
        x.foldings_of_all_done();
        let fold_time = t_fold.elapsed().as_secs_f64();
        times.add("foldings", fold_time);
        let (median, t_med) = timed(|| plan.median.then(|| x.reduce(Reduce::Median)));
        let (last, t_last) = timed(|| plan.last.then(|| x.reduce(Reduce::Last)));
        times.add("reductions", t_med + t_last);

        // Clusterings of the coordinate folding, in parallel.
        let coord_splits: BTreeMap<_, _> = plan
            .coord_clusterings
            .iter()
            .copied()
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|k| {
                let mut rng = rng_for(seed, Stream::CoordClustering(k.family, k.clusterer));
                let r = match &fold_c {
                    Some(m) => cluster_coords(m, k.clusterer, &mut rng),
                    None => Err("the coordinate folding was not computed".to_string()),
                };
                if let Ok(s) = &r {
                    times.add(&format!("clusterer_{}", family_of(k.clusterer)), s.time);
                }
                (k, r)
            })
            .collect();
        drop(fold_c);

        // Component matrices: one of the selected coordinates per distinct outlier set (one GEMM each), then
        // all biclusterings.
        let mut comp_mats: Vec<(CompMatrix, Mat<f64>, f64)> = Vec::new();
        if let Some(m) = comps_ckpts_l2 {
            comp_mats.push((CompMatrix::CkptsL2, m, 0.0));
        }
        if let Some(m) = comps_all_coords_l2 {
            comp_mats.push((CompMatrix::SelectedCoordsL2(CoordSet::All), m, 0.0));
        }
        let subsets: BTreeSet<Vec<usize>> = plan
            .comps_outliers_l2
            .iter()
            .filter_map(|k| coord_splits.get(k).and_then(|r| r.as_ref().ok()).map(|s| s.out.clone()))
            .collect();
        for s in subsets {
            let (m, t) = timed(|| x.fold_comps_coords_l2(Some(&s)));
            times.add("foldings", t);
            comp_mats.push((CompMatrix::SelectedCoordsL2(CoordSet::Only(s)), m, t));
        }
        let comp_splits: BTreeMap<CompMatrix, Result<CompSplit, String>> = comp_mats
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

        Shared { median, last, coord_splits, comp_splits, fold_time }
    }
}

/// The clusterer family a clusterer's time is charged to (`clusterer_<family>` of the phase times).
fn family_of(c: Clusterer) -> &'static str {
    match c {
        Clusterer::SpCo => "spco",
        Clusterer::Agg => "ward",
        Clusterer::SpBiLog | Clusterer::SpBiBistoch => "spbi",
    }
}

/// Run `pipelines` on `prep` (in memory or blockwise), in parallel; results in the order of `pipelines`.
pub(crate) fn run_pipelines(
    x: &dyn PrepInput,
    pipelines: &[Pipeline],
    seed: u64,
    times: &Times,
    progress: &dyn ccc_core::Progress,
) -> Vec<PipelineResult> {
    let shared = Shared::compute(x, &Plan::new(pipelines), seed, times);
    progress.start("pipelines", pipelines.len() as u64, "pipelines");
    let results: Vec<PipelineResult> = pipelines
        .par_iter()
        .map(|p| {
            let r = run_one(p, x, &shared, seed, times);
            progress.advance(1);
            r
        })
        .collect();
    progress.finish();
    results
}
