//! Summarizing one checkpoint: a [`TensorSink`] that reduces the weight rows chunk by chunk into one column of
//! the CCC tensor (both modes at once).
//!
//! Per component and coordinate it keeps one `f64` accumulator (Σw², Σ|w| or max|w| depending on the summary);
//! weights are converted to `f32` (from f16/bf16/f64) and accumulated in `f64`. Chunks are split into row blocks
//! of fixed size processed in parallel; block results are combined in block order, so the result does not depend
//! on the number of threads.

use std::cell::RefCell;

use ccc_core::{Progress, Summary};
use rayon::prelude::*;

use crate::error::SummarizeError;
use crate::plan::{CoordAxis, Plan, Segment, TensorPlan};
use crate::source::{DType, TensorInfo, TensorSink};

/// Target input bytes per parallel block.
const BLOCK_BYTES: usize = 256 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Sq,
    Abs,
    Max,
}

impl Op {
    fn of(s: Summary) -> Op {
        match s {
            Summary::MeanSq | Summary::L2Sq | Summary::L2 => Op::Sq,
            Summary::L1 => Op::Abs,
            Summary::MaxAbs => Op::Max,
        }
    }
    #[inline(always)]
    fn combine(self, a: f64, b: f64) -> f64 {
        match self {
            Op::Sq | Op::Abs => a + b,
            Op::Max => max_nan(a, b),
        }
    }
}

/// Maximum that propagates NaN (so a NaN weight is never hidden).
#[inline(always)]
fn max_nan(m: f64, a: f64) -> f64 {
    if a > m || a.is_nan() {
        a
    } else {
        m
    }
}

/// One column of the CCC tensor, in both modes.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Full mode, `n_coord × n_comp` row-major.
    pub full: Vec<f32>,
    /// Compact mode, `n_coord × n_compact` row-major.
    pub compact: Vec<f32>,
    /// Tensors that held NaN or Inf (only with `allow_nonfinite`; otherwise that is an error).
    pub nonfinite: Vec<String>,
    /// Bytes of weights summarized.
    pub bytes: u64,
}

/// The sink that summarizes one checkpoint according to a [`Plan`].
pub struct ColumnSink<'a> {
    plan: &'a Plan,
    summary: Summary,
    op: Op,
    allow_nonfinite: bool,
    label: String,
    /// `slot * n_coord + c`.
    acc: Vec<f64>,
    bad: Vec<bool>,
    nonfinite: Vec<String>,
    norm: Vec<f32>,
    bytes: u64,
    progress: Option<&'a dyn Progress>,
}

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl<'a> ColumnSink<'a> {
    /// A sink for one checkpoint; `label` names it in errors; `progress` (if any) is advanced by bytes consumed.
    pub fn new(
        plan: &'a Plan,
        summary: Summary,
        allow_nonfinite: bool,
        label: impl Into<String>,
        progress: Option<&'a dyn Progress>,
    ) -> Self {
        let n = plan.components.len() * plan.n_coord();
        let init = 0.0;
        ColumnSink {
            plan,
            summary,
            op: Op::of(summary),
            allow_nonfinite,
            label: label.into(),
            acc: vec![init; n],
            bad: vec![false; plan.components.len()],
            nonfinite: Vec::new(),
            norm: Vec::new(),
            bytes: 0,
            progress,
        }
    }

    /// The finished column (call after the source has streamed every tensor).
    pub fn finish(self) -> Column {
        let c_n = self.plan.n_coord();
        let k_n = self.plan.components.len();
        let kc_n = self.plan.compact.len();
        let mut full = vec![0f32; c_n * k_n];
        let mut compact = vec![0f32; c_n * kc_n];
        let mut sums = vec![0f64; c_n * kc_n];
        for k in 0..k_n {
            let is_norm = self.plan.components[k].kind.is_norm();
            let len = self.plan.lengths[k] as usize;
            let kc = self.plan.compact_of[k];
            for c in 0..c_n {
                let a = self.acc[k * c_n + c];
                let v = if is_norm {
                    a
                } else {
                    match self.op {
                        Op::Sq => self.summary.finish(a, 0.0, 0.0, len),
                        Op::Abs => self.summary.finish(0.0, a, 0.0, len),
                        Op::Max => self.summary.finish(0.0, 0.0, a, len),
                    }
                };
                full[c * k_n + k] = v as f32;
                sums[c * kc_n + kc] += v;
            }
        }
        for (dst, s) in compact.iter_mut().zip(&sums) {
            *dst = *s as f32;
        }
        Column { full, compact, nonfinite: self.nonfinite, bytes: self.bytes }
    }

    fn check_finite(&mut self, info: &TensorInfo, slots: impl Iterator<Item = usize>) -> Result<(), SummarizeError> {
        let c_n = self.plan.n_coord();
        let mut hit = false;
        for s in slots {
            if self.bad[s] {
                continue;
            }
            if self.acc[s * c_n..(s + 1) * c_n].iter().any(|v| !v.is_finite()) {
                self.bad[s] = true;
                hit = true;
            }
        }
        if hit {
            if !self.allow_nonfinite {
                return Err(SummarizeError::NonFinite { path: self.label.clone().into(), tensor: info.name.clone() });
            }
            self.nonfinite.push(info.name.clone());
        }
        Ok(())
    }
}

/// Decode little-endian `dtype` values into `out` (cleared first).
#[inline(always)]
fn decode(dtype: DType, bytes: &[u8], out: &mut Vec<f32>) {
    out.clear();
    #[cfg(target_endian = "little")]
    if matches!(dtype, DType::BF16 | DType::F16) {
        // SAFETY: every bit pattern is a valid u16; `align_to` only yields the aligned middle part.
        let (pre, mid, post) = unsafe { bytes.align_to::<u16>() };
        if pre.is_empty() && post.is_empty() {
            if dtype == DType::BF16 {
                out.extend(mid.iter().map(|&b| f32::from_bits((b as u32) << 16)));
            } else {
                use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};
                out.resize(mid.len(), 0.0);
                let halves: &[half::f16] = mid.reinterpret_cast();
                halves.convert_to_f32_slice(out);
            }
            return;
        }
    }
    match dtype {
        DType::F32 => out.extend(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        DType::BF16 => {
            out.extend(bytes.chunks_exact(2).map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16)))
        }
        DType::F16 => {
            out.extend(bytes.chunks_exact(2).map(|b| half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32()))
        }
        DType::F64 => out.extend(
            bytes.chunks_exact(8).map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32),
        ),
        _ => {}
    }
}

/// Run `f` on `bytes` as `f32` values: borrowed when the bytes are aligned f32, else decoded into scratch.
#[inline(always)]
fn with_f32<T>(dtype: DType, bytes: &[u8], f: impl FnOnce(&[f32]) -> T) -> T {
    #[cfg(target_endian = "little")]
    if dtype == DType::F32 {
        // SAFETY: every bit pattern is a valid f32; `align_to` only yields the aligned middle part.
        let (pre, mid, post) = unsafe { bytes.align_to::<f32>() };
        if pre.is_empty() && post.is_empty() {
            return f(mid);
        }
    }
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        decode(dtype, bytes, &mut s);
        f(&s)
    })
}

/// Σ over a slice with 8 independent lanes (vectorizable, and a fixed summation order).
#[inline(always)]
fn reduce(op: Op, xs: &[f32]) -> f64 {
    let mut lanes = [0f64; 8];
    let mut chunks = xs.chunks_exact(8);
    for ch in &mut chunks {
        for i in 0..8 {
            let x = ch[i] as f64;
            lanes[i] = match op {
                Op::Sq => lanes[i] + x * x,
                Op::Abs => lanes[i] + x.abs(),
                Op::Max => max_nan(lanes[i], x.abs()),
            };
        }
    }
    let mut acc = match op {
        Op::Max => lanes.iter().fold(0.0, |m, &a| max_nan(m, a)),
        _ => ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7])),
    };
    for &x in chunks.remainder() {
        let x = x as f64;
        acc = match op {
            Op::Sq => acc + x * x,
            Op::Abs => acc + x.abs(),
            Op::Max => max_nan(acc, x.abs()),
        };
    }
    acc
}

/// `acc[c] ⊕= f(row[c])` for one row.
#[inline(always)]
fn accumulate_row(op: Op, acc: &mut [f64], row: &[f32]) {
    match op {
        Op::Sq => acc.iter_mut().zip(row).for_each(|(a, &x)| *a += (x as f64) * (x as f64)),
        Op::Abs => acc.iter_mut().zip(row).for_each(|(a, &x)| *a += (x as f64).abs()),
        Op::Max => acc.iter_mut().zip(row).for_each(|(a, &x)| *a = max_nan(*a, (x as f64).abs())),
    }
}

/// Call a kernel through its AVX2 build when the CPU has AVX2 (same operations in the same order, so the same
/// results; only the vector width differs), else through the baseline build.
macro_rules! dispatch {
    ($f:ident($($a:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is present (checked just above).
                unsafe { avx2::$f($($a),*) }
            } else {
                $f($($a),*)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $f($($a),*)
        }
    }};
}

/// One block of rows that are entries (coordinate = column): per run of rows in one segment, the accumulated
/// row `(slot, acc[c])`.
#[inline(always)]
fn cols_block(
    op: Op,
    dtype: DType,
    block: &[u8],
    row_len: usize,
    first: usize,
    segments: &[Segment],
    c_n: usize,
) -> Vec<(usize, Vec<f64>)> {
    with_f32(dtype, block, |xs| {
        let mut out: Vec<(usize, Vec<f64>)> = Vec::new();
        for (i, row) in xs.chunks_exact(row_len).enumerate() {
            let Some(seg) = segment_of(segments, first + i) else { continue };
            if out.last().is_none_or(|(s, _)| *s != seg.slot) {
                out.push((seg.slot, vec![0.0; c_n]));
            }
            if let Some((_, acc)) = out.last_mut() {
                accumulate_row(op, acc, row);
            }
        }
        out
    })
}

/// One block of rows that are coordinates: per row, one reduced value per segment.
#[inline(always)]
fn rows_block(op: Op, dtype: DType, block: &[u8], row_len: usize, segments: &[Segment]) -> Vec<f64> {
    with_f32(dtype, block, |xs| {
        let mut out = Vec::with_capacity(xs.len() / row_len.max(1) * segments.len());
        for row in xs.chunks_exact(row_len) {
            for s in segments {
                out.push(reduce(op, &row[s.start.min(row_len)..s.end.min(row_len)]));
            }
        }
        out
    })
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn cols_block(
        op: Op,
        dtype: DType,
        block: &[u8],
        row_len: usize,
        first: usize,
        segments: &[Segment],
        c_n: usize,
    ) -> Vec<(usize, Vec<f64>)> {
        super::cols_block(op, dtype, block, row_len, first, segments, c_n)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn rows_block(
        op: Op,
        dtype: DType,
        block: &[u8],
        row_len: usize,
        segments: &[Segment],
    ) -> Vec<f64> {
        super::rows_block(op, dtype, block, row_len, segments)
    }
}

fn segment_of(segments: &[Segment], entry: usize) -> Option<&Segment> {
    let i = segments.partition_point(|s| s.end <= entry);
    segments.get(i).filter(|s| s.start <= entry)
}

impl TensorSink for ColumnSink<'_> {
    fn wants(&self, info: &TensorInfo) -> bool {
        self.plan.tensors.contains_key(&info.name)
    }

    fn rows(&mut self, info: &TensorInfo, first_row: usize, bytes: &[u8]) -> Result<(), SummarizeError> {
        self.bytes += bytes.len() as u64;
        if let Some(p) = self.progress {
            p.advance(bytes.len() as u64);
        }
        let Some(tp) = self.plan.tensors.get(&info.name) else { return Ok(()) };
        let c_n = self.plan.n_coord();
        let elem = info.dtype.size();
        let row_len = info.row_len();
        let row_bytes = row_len * elem;
        if row_bytes == 0 || bytes.len() % row_bytes != 0 {
            return Err(SummarizeError::Shape(format!(
                "{}: tensor `{}`: a chunk of {} bytes is not whole rows of {row_bytes} bytes",
                self.label,
                info.name,
                bytes.len()
            )));
        }
        let n_rows = bytes.len() / row_bytes;
        let op = self.op;
        match tp {
            TensorPlan::Norm { .. } => {
                with_f32(info.dtype, bytes, |xs| {
                    self.norm.clear();
                    self.norm.extend_from_slice(xs);
                });
            }
            TensorPlan::Matrix { axis: CoordAxis::Cols, segments } => {
                // Rows are entries; each adds into its segment's accumulator row.
                let block_rows = (BLOCK_BYTES / row_bytes).max(1);
                let parts: Vec<Vec<(usize, Vec<f64>)>> = bytes
                    .par_chunks(block_rows * row_bytes)
                    .enumerate()
                    .map(|(bi, block)| {
                        let first = first_row + bi * block_rows;
                        dispatch!(cols_block(op, info.dtype, block, row_len, first, segments, c_n))
                    })
                    .collect();
                for (slot, part) in parts.into_iter().flatten() {
                    let acc = &mut self.acc[slot * c_n..(slot + 1) * c_n];
                    acc.iter_mut().zip(&part).for_each(|(a, &b)| *a = op.combine(*a, b));
                }
            }
            TensorPlan::Matrix { axis: CoordAxis::Rows, segments } => {
                // Rows are coordinates; each row's segments reduce to one value per component.
                let block_rows = (BLOCK_BYTES / row_bytes).max(1);
                let n_seg = segments.len();
                let parts: Vec<Vec<f64>> = bytes
                    .par_chunks(block_rows * row_bytes)
                    .map(|block| dispatch!(rows_block(op, info.dtype, block, row_len, segments)))
                    .collect();
                let mut c = first_row;
                for v in parts.iter().flat_map(|p| p.chunks_exact(n_seg)) {
                    if c >= c_n {
                        break;
                    }
                    for (s, &x) in segments.iter().zip(v) {
                        let a = &mut self.acc[s.slot * c_n + c];
                        *a = op.combine(*a, x);
                    }
                    c += 1;
                }
                debug_assert_eq!(c, (first_row + n_rows).min(c_n));
            }
        }
        Ok(())
    }

    fn end_tensor(&mut self, info: &TensorInfo) -> Result<(), SummarizeError> {
        let Some(tp) = self.plan.tensors.get(&info.name) else { return Ok(()) };
        match tp {
            TensorPlan::Norm { slot } => {
                let c_n = self.plan.n_coord();
                let slot = *slot;
                if self.norm.len() != c_n {
                    return Err(SummarizeError::Shape(format!(
                        "{}: norm tensor `{}` delivered {} values, expected {c_n}",
                        self.label,
                        info.name,
                        self.norm.len()
                    )));
                }
                let med = median(&self.norm);
                for (c, &w) in self.norm.iter().enumerate() {
                    let d = w as f64 - med;
                    self.acc[slot * c_n + c] = d * d;
                }
                self.check_finite(info, std::iter::once(slot))
            }
            TensorPlan::Matrix { segments, .. } => {
                let slots: Vec<usize> = segments.iter().map(|s| s.slot).collect();
                self.check_finite(info, slots.into_iter())
            }
        }
    }
}

/// NumPy's median: the middle value, or the mean of the two middle values for an even count (in f64).
/// NaN values make the median NaN.
pub fn median(xs: &[f32]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    if xs.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    let mut v: Vec<f32> = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[1.0, f32::NAN]).is_nan());
    }

    #[test]
    fn reduce_matches_naive() {
        let xs: Vec<f32> = (0..37).map(|i| (i as f32 - 18.0) * 0.37).collect();
        let naive: f64 = xs.iter().map(|&x| (x as f64) * (x as f64)).sum();
        assert!((reduce(Op::Sq, &xs) - naive).abs() < 1e-9 * naive);
        let naive_abs: f64 = xs.iter().map(|&x| (x as f64).abs()).sum();
        assert!((reduce(Op::Abs, &xs) - naive_abs).abs() < 1e-9 * naive_abs);
        assert_eq!(reduce(Op::Max, &xs), xs.iter().map(|x| x.abs() as f64).fold(0.0, f64::max));
        let mut nan = xs.clone();
        nan[3] = f32::NAN;
        assert!(reduce(Op::Max, &nan).is_nan());
    }

    #[test]
    fn decodes_half_types() {
        let vals = [1.5f32, -2.25, 0.0, 65504.0];
        let f16: Vec<u8> = vals.iter().flat_map(|&v| half::f16::from_f32(v).to_le_bytes()).collect();
        let bf16: Vec<u8> = vals.iter().flat_map(|&v| half::bf16::from_f32(v).to_le_bytes()).collect();
        let mut out = Vec::new();
        decode(DType::F16, &f16, &mut out);
        assert_eq!(out, vals);
        decode(DType::BF16, &bf16, &mut out);
        assert_eq!(out, vals.map(|v| half::bf16::from_f32(v).to_f32()));
        // Unaligned input takes the byte-wise path and gives the same values.
        for (dtype, bytes) in [(DType::F16, &f16), (DType::BF16, &bf16)] {
            let mut shifted = vec![0u8];
            shifted.extend_from_slice(bytes);
            let mut a = Vec::new();
            decode(dtype, &shifted[1..], &mut a);
            decode(dtype, bytes, &mut out);
            assert_eq!(a, out);
        }
    }
}
