//! The weights of a LoRA checkpoint as a [`WeightSource`]: `W0 + ΔW` over the base's stream (merged), or ΔW alone
//! (delta), rows computed from the factors as the sink asks for them — and, for the squared summaries in delta
//! mode, the column straight from the factors without any row (the fast path).

use std::collections::BTreeMap;
use std::sync::Arc;

use ccc_core::Summary;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

use super::weights::Delta;
use crate::column::{with_f32, Column};
use crate::error::SummarizeError;
use crate::plan::Plan;
use crate::source::{StoredRows, TensorSink, WeightSource};
use crate::tensor::{DType, TensorInfo};
use crate::tensor_plan::{CoordAxis, TensorPlan};

/// ΔW alone: each adapted base weight, and zeros for the other weights that feed the same components (so a
/// component keeps its base length: `mlp_in` of a gated MLP whose `gate_proj` alone is adapted).
pub(crate) struct DeltaSource {
    pub(crate) label: String,
    /// f32, in the base's storage order.
    pub(crate) infos: Vec<TensorInfo>,
    pub(crate) deltas: Arc<BTreeMap<String, Delta>>,
    /// Bytes of the adapter file.
    pub(crate) bytes: u64,
}

impl WeightSource for DeltaSource {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.infos
    }

    fn total_bytes(&self) -> u64 {
        self.bytes
    }

    fn stream(&mut self, sink: &mut dyn TensorSink, chunk_bytes: usize) -> Result<(), SummarizeError> {
        let mut order: Vec<(u64, usize)> =
            self.infos.iter().enumerate().filter(|(_, t)| sink.wants(t)).map(|(i, t)| (sink.rank(t), i)).collect();
        order.sort_unstable();
        for (_, i) in order {
            let info = &self.infos[i];
            let (rows, cols) = (info.n_rows(), info.row_len());
            let per = (chunk_bytes / (cols * 4).max(1)).max(1);
            let mut buf = vec![0f32; per.min(rows) * cols];
            let mut first = 0;
            while first < rows {
                let n = per.min(rows - first);
                let out = &mut buf[..n * cols];
                match self.deltas.get(&info.name) {
                    Some(d) => d.rows_into(first, out),
                    None => out.fill(0.0),
                }
                sink.rows(info, first, bytemuck::cast_slice(out))?;
                first += n;
            }
            sink.end_tensor(info)?;
        }
        Ok(())
    }

    fn column(&mut self, plan: &Plan, summary: Summary) -> Option<Result<Column, SummarizeError>> {
        if !matches!(summary, Summary::MeanSq | Summary::L2Sq | Summary::L2) {
            return None;
        }
        Some(Column::from_sums(plan, summary, self.bytes, |asm| {
            for info in &self.infos {
                let Some(tp) = plan.tensors.get(&info.name) else { continue };
                if let (Some(d), TensorPlan::Matrix { axis, segments }) = (self.deltas.get(&info.name), tp) {
                    let ranges: Vec<(usize, usize)> = segments.iter().map(|s| (s.start, s.end)).collect();
                    for (seg, sums) in segments.iter().zip(sums_sq(d, *axis, &ranges)) {
                        for (a, s) in asm.acc(seg.slot).iter_mut().zip(sums) {
                            *a += s;
                        }
                    }
                }
                asm.tensor_read(tp);
            }
            Ok(())
        }))
    }
}

/// Per coordinate, the sum of squares of ΔW = s·L·R over the entries `[start, end)` of the other axis, for each
/// range, from the factors: with the coordinate a column `c`, `x = R[:,c]` and `G = s² L_Sᵀ L_S`; with the
/// coordinate a row `c`, `x = L[c,:]ᵀ` and `G = s² R_S R_Sᵀ` — the value is `xᵀ G x`, an `r × r` Gram matrix per
/// range. As `G` is symmetric, `xᵀ G x = Σ_{a≤b} (2 − δ_ab) G_ab x_a x_b`: one matrix product (faer) of the
/// coordinates' `r(r+1)/2` pair products by the ranges' Gram entries, `n × r(r+1)/2 × m` multiply-adds for `n`
/// coordinates and `m` ranges, instead of `r` per entry of ΔW.
pub(crate) fn sums_sq(d: &Delta, axis: CoordAxis, ranges: &[(usize, usize)]) -> Vec<Vec<f64>> {
    let (k, m) = (d.rank, ranges.len());
    let s2 = d.scale * d.scale;
    // The factors in f64 (a rank-r copy, small beside ΔW), so the quadratic forms are exact to f64.
    let (l64, r64): (Vec<f64>, Vec<f64>) =
        (d.l.iter().map(|&x| x as f64).collect(), d.r.iter().map(|&x| x as f64).collect());
    let l = MatRef::from_row_major_slice(&l64, d.rows, k);
    let r = MatRef::from_row_major_slice(&r64, k, d.cols);
    let pairs: Vec<(usize, usize)> = (0..k).flat_map(|a| (a..k).map(move |b| (a, b))).collect();
    // Per range its Gram matrix, then its entries `(2 − δ_ab) G_ab` as a column of `gt` (pairs × ranges).
    let mut gt = Mat::<f64>::zeros(pairs.len(), m);
    let mut g = Mat::<f64>::zeros(k, k);
    for (i, &(start, end)) in ranges.iter().enumerate() {
        match axis {
            CoordAxis::Cols => {
                let ls = l.subrows(start, end - start);
                matmul(g.as_mut(), Accum::Replace, ls.transpose(), ls, s2, Par::Seq);
            }
            // (Adapters change 2-D weights only: never a stack of experts.)
            CoordAxis::Rows | CoordAxis::StackedRows => {
                let rs = r.subcols(start, end - start);
                matmul(g.as_mut(), Accum::Replace, rs, rs.transpose(), s2, Par::Seq);
            }
        }
        for (p, &(a, b)) in pairs.iter().enumerate() {
            gt[(p, i)] = if a == b { g[(a, a)] } else { 2.0 * g[(a, b)] };
        }
    }
    let (n, x) = match axis {
        CoordAxis::Cols => (d.cols, r.transpose()),
        CoordAxis::Rows | CoordAxis::StackedRows => (d.rows, l),
    };
    // Per coordinate its pair products `x_a x_b` (a ≤ b), a column per pair.
    let mut px = Mat::<f64>::zeros(n, pairs.len());
    for (p, &(a, b)) in pairs.iter().enumerate() {
        let (xa, xb) = (x.col(a), x.col(b));
        for (c, dst) in px.col_mut(p).iter_mut().enumerate() {
            *dst = xa[c] * xb[c];
        }
    }
    let mut v = Mat::<f64>::zeros(n, m);
    matmul(v.as_mut(), Accum::Replace, px.as_ref(), gt.as_ref(), 1.0, Par::Seq);
    (0..m).map(|i| v.col_as_slice(i).to_vec()).collect()
}

/// `W0 + ΔW`: the base's stream, with ΔW added to the rows of the adapted weights (handed on as f32) and, for
/// DoRA, each row scaled to its magnitude. With `delta_only`, the merged rows less W0 (DoRA's ΔW, which needs
/// W0), and zeros for the weights not adapted.
pub(crate) struct MergedSource {
    pub(crate) base: Box<dyn WeightSource>,
    /// The base, whose passes are counted.
    pub(crate) of: Arc<super::Base>,
    pub(crate) label: String,
    /// The base's tensors, the adapted ones as f32.
    pub(crate) infos: Vec<TensorInfo>,
    pub(crate) deltas: Arc<BTreeMap<String, Delta>>,
    pub(crate) bytes: u64,
    /// ΔW = merged − W0 instead of the merged weight (delta mode of a DoRA adapter, whose ΔW needs W0).
    pub(crate) delta_only: bool,
}

impl MergedSource {
    pub(crate) fn new(
        base: Box<dyn WeightSource>,
        of: Arc<super::Base>,
        label: String,
        deltas: Arc<BTreeMap<String, Delta>>,
        adapter_bytes: u64,
    ) -> Self {
        let infos = base
            .tensors()
            .iter()
            .map(|t| {
                let mut t = t.clone();
                if deltas.contains_key(&t.name) {
                    t.dtype = DType::F32;
                }
                t
            })
            .collect();
        let bytes = base.total_bytes() + adapter_bytes;
        MergedSource { base, of, label, infos, deltas, bytes, delta_only: false }
    }
}

impl WeightSource for MergedSource {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.infos
    }

    fn total_bytes(&self) -> u64 {
        self.bytes
    }

    fn stream(&mut self, sink: &mut dyn TensorSink, chunk_bytes: usize) -> Result<(), SummarizeError> {
        self.of.count_pass();
        let mut merge = MergeSink { inner: sink, deltas: &self.deltas, delta_only: self.delta_only, buf: Vec::new() };
        self.base.stream(&mut merge, chunk_bytes)
    }
}

/// Passes the base's rows on, adding ΔW to those of adapted weights.
struct MergeSink<'a> {
    inner: &'a mut dyn TensorSink,
    deltas: &'a BTreeMap<String, Delta>,
    /// Hand on the merged weight less W0 (DoRA's ΔW), and zeros for weights not adapted.
    delta_only: bool,
    buf: Vec<f32>,
}

impl MergeSink<'_> {
    /// The tensor as the sink knows it: adapted weights arrive as f32 (every weight, for DoRA's ΔW).
    fn as_seen(&self, info: &TensorInfo) -> Option<TensorInfo> {
        (self.delta_only || self.deltas.contains_key(&info.name))
            .then(|| TensorInfo { dtype: DType::F32, ..info.clone() })
    }
}

impl TensorSink for MergeSink<'_> {
    fn wants(&self, info: &TensorInfo) -> bool {
        match self.as_seen(info) {
            Some(seen) => self.inner.wants(&seen),
            None => self.inner.wants(info),
        }
    }

    fn rows(&mut self, info: &TensorInfo, first_row: usize, bytes: &[u8]) -> Result<(), SummarizeError> {
        let Some(d) = self.deltas.get(&info.name) else {
            if self.delta_only {
                // A weight the adapter leaves alone: its ΔW is zeros (as f32, as delta mode lists it).
                let seen = TensorInfo { dtype: DType::F32, ..info.clone() };
                let zeros = vec![0f32; bytes.len() / info.dtype.size().max(1)];
                return self.inner.rows(&seen, first_row, bytemuck::cast_slice(&zeros));
            }
            return self.inner.rows(info, first_row, bytes);
        };
        let seen = TensorInfo { dtype: DType::F32, ..info.clone() };
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        with_f32(info.dtype, bytes, |w0| buf.extend_from_slice(w0));
        d.merge_rows_into(first_row, &mut buf);
        if self.delta_only {
            // DoRA's ΔW: the merged rows less W0.
            with_f32(info.dtype, bytes, |w0| buf.iter_mut().zip(w0).for_each(|(w, &x)| *w -= x));
        }
        let r = self.inner.rows(&seen, first_row, bytemuck::cast_slice(&buf));
        self.buf = buf;
        r
    }

    fn rows_at(&mut self, info: &TensorInfo, first_row: usize, rows: StoredRows<'_>) -> Result<(), SummarizeError> {
        if !self.delta_only && !self.deltas.contains_key(&info.name) {
            return self.inner.rows_at(info, first_row, rows);
        }
        let mut raw = vec![0u8; rows.len()];
        rows.read(0, &mut raw)?;
        self.rows(info, first_row, &raw)
    }

    fn rank(&self, info: &TensorInfo) -> u64 {
        match self.as_seen(info) {
            Some(seen) => self.inner.rank(&seen),
            None => self.inner.rank(info),
        }
    }

    fn end_tensor(&mut self, info: &TensorInfo) -> Result<(), SummarizeError> {
        match self.as_seen(info) {
            Some(seen) => self.inner.end_tensor(&seen),
            None => self.inner.end_tensor(info),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// ΔW materialized, then the sums of squares of its segment, the slow way.
    fn direct(d: &Delta, axis: CoordAxis, start: usize, end: usize) -> Vec<f64> {
        let mut w = vec![0f32; d.rows * d.cols];
        d.rows_into(0, &mut w);
        match axis {
            CoordAxis::Cols => {
                (0..d.cols).map(|c| (start..end).map(|i| (w[i * d.cols + c] as f64).powi(2)).sum()).collect()
            }
            CoordAxis::Rows | CoordAxis::StackedRows => {
                (0..d.rows).map(|c| (start..end).map(|j| (w[c * d.cols + j] as f64).powi(2)).sum()).collect()
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The fast path's sums of squares equal those of the materialized ΔW.
        #[test]
        fn gram_sums_match_materialized(rows in 1usize..12, cols in 1usize..12, rank in 1usize..5,
                                        seed in any::<u64>(), scale in 0.1f64..4.0, rows_axis in any::<bool>()) {
            let mut x = seed | 1;
            let mut next = || { x ^= x << 13; x ^= x >> 7; x ^= x << 17; (x % 2001) as f32 / 1000.0 - 1.0 };
            let l = (0..rows * rank).map(|_| next()).collect();
            let r = (0..rank * cols).map(|_| next()).collect();
            let d = Delta { l, r, rows, cols, rank, scale, magnitude: None, full: None };
            let (axis, n) = if rows_axis { (CoordAxis::Rows, cols) } else { (CoordAxis::Cols, rows) };
            let (start, end) = (n / 3, n);
            let fast = sums_sq(&d, axis, &[(0, n), (start, end)]).remove(1);
            let slow = direct(&d, axis, start, end);
            prop_assert_eq!(fast.len(), slow.len());
            for (f, s) in fast.iter().zip(&slow) {
                prop_assert!((f - s).abs() <= 1e-5 * (1.0 + s.abs()), "{} vs {}", f, s);
            }
        }
    }
}
