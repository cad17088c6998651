//! One pipeline's groups record, assembled from the shared intermediates (and its own last steps).

use std::time::Instant;

use ccc_core::Groups;

use super::comps::svd_sign;
use super::joint::{dhillon, spectral_2x2};
use super::plan::{CompMatrix, CoordClustering, CoordSet};
use super::schedule::Shared;
use super::{degeneracies, PipelineResult, PrepInput, Status, N_CLUSTERS};
use crate::pipeline::{
    Chain, Clusterer, CompFolding, CoordFolding, JointSplit, MatrixEnd, Pipeline, Reduce, RowReduce, TensorStep,
};
use crate::robust::outliers_f32;
use crate::timing::{timed, Times};

/// Run one pipeline from the shared intermediates: its groups, status and time (the shared computations it
/// used included).
pub(super) fn run_one(p: &Pipeline, x: &dyn PrepInput, shared: &Shared, seed: u64, times: &Times) -> PipelineResult {
    let t0 = Instant::now();
    let mut used = Used::default();
    let r = groups_of(&p.chain, x, shared, seed, times, &mut used);
    let mut time_s = t0.elapsed().as_secs_f64() + used.time;
    if matches!(
        p.chain,
        Chain::Tensor(TensorStep::FoldCoords(..) | TensorStep::FoldComps(_) | TensorStep::FoldBoth(..))
    ) {
        time_s += shared.fold_time;
    }
    let (status, reason, groups) = match r {
        Ok(g) => {
            let mut notes = used.notes;
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
}

/// What a pipeline took from the shared intermediates: their time, and notes on their degeneracies.
#[derive(Debug, Default)]
struct Used {
    time: f64,
    notes: Vec<String>,
}

impl Used {
    /// The outliers of a clustering of the coordinate folding.
    fn coord_split(&mut self, sh: &Shared, f: CoordFolding, c: Clusterer) -> Result<Vec<usize>, String> {
        match sh.coord_splits.get(&CoordClustering::of(f, c)) {
            Some(Ok(s)) => {
                self.time += s.time;
                if s.n_groups < N_CLUSTERS {
                    self.notes.push(format!(
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
    }

    /// The component groups of the biclustering of a component matrix.
    fn comp_split(&mut self, sh: &Shared, key: &CompMatrix) -> Result<(Vec<usize>, Vec<usize>), String> {
        match sh.comp_splits.get(key) {
            Some(Ok(s)) => {
                self.time += s.time;
                if s.n_groups < N_CLUSTERS {
                    self.notes.push(format!(
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
}

/// The coordinate split of `n` coordinates with outliers `out`, as the two groups-record keys.
fn coords_groups(n: usize, out: &[usize]) -> (Option<Vec<usize>>, Option<Vec<usize>>) {
    let (i, o) = Groups::coords_from_outliers(n, out);
    (Some(i), Some(o))
}

/// The groups record of `chain`.
fn groups_of(
    chain: &Chain,
    x: &dyn PrepInput,
    sh: &Shared,
    seed: u64,
    times: &Times,
    used: &mut Used,
) -> Result<Groups, String> {
    let n_c = x.n_coord();
    match chain {
        Chain::Tensor(TensorStep::MajorityMad) => {
            let (out, t) = timed(|| x.majority_mad());
            times.add("clusterer_mad", t);
            let (i, o) = coords_groups(n_c, &out);
            Ok(Groups { coords_in: i, coords_out: o, ..Groups::default() })
        }
        Chain::Tensor(TensorStep::MedianRowL2sqMad) => {
            let m = sh.median.as_ref().ok_or("internal: median missing")?;
            let (out, t) = timed(|| outliers_f32(&m.row_reduce(RowReduce::L2sq)));
            times.add("clusterer_mad", t);
            let (i, o) = coords_groups(n_c, &out);
            Ok(Groups { coords_in: i, coords_out: o, ..Groups::default() })
        }
        Chain::Tensor(TensorStep::FoldCoords(f, c)) => {
            let out = used.coord_split(sh, *f, *c)?;
            let (i, o) = coords_groups(n_c, &out);
            Ok(Groups { coords_in: i, coords_out: o, ..Groups::default() })
        }
        Chain::Tensor(TensorStep::FoldComps(cf)) => {
            let key = match cf {
                CompFolding::CkptsL2 => CompMatrix::CkptsL2,
                CompFolding::SelectedCoordsL2 => CompMatrix::SelectedCoordsL2(CoordSet::All),
            };
            let (g1, g2) = used.comp_split(sh, &key)?;
            Ok(Groups { comps_grp1: Some(g1), comps_grp2: Some(g2), ..Groups::default() })
        }
        Chain::Tensor(TensorStep::FoldBoth(cf, f, c)) => {
            let out = used.coord_split(sh, *f, *c)?;
            let key = match cf {
                CompFolding::CkptsL2 => CompMatrix::CkptsL2,
                CompFolding::SelectedCoordsL2 => CompMatrix::SelectedCoordsL2(CoordSet::Only(out.clone())),
            };
            let (g1, g2) = used.comp_split(sh, &key)?;
            let (i, o) = coords_groups(n_c, &out);
            Ok(Groups { coords_in: i, coords_out: o, comps_grp1: Some(g1), comps_grp2: Some(g2) })
        }
        Chain::Matrix { reduce: r, norms, end } => {
            let base = match r {
                Reduce::Median => sh.median.as_ref(),
                Reduce::Last => sh.last.as_ref(),
            }
            .ok_or("internal: reduction missing")?;
            let mut m = base.clone();
            for n in norms {
                m = m.normalized(*n);
            }
            let t0 = Instant::now();
            let (g, family) = match end {
                MatrixEnd::RowsMad(rr) => {
                    let (i, o) = coords_groups(n_c, &outliers_f32(&m.row_reduce(*rr)));
                    (Groups { coords_in: i, coords_out: o, ..Groups::default() }, "mad")
                }
                MatrixEnd::SvdSign => {
                    let (g1, g2) = svd_sign(&m.to_f64())?;
                    (Groups { comps_grp1: Some(g1), comps_grp2: Some(g2), ..Groups::default() }, "svd")
                }
                MatrixEnd::Joint(JointSplit::L1MadSvdSign) => {
                    let (i, o) = coords_groups(n_c, &outliers_f32(&m.row_reduce(RowReduce::L1)));
                    let (g1, g2) = svd_sign(&m.to_f64())?;
                    (Groups { coords_in: i, coords_out: o, comps_grp1: Some(g1), comps_grp2: Some(g2) }, "svd")
                }
                MatrixEnd::Joint(JointSplit::Dhillon) => (dhillon(&m.to_f64())?, "svd"),
                MatrixEnd::Joint(JointSplit::Spectral2x2) => (spectral_2x2(&m.to_f64(), seed)?, "spbi"),
            };
            times.add(&format!("clusterer_{family}"), t0.elapsed().as_secs_f64());
            Ok(g)
        }
    }
}
