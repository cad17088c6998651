//! What the pipelines read from `prep`: the foldings, the reductions over checkpoints and `majority_mad`'s sums.
//!
//! Two implementations compute the same quantities: [`Tensor3`] holds `prep` in memory (one GEMM per folding, the
//! reference's order of operations, used for small inputs and by the golden tests), and
//! [`crate::blockwise::BlockwisePrep`] computes them block by block from a memory-mapped tensor in bounded memory
//! (docs/analysis.md §10).

use faer::Mat;

use super::coords::majority_mad;
use crate::fold;
use crate::matrix::Mat32;
use crate::pipeline::Reduce;
use crate::prep::Tensor3;

/// `prep`, as far as the pipelines need it.
pub(crate) trait PrepInput: Sync {
    /// Number of coordinates.
    fn n_coord(&self) -> usize;
    /// `fold_coords(|prep|)` (`C × C`).
    fn fold_coords_abs(&self) -> Mat<f64>;
    /// `fold_comps` of `prep` normalized over the checkpoints (`K × K`).
    fn fold_comps_ckpts_l2(&self) -> Mat<f64>;
    /// `fold_comps` of the given coordinates of `prep` (all when `None`), normalized over those coordinates.
    fn fold_comps_coords_l2(&self, coords: Option<&[usize]>) -> Mat<f64>;
    /// A reduction over the checkpoints (`C × K`).
    fn reduce(&self, r: Reduce) -> Mat32;
    /// The outliers of `majority_mad`.
    fn majority_mad(&self) -> Vec<usize>;
    /// Called when the foldings of all coordinates are done (only those of a few selected coordinates may follow):
    /// an implementation may free what it kept for them.
    fn foldings_of_all_done(&self) {}
}

impl PrepInput for Tensor3 {
    fn n_coord(&self) -> usize {
        self.n_coord
    }
    fn fold_coords_abs(&self) -> Mat<f64> {
        fold::fold_coords(&fold::abs(self))
    }
    fn fold_comps_ckpts_l2(&self) -> Mat<f64> {
        fold::fold_comps(&fold::normalize_over_ckpts(self))
    }
    fn fold_comps_coords_l2(&self, coords: Option<&[usize]>) -> Mat<f64> {
        match coords {
            None => fold::fold_comps(&fold::normalize_over_coords(self)),
            Some(s) => fold::fold_comps(&fold::normalize_over_coords(&self.select_coords(s))),
        }
    }
    fn reduce(&self, r: Reduce) -> Mat32 {
        Mat32::reduce(self, r)
    }
    fn majority_mad(&self) -> Vec<usize> {
        majority_mad(self)
    }
}
