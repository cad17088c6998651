//! What a set of pipelines needs: the shared intermediates, each computed once per distinct input.
//!
//! A plan is a union over pipelines, so the plan of one pipeline is what that pipeline costs when run alone,
//! and the plan of a set is what the set costs together.

use std::collections::BTreeSet;

use crate::pipeline::{Chain, Clusterer, CompFolding, CoordFolding, Pipeline, Reduce, TensorStep};

/// A clustering of the coordinate folding `fold_coords(|X|)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct CoordClustering {
    /// The family, which picks the random restarts.
    pub(super) family: CoordFolding,
    /// The clusterer.
    pub(super) clusterer: Clusterer,
}

impl CoordClustering {
    /// The clustering a pipeline of `family` with `clusterer` uses: Ward is deterministic, so both families
    /// share one run.
    pub(super) fn of(family: CoordFolding, clusterer: Clusterer) -> Self {
        let family = if clusterer == Clusterer::Agg { CoordFolding::First } else { family };
        CoordClustering { family, clusterer }
    }
}

/// Which coordinates a component folding takes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum CoordSet {
    /// All of them.
    All,
    /// These (the outliers of a coordinate clustering), ascending.
    Only(Vec<usize>),
}

/// A component matrix (`K × K`), biclustered once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum CompMatrix {
    /// [`CompFolding::CkptsL2`] of all coordinates.
    CkptsL2,
    /// [`CompFolding::SelectedCoordsL2`] of these coordinates.
    SelectedCoordsL2(CoordSet),
}

/// The shared intermediates a set of pipelines needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Plan {
    /// The median over checkpoints (`C × K`).
    pub(super) median: bool,
    /// The last checkpoint (`C × K`).
    pub(super) last: bool,
    /// Clusterings of the coordinate folding (which is computed when any is needed).
    pub(super) coord_clusterings: BTreeSet<CoordClustering>,
    /// [`CompMatrix::CkptsL2`] and its biclustering.
    pub(super) comps_ckpts_l2: bool,
    /// [`CompMatrix::SelectedCoordsL2`] of all coordinates and its biclustering.
    pub(super) comps_all_coords_l2: bool,
    /// [`CompMatrix::SelectedCoordsL2`] of the outliers of each of these clusterings (one matrix per distinct
    /// outlier set) and their biclusterings.
    pub(super) comps_outliers_l2: BTreeSet<CoordClustering>,
}

impl Plan {
    /// What `pipelines` need together.
    pub(super) fn new(pipelines: &[Pipeline]) -> Plan {
        let mut plan = Plan::default();
        for p in pipelines {
            plan.add(&p.chain);
        }
        plan
    }

    /// Add what `chain` needs.
    pub(super) fn add(&mut self, chain: &Chain) {
        match chain {
            Chain::Matrix { reduce: Reduce::Median, .. } | Chain::Tensor(TensorStep::MedianRowL2sqMad) => {
                self.median = true
            }
            Chain::Matrix { reduce: Reduce::Last, .. } => self.last = true,
            Chain::Tensor(TensorStep::MajorityMad) => {}
            Chain::Tensor(TensorStep::FoldCoords(f, c)) => {
                self.coord_clusterings.insert(CoordClustering::of(*f, *c));
            }
            Chain::Tensor(TensorStep::FoldComps(CompFolding::CkptsL2)) => self.comps_ckpts_l2 = true,
            Chain::Tensor(TensorStep::FoldComps(CompFolding::SelectedCoordsL2)) => self.comps_all_coords_l2 = true,
            Chain::Tensor(TensorStep::FoldBoth(cf, f, c)) => {
                let clustering = CoordClustering::of(*f, *c);
                self.coord_clusterings.insert(clustering);
                match cf {
                    CompFolding::CkptsL2 => self.comps_ckpts_l2 = true,
                    CompFolding::SelectedCoordsL2 => {
                        self.comps_outliers_l2.insert(clustering);
                    }
                }
            }
        }
    }
}

/// A pipeline's estimated cost on a `[C, T, K]` tensor when run alone (its own plan), in arbitrary units
/// proportional to floating-point operations: what shards are balanced by (docs/analysis.md §10).
pub(crate) fn estimated_cost(p: &Pipeline, [c, t, k]: [usize; 3]) -> f64 {
    let (c, t, k) = (c as f64, t as f64, k as f64);
    let plan = Plan::new(std::slice::from_ref(p));
    // Every pipeline reads `prep` once at least, and scores its experiments on `C × T` trajectories.
    let mut cost = c * t * k + 8.0 * c * t * if p.chain.gives_coords() { 1.0 } else { 7.0 };
    if plan.median {
        cost += 4.0 * c * t * k;
    }
    if plan.last {
        cost += c * k;
    }
    if !plan.coord_clusterings.is_empty() {
        // The folding (one GEMM over the long axis), then the clusterings of the `C × C` matrix.
        cost += c * c * t * k + plan.coord_clusterings.len() as f64 * 20.0 * c * c * c;
    }
    let comp_mats = plan.comps_ckpts_l2 as usize + plan.comps_all_coords_l2 as usize;
    cost += comp_mats as f64 * (k * k * c * t + 20.0 * k * k * k);
    cost += plan.comps_outliers_l2.len() as f64 * 20.0 * k * k * k;
    if matches!(p.chain, Chain::Matrix { .. }) {
        cost += 20.0 * c * k * k.min(c);
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::builtin;

    #[test]
    fn ward_is_shared_between_families() {
        let a = CoordClustering::of(CoordFolding::Second, Clusterer::Agg);
        assert_eq!(a, CoordClustering::of(CoordFolding::First, Clusterer::Agg));
        assert_ne!(
            CoordClustering::of(CoordFolding::Second, Clusterer::SpCo),
            CoordClustering::of(CoordFolding::First, Clusterer::SpCo)
        );
    }

    #[test]
    fn plans_of_the_builtins() {
        let all = builtin();
        let plan = Plan::new(&all);
        // 2 families × 4 clusterers, Ward once.
        assert_eq!(plan.coord_clusterings.len(), 7);
        assert_eq!(plan.comps_outliers_l2.len(), 7);
        assert!(plan.median && plan.last && plan.comps_ckpts_l2 && plan.comps_all_coords_l2);
        // The union of the pipelines' own plans is the plan of all.
        let mut union = Plan::default();
        for p in &all {
            let own = Plan::new(std::slice::from_ref(p));
            union.median |= own.median;
            union.last |= own.last;
            union.coord_clusterings.extend(own.coord_clusterings);
            union.comps_ckpts_l2 |= own.comps_ckpts_l2;
            union.comps_all_coords_l2 |= own.comps_all_coords_l2;
            union.comps_outliers_l2.extend(own.comps_outliers_l2);
        }
        assert_eq!(union, plan);
        // Pipeline 23 (`majority_mad`) needs nothing shared; 33 one component matrix of all coordinates.
        assert_eq!(Plan::new(&all[22..23]), Plan::default());
        assert_eq!(Plan::new(&all[32..33]), Plan { comps_all_coords_l2: true, ..Plan::default() });
    }
}
