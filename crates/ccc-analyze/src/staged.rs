//! The exact reading in bounded memory (docs/analysis.md §13): `prep` is never held whole. Each quantity the
//! pipelines read is built from the values when it is asked for — its whole input matrix (e.g. `|prep|`, or `prep`
//! normalized over the checkpoints) in one buffer, filled a block of coordinates at a time, then folded by the
//! same single GEMM as [`Tensor3`]'s implementation — and the buffer is freed before the next one. So the results
//! are bit-identical to holding `prep` in memory, and peak memory is one matrix of the values' size, not the
//! tensor, `prep` and a normalized copy at once.
//!
//! The values come from [`Values`]: a memory-mapped file (pages dropped after each block) or a tensor already in
//! memory. `prep` is recomputed from them on each pass (a pointwise function once its column constants are known),
//! which costs a few passes of arithmetic over the values: far less than a second copy of them.

use std::ops::Range;

use ccc_core::CccTensor;
use faer::Mat;
use rayon::prelude::*;

use crate::classify::PrepInput;
use crate::error::AnalyzeError;
use crate::fold;
use crate::matrix::Mat32;
use crate::pipeline::Reduce;
use crate::prep::{column_stats, ColumnStats, Tensor3};
use crate::robust::pairwise_sum_f32;
use crate::view::{blocks, MappedTensor};

/// Where the values of the analyzed checkpoints come from.
pub(crate) trait Values: Sync {
    /// `[C, T, K]` of the analyzed checkpoints.
    fn shape(&self) -> [usize; 3];
    /// The block `coords × ts × K` (row-major) into `out`, whose length is that.
    fn read_block(&self, coords: &[usize], ts: Range<usize>, out: &mut [f32]);
    /// Drop what the reads mapped into the process (nothing for values in memory).
    fn release(&self) {}
}

impl Values for MappedTensor {
    fn shape(&self) -> [usize; 3] {
        MappedTensor::shape(self)
    }
    fn read_block(&self, coords: &[usize], ts: Range<usize>, out: &mut [f32]) {
        MappedTensor::read_block(self, coords, ts, out)
    }
    fn release(&self) {
        MappedTensor::release(self)
    }
}

impl Values for CccTensor {
    fn shape(&self) -> [usize; 3] {
        CccTensor::shape(self)
    }
    fn read_block(&self, coords: &[usize], ts: Range<usize>, out: &mut [f32]) {
        let (t_n, k) = (self.n_ckpt(), self.n_comp());
        let nt = ts.len();
        assert_eq!(out.len(), coords.len() * nt * k, "block buffer of the wrong size");
        if out.is_empty() {
            return;
        }
        out.par_chunks_mut(nt * k).zip(coords.par_iter()).for_each(|(dst, &c)| {
            let start = (c * t_n + ts.start) * k;
            dst.copy_from_slice(&self.mags[start..start + nt * k]);
        });
    }
}

/// The first non-finite value in `[c][t][k]` order: `(c, t, k, value)`.
pub(crate) type NonFiniteAt = (usize, usize, usize, f32);

/// The constants of `prep` of every `(t, k)` column (`stats[t * K + k]`), in one pass over the checkpoints (in
/// parallel), or the first non-finite value. Each column's constants are computed as [`crate::prep::prep`] does.
pub(crate) fn prep_stats(
    values: &dyn Values,
    progress: &dyn ccc_core::Progress,
) -> Result<Vec<ColumnStats>, NonFiniteAt> {
    let [c_n, t_n, k_n] = values.shape();
    let all: Vec<usize> = (0..c_n).collect();
    progress.start("prep", t_n as u64, "checkpoints");
    let per_t: Vec<Result<Vec<ColumnStats>, (usize, usize, f32)>> = (0..t_n)
        .into_par_iter()
        .map(|t| {
            let mut col = vec![0.0f32; c_n * k_n];
            values.read_block(&all, t..t + 1, &mut col);
            values.release();
            progress.advance(1);
            if let Some(i) = col.iter().position(|v| !v.is_finite()) {
                return Err((i / k_n, i % k_n, col[i]));
            }
            Ok(column_stats(&col, c_n, k_n))
        })
        .collect();
    progress.finish();
    let mut stats = Vec::with_capacity(t_n * k_n);
    let mut first: Option<NonFiniteAt> = None;
    for (t, r) in per_t.into_iter().enumerate() {
        match r {
            Ok(s) => stats.extend(s),
            Err((c, k, v)) => {
                if first.is_none_or(|(c0, t0, k0, _)| (c, t, k) < (c0, t0, k0)) {
                    first = Some((c, t, k, v));
                }
            }
        }
    }
    match first {
        Some(at) => Err(at),
        None => Ok(stats),
    }
}

/// [`prep_stats`], the first non-finite value named by its coordinate, step and component (as
/// [`CccTensor::check_finite`] names it).
pub(crate) fn checked_stats(
    values: &dyn Values,
    steps: &[i64],
    meta: &ccc_core::CccMeta,
    progress: &dyn ccc_core::Progress,
) -> Result<Vec<ColumnStats>, AnalyzeError> {
    prep_stats(values, progress).map_err(|(coord, t, k, value)| {
        AnalyzeError::Core(ccc_core::CoreError::NonFinite {
            coord,
            step: steps[t],
            component: meta.components[k].name(),
            value,
        })
    })
}

/// `prep` of the block `rows` (`n × ts.len() × K`, as read from the values) in place: [`ColumnStats::apply`] of
/// each value, computed by [`apply_row`] on the constants laid out by field (so the loop vectorizes).
pub(crate) fn apply_stats(stats: &[ColumnStats], k_n: usize, ts: Range<usize>, rows: &mut [f32]) {
    let nt = ts.len();
    let cols = &stats[ts.start * k_n..ts.end * k_n];
    let field = |f: fn(&ColumnStats) -> f32| cols.iter().map(f).collect::<Vec<f32>>();
    let (d_max, median, d_mad, d_abs) =
        (field(|s| s.d_max), field(|s| s.median), field(|s| s.d_mad), field(|s| s.d_abs));
    rows.par_chunks_mut((nt * k_n).max(1)).for_each(|coord| {
        apply_row(coord, &d_max[..coord.len()], &median[..coord.len()], &d_mad[..coord.len()], &d_abs[..coord.len()]);
    });
}

/// [`ColumnStats::apply`] of `v[i]` with the constants `(d_max[i], median[i], d_mad[i], d_abs[i])`, bit for bit
/// (the same `f32` operations, `z⁴` as `(z²)²` in `f64` — `z²` is exact, so it is `powi(4)`'s one rounding), with
/// selects instead of branches.
#[inline]
pub(crate) fn apply_row(v: &mut [f32], d_max: &[f32], median: &[f32], d_mad: &[f32], d_abs: &[f32]) {
    let n = v.len().min(d_max.len()).min(median.len()).min(d_mad.len()).min(d_abs.len());
    let (v, d_max, median, d_mad, d_abs) = (&mut v[..n], &d_max[..n], &median[..n], &d_mad[..n], &d_abs[..n]);
    for i in 0..n {
        let z = ((v[i] / d_max[i] - median[i]) / d_mad[i]).clamp(-6.0, 6.0);
        let z64 = z as f64;
        let z2 = z64 * z64;
        let p = (z2 * z2) as f32;
        let a = p / d_abs[i];
        // `s = ±p` is zero exactly when `p` is; then `apply` gives +0.
        let signed = if z > 0.0 { a } else { -a };
        v[i] = if p > 0.0 { signed } else { 0.0 };
    }
}

/// `prep` of some values, each quantity built whole when asked for (see the module docs).
pub(crate) struct StagedPrep<'a> {
    values: &'a dyn Values,
    /// `stats[t * K + k]`.
    stats: Vec<ColumnStats>,
    /// Bytes of values read (and, for a mapped file, kept mapped) at a time.
    block_bytes: usize,
    all: Vec<usize>,
    progress: &'a dyn ccc_core::Progress,
    /// The buffer of the last matrix built, kept for the next: its pages are faulted in once, not per folding.
    /// Freed when the foldings of all coordinates are done.
    scratch: std::sync::Mutex<Vec<f32>>,
}

impl<'a> StagedPrep<'a> {
    /// With the constants of `prep` already computed ([`prep_stats`]).
    pub(crate) fn new(
        values: &'a dyn Values,
        stats: Vec<ColumnStats>,
        block_bytes: usize,
        progress: &'a dyn ccc_core::Progress,
    ) -> StagedPrep<'a> {
        let all = (0..values.shape()[0]).collect();
        StagedPrep { values, stats, block_bytes: block_bytes.max(1), all, progress, scratch: Default::default() }
    }

    /// `prep` of the coordinates `coords` (all checkpoints), whole, with `each` applied to each block of whole
    /// coordinates as it is filled. Reported as the pass `phase`.
    fn whole(&self, phase: &str, coords: &[usize], each: &(dyn Fn(&mut [f32]) + Sync)) -> Tensor3 {
        let [_, t_n, k_n] = self.values.shape();
        let w = t_n * k_n;
        let mut data = std::mem::take(&mut *self.scratch.lock().unwrap_or_else(|e| e.into_inner()));
        data.clear();
        data.resize(coords.len() * w, 0.0);
        let size = (self.block_bytes / (w * 4).max(1)).max(1);
        self.progress.start(phase, coords.len().div_ceil(size) as u64, "blocks");
        for cs in blocks(coords.len(), size) {
            let dst = &mut data[cs.start * w..cs.end * w];
            self.values.read_block(&coords[cs], 0..t_n, dst);
            self.values.release();
            apply_stats(&self.stats, k_n, 0..t_n, dst);
            each(dst);
            self.progress.advance(1);
        }
        self.progress.finish();
        Tensor3 { n_coord: coords.len(), n_ckpt: t_n, n_comp: k_n, data }
    }

    /// Keep `x`'s buffer for the next [`StagedPrep::whole`].
    fn give_back(&self, x: Tensor3) {
        *self.scratch.lock().unwrap_or_else(|e| e.into_inner()) = x.data;
    }

    /// Blocks of whole coordinates of `prep`, as in-memory tensors; reported as the pass `phase`.
    fn coord_blocks(&self, phase: &str) -> impl Iterator<Item = Tensor3> + '_ {
        let [c_n, t_n, k_n] = self.values.shape();
        let size = (self.block_bytes / (t_n * k_n * 4).max(1)).clamp(1, c_n.max(1));
        self.progress.start(phase, c_n.div_ceil(size) as u64, "blocks");
        blocks(c_n, size).map(move |cs| {
            let last = cs.end == c_n;
            let mut data = vec![0.0f32; cs.len() * t_n * k_n];
            self.values.read_block(&self.all[cs.clone()], 0..t_n, &mut data);
            self.values.release();
            apply_stats(&self.stats, k_n, 0..t_n, &mut data);
            self.progress.advance(1);
            if last {
                self.progress.finish();
            }
            Tensor3 { n_coord: cs.len(), n_ckpt: t_n, n_comp: k_n, data }
        })
    }
}

impl PrepInput for StagedPrep<'_> {
    fn n_coord(&self) -> usize {
        self.values.shape()[0]
    }

    fn fold_coords_abs(&self) -> Mat<f64> {
        let x = self.whole("folding coordinates", &self.all, &|b| fold::abs_in_place(b));
        let m = fold::fold_coords(&x);
        self.give_back(x);
        m
    }

    fn fold_comps_ckpts_l2(&self) -> Mat<f64> {
        let [_, t_n, k_n] = self.values.shape();
        let x = self.whole("folding components over checkpoints", &self.all, &|b| {
            fold::normalize_over_ckpts_in_place(b, t_n, k_n)
        });
        let m = fold::fold_comps(&x);
        self.give_back(x);
        m
    }

    fn fold_comps_coords_l2(&self, coords: Option<&[usize]>) -> Mat<f64> {
        let mut x = self.whole("folding components over coordinates", coords.unwrap_or(&self.all), &|_| {});
        fold::normalize_over_coords_in_place(&mut x);
        let m = fold::fold_comps(&x);
        self.give_back(x);
        m
    }

    fn reduce(&self, r: Reduce) -> Mat32 {
        let [c_n, t_n, k_n] = self.values.shape();
        match r {
            Reduce::Median => {
                Mat32::stack(self.coord_blocks("median over checkpoints").map(|x| Mat32::reduce(&x, r)).collect(), k_n)
            }
            Reduce::Last => {
                let mut data = vec![0.0f32; c_n * k_n];
                self.values.read_block(&self.all, t_n - 1..t_n, &mut data);
                self.values.release();
                apply_stats(&self.stats, k_n, t_n - 1..t_n, &mut data);
                Mat32::reduce(&Tensor3 { n_coord: c_n, n_ckpt: 1, n_comp: k_n, data }, r)
            }
        }
    }

    fn foldings_of_all_done(&self) {
        // The next matrices (of selected coordinates) are small: don't hold the whole one through the clusterings.
        *self.scratch.lock().unwrap_or_else(|e| e.into_inner()) = Vec::new();
    }

    fn majority_mad(&self) -> Vec<usize> {
        let [c_n, t_n, _] = self.values.shape();
        let mut sums = Vec::with_capacity(c_n * t_n);
        for x in self.coord_blocks("majority_mad sums") {
            for c in 0..x.n_coord {
                sums.extend((0..t_n).map(|t| pairwise_sum_f32(x.row(c, t))));
            }
        }
        crate::classify::majority_mad_of_sums(&sums, c_n, t_n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_core::NoProgress;
    use proptest::prelude::*;

    /// The crate's test tensor, with values from `f` of the flat index.
    fn tensor(c_n: usize, t_n: usize, k_n: usize, f: impl Fn(usize) -> f32) -> CccTensor {
        crate::trajectory::tests::tensor(c_n, t_n, k_n, |c, s, k| f((c * t_n + s) * k_n + k))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Staged = `prep` held whole, bit for bit, whatever the block size and the source of the values.
        #[test]
        fn staged_equals_prep_in_memory_exactly(
            c_n in 2usize..12, t_n in 1usize..6, k_n in 1usize..7, block in 1usize..3000, seed in 0u32..1000,
        ) {
            let t = tensor(c_n, t_n, k_n, |i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 100.0);
            let x = Tensor3 { n_coord: c_n, n_ckpt: t_n, n_comp: k_n, data: t.mags.clone() };
            let p = crate::prep::prep(&x, false).prep;
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.safetensors");
            ccc_core::file::write(&path, &t).unwrap();
            let view = MappedTensor::open(&path, &ccc_core::StepSelection::all()).unwrap();
            for values in [&t as &dyn Values, &view] {
                let s = StagedPrep::new(values, prep_stats(values, &NoProgress).unwrap(), block, &NoProgress);
                prop_assert_eq!(s.reduce(Reduce::Median), p.reduce(Reduce::Median));
                prop_assert_eq!(s.reduce(Reduce::Last), p.reduce(Reduce::Last));
                prop_assert_eq!(s.majority_mad(), PrepInput::majority_mad(&p));
                prop_assert!(s.fold_coords_abs() == p.fold_coords_abs());
                prop_assert!(s.fold_comps_ckpts_l2() == p.fold_comps_ckpts_l2());
                prop_assert!(s.fold_comps_coords_l2(None) == p.fold_comps_coords_l2(None));
                let sub = [c_n - 1, 0];
                prop_assert!(s.fold_comps_coords_l2(Some(&sub)) == p.fold_comps_coords_l2(Some(&sub)));
            }
        }
    }

    proptest! {
        /// The vectorizable `prep` of a row is [`ColumnStats::apply`], bit for bit: signs of zero, underflowing
        /// `z⁴`, clipped scores.
        #[test]
        fn apply_row_is_apply(
            vals in proptest::collection::vec(prop_oneof![
                -1e3f32..1e3f32, Just(0.0f32), Just(-0.0f32), 1e-30f32..1e-20f32, -1e-20f32..-1e-30f32, Just(0.5f32)
            ], 1..64),
            d_max in 0.1f32..100.0, median in -0.5f32..1.0, d_mad in 1e-6f32..10.0, d_abs in 1e-4f32..1e3,
        ) {
            let st = ColumnStats { d_max, median, d_mad, d_abs };
            let n = vals.len();
            let mut got = vals.clone();
            apply_row(&mut got, &vec![d_max; n], &vec![median; n], &vec![d_mad; n], &vec![d_abs; n]);
            for (g, &v) in got.iter().zip(&vals) {
                prop_assert_eq!(g.to_bits(), st.apply(v).to_bits(), "{}", v);
            }
        }
    }

    #[test]
    fn apply_row_at_the_edges() {
        // `v / d_max` equal to the median: z = 0; z tiny: z⁴ underflows to 0 with either sign.
        let st = ColumnStats { d_max: 1.0, median: 0.5, d_mad: 1.0, d_abs: 3.0 };
        for v in [0.5f32, 0.5 + 1e-7, 0.5 - 1e-7, 1e-12, -1e-12, 100.0, -100.0, 0.0, -0.0] {
            let mut got = [v];
            apply_row(&mut got, &[1.0], &[0.5], &[1.0], &[3.0]);
            assert_eq!(got[0].to_bits(), st.apply(v).to_bits(), "{v}");
        }
        let tiny = ColumnStats { d_max: 1.0, median: 0.0, d_mad: 1.0, d_abs: 1e30 };
        for v in [1e-3f32, -1e-3, 1e-10, -1e-10] {
            let mut got = [v];
            apply_row(&mut got, &[1.0], &[0.0], &[1.0], &[1e30]);
            assert_eq!(got[0].to_bits(), tiny.apply(v).to_bits(), "{v}");
        }
    }

    #[test]
    fn the_first_non_finite_value_is_found() {
        let t = tensor(4, 3, 2, |i| if i == 13 || i == 20 { f32::NAN } else { i as f32 });
        // Index 13 = coordinate 2, checkpoint 0, component 1.
        let at = prep_stats(&t, &NoProgress).unwrap_err();
        assert_eq!((at.0, at.1, at.2), (2, 0, 1));
    }
}
