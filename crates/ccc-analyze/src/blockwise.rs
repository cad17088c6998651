//! `prep` and everything the pipelines read from it, computed block by block from a [`MappedTensor`] in bounded
//! memory (docs/analysis.md §10).
//!
//! `prep` is a pointwise function of `mags` once the constants of each `(t, k)` column are known
//! ([`ColumnStats`]): one pass over the checkpoints computes them (and checks every value is finite); after that
//! any block of `prep` is computed from the same block of the file. Each quantity is then one pass over blocks:
//!
//! - `fold_coords(|prep|)`: a Gram matrix `A Aᵀ` accumulated over blocks of checkpoints (the long axis `T·K`);
//! - the component foldings: Gram matrices `Aᵀ A` accumulated over blocks of rows — of coordinates when the
//!   normalization is over checkpoints, of checkpoints when it is over coordinates;
//! - the median and last checkpoint, `majority_mad`'s sums: blocks of coordinates.
//!
//! Memory is the `C × C` and `K × K` results plus one block (`block_bytes`), whatever the size of the tensor.
//! Normalizations and reductions are the in-memory ones, in the same order, so they are bit-identical; a folding
//! adds its blocks' products in another order than one GEMM, which moves it by float rounding only.

use std::ops::Range;

use faer::{Accum, Mat};
use rayon::prelude::*;

use crate::classify::{majority_mad_of_sums, PrepInput};
use crate::error::AnalyzeError;
use crate::fold::{gram_cols, gram_rows, symmetric_f64};
use crate::matrix::Mat32;
use crate::pipeline::Reduce;
use crate::prep::{ColumnStats, Tensor3};
use crate::robust::pairwise_sum_f32;
use crate::staged::{apply_stats, checked_stats};
use crate::view::{blocks, MappedTensor};

/// Bytes of one block of values, by default: large enough for efficient GEMMs, small next to the results.
pub const DEFAULT_BLOCK_BYTES: usize = 64 << 20;

/// `prep` of a mapped tensor, computed a block at a time.
pub(crate) struct BlockwisePrep<'a> {
    view: &'a MappedTensor,
    /// `stats[t * K + k]`.
    stats: Vec<ColumnStats>,
    block_bytes: usize,
    all: Vec<usize>,
    /// Each pass reports its blocks.
    progress: &'a dyn ccc_core::Progress,
}

impl<'a> BlockwisePrep<'a> {
    /// One pass over the checkpoints: the constants of `prep`, and the first non-finite value (in `[c][t][k]`
    /// order, as the in-memory check names it) as an error.
    pub(crate) fn new(
        view: &'a MappedTensor,
        block_bytes: usize,
        progress: &'a dyn ccc_core::Progress,
    ) -> Result<BlockwisePrep<'a>, AnalyzeError> {
        let all: Vec<usize> = (0..view.n_coord()).collect();
        let stats = checked_stats(view, view.steps(), view.meta(), progress)?;
        Ok(BlockwisePrep { view, stats, block_bytes, all, progress })
    }

    /// `prep` of the block `coords × ts × K`.
    fn block(&self, coords: &[usize], ts: Range<usize>) -> Vec<f32> {
        let k_n = self.view.n_comp();
        let nt = ts.len();
        let mut out = vec![0.0f32; coords.len() * nt * k_n];
        self.view.read_block(coords, ts.clone(), &mut out);
        self.view.release();
        apply_stats(&self.stats, k_n, ts, &mut out);
        out
    }

    /// Blocks of whole coordinates (`c × T × K`), as in-memory tensors; the pass is reported as `phase`.
    fn coord_blocks(&self, phase: &str) -> impl Iterator<Item = Tensor3> + '_ {
        let [c_n, t_n, k_n] = self.view.shape();
        let size = self.view.coords_per_block(self.block_bytes);
        self.progress.start(phase, c_n.div_ceil(size) as u64, "blocks");
        blocks(c_n, size).map(move |cs| {
            let last = cs.end == c_n;
            let x = Tensor3 { n_coord: cs.len(), n_ckpt: t_n, n_comp: k_n, data: self.block(&self.all[cs], 0..t_n) };
            self.progress.advance(1);
            if last {
                self.progress.finish();
            }
            x
        })
    }

    /// Blocks of checkpoints of `n_rows` coordinates, reported as the pass `phase`.
    fn ckpt_blocks(&self, phase: &str, n_rows: usize) -> impl Iterator<Item = Range<usize>> + '_ {
        let t_n = self.view.n_ckpt();
        let size = self.view.ckpts_per_block(self.block_bytes, n_rows);
        self.progress.start(phase, t_n.div_ceil(size) as u64, "blocks");
        blocks(t_n, size).inspect(move |ts| {
            // Reported when the block is handed out: the pass ends with its last block.
            if ts.start > 0 {
                self.progress.advance(1);
            }
            if ts.end == t_n {
                self.progress.advance(1);
                self.progress.finish();
            }
        })
    }
}

fn accum(first: bool) -> Accum {
    if first {
        Accum::Replace
    } else {
        Accum::Add
    }
}

impl PrepInput for BlockwisePrep<'_> {
    fn n_coord(&self) -> usize {
        self.view.n_coord()
    }

    fn fold_coords_abs(&self) -> Mat<f64> {
        let [c_n, _, k_n] = self.view.shape();
        let mut g = Mat::<f32>::zeros(c_n, c_n);
        for (i, ts) in self.ckpt_blocks("folding coordinates", c_n).enumerate() {
            let mut b = self.block(&self.all, ts.clone());
            b.par_chunks_mut(1 << 16).for_each(|ch| ch.iter_mut().for_each(|v| *v = v.abs()));
            gram_rows(&mut g, &b, c_n, ts.len() * k_n, accum(i == 0));
        }
        symmetric_f64(&g)
    }

    fn fold_comps_ckpts_l2(&self) -> Mat<f64> {
        let k_n = self.view.n_comp();
        let mut g = Mat::<f32>::zeros(k_n, k_n);
        for (i, x) in self.coord_blocks("folding components over checkpoints").enumerate() {
            let x = crate::fold::normalize_over_ckpts(&x);
            gram_cols(&mut g, &x.data, x.n_coord * x.n_ckpt, k_n, accum(i == 0));
        }
        symmetric_f64(&g)
    }

    fn fold_comps_coords_l2(&self, coords: Option<&[usize]>) -> Mat<f64> {
        let [_, _, k_n] = self.view.shape();
        let coords = coords.unwrap_or(&self.all);
        let n = coords.len();
        let mut g = Mat::<f32>::zeros(k_n, k_n);
        if n == 0 {
            return symmetric_f64(&g);
        }
        for (i, ts) in self.ckpt_blocks("folding components over coordinates", n).enumerate() {
            let nt = ts.len();
            let mut b = self.block(coords, ts);
            // The norm over the coordinates of each (t, k), summed in coordinate order as in memory.
            let w = nt * k_n;
            let mut ss = vec![0.0f32; w];
            for c in 0..n {
                for (s, &v) in ss.iter_mut().zip(&b[c * w..(c + 1) * w]) {
                    *s += v * v;
                }
            }
            let d: Vec<f32> = ss.iter().map(|&s| s.sqrt() + 1e-6).collect();
            b.par_chunks_mut(w).for_each(|row| row.iter_mut().zip(&d).for_each(|(v, &di)| *v /= di));
            gram_cols(&mut g, &b, n * nt, k_n, accum(i == 0));
        }
        symmetric_f64(&g)
    }

    fn reduce(&self, r: Reduce) -> Mat32 {
        let [c_n, t_n, k_n] = self.view.shape();
        match r {
            Reduce::Median => {
                Mat32::stack(self.coord_blocks("median over checkpoints").map(|x| Mat32::reduce(&x, r)).collect(), k_n)
            }
            Reduce::Last => {
                let x = Tensor3 { n_coord: c_n, n_ckpt: 1, n_comp: k_n, data: self.block(&self.all, t_n - 1..t_n) };
                Mat32::reduce(&x, r)
            }
        }
    }

    fn majority_mad(&self) -> Vec<usize> {
        let [c_n, t_n, _] = self.view.shape();
        let mut sums = Vec::with_capacity(c_n * t_n);
        for x in self.coord_blocks("majority_mad sums") {
            for c in 0..x.n_coord {
                sums.extend((0..t_n).map(|t| pairwise_sum_f32(x.row(c, t))));
            }
        }
        majority_mad_of_sums(&sums, c_n, t_n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_core::{NoProgress, StepSelection};
    use proptest::prelude::*;

    /// A filled tensor with values from `f`, written to a temporary file.
    fn file(c_n: usize, t_n: usize, k_n: usize, f: impl Fn(usize) -> f32) -> (tempfile::TempDir, std::path::PathBuf) {
        let t = crate::trajectory::tests::tensor(c_n, t_n, k_n, |c, s, k| f((c * t_n + s) * k_n + k));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.safetensors");
        ccc_core::file::write(&path, &t).unwrap();
        (dir, path)
    }

    fn close(a: &Mat<f64>, b: &Mat<f64>) -> bool {
        let scale = (0..a.nrows())
            .flat_map(|i| (0..a.ncols()).map(move |j| (i, j)))
            .fold(1.0f64, |m, (i, j)| m.max(a[(i, j)].abs()));
        (0..a.nrows()).all(|i| (0..a.ncols()).all(|j| (a[(i, j)] - b[(i, j)]).abs() <= 1e-5 * scale))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Blockwise = in memory: reductions and sums exactly, foldings to float rounding, whatever the block.
        #[test]
        fn blockwise_equals_in_memory(
            c_n in 2usize..9, t_n in 1usize..6, k_n in 1usize..7, block in 1usize..2000, seed in 0u32..1000,
        ) {
            let (_d, path) = file(c_n, t_n, k_n, |i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 100.0);
            let view = MappedTensor::open(&path, &StepSelection::all()).unwrap();
            let b = BlockwisePrep::new(&view, block, &NoProgress).unwrap();
            let t = view.to_tensor().unwrap();
            let x = Tensor3 { n_coord: c_n, n_ckpt: t_n, n_comp: k_n, data: t.mags.clone() };
            let p = crate::prep::prep(&x, false).prep;
            prop_assert_eq!(b.reduce(Reduce::Median), p.reduce(Reduce::Median));
            prop_assert_eq!(b.reduce(Reduce::Last), p.reduce(Reduce::Last));
            prop_assert_eq!(b.majority_mad(), PrepInput::majority_mad(&p));
            prop_assert!(close(&b.fold_coords_abs(), &p.fold_coords_abs()));
            prop_assert!(close(&b.fold_comps_ckpts_l2(), &p.fold_comps_ckpts_l2()));
            prop_assert!(close(&b.fold_comps_coords_l2(None), &p.fold_comps_coords_l2(None)));
            let sub = [c_n - 1, 0];
            prop_assert!(close(&b.fold_comps_coords_l2(Some(&sub)), &p.fold_comps_coords_l2(Some(&sub))));
        }
    }

    #[test]
    fn the_first_non_finite_value_is_named_as_in_memory() {
        let (_d, path) = file(4, 3, 2, |i| if i == 13 || i == 20 { f32::NAN } else { i as f32 });
        let view = MappedTensor::open(&path, &StepSelection::all()).unwrap();
        let e = BlockwisePrep::new(&view, 64, &NoProgress).err().unwrap().to_string();
        let want = view.to_tensor().unwrap().check_finite().unwrap_err().to_string();
        assert_eq!(e, want);
        assert!(e.contains("coordinate 2") || e.contains('2'), "{e}");
    }
}
