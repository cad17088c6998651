//! The inner loops of summarizing: one block of weight rows reduced to per-component partial results.
//!
//! A block is whole rows of one tensor. Rows that are entries (the coordinate is the column) are added into
//! accumulator rows, one per run of rows in a component; rows that are coordinates reduce each component's
//! segment of the row to one value ([`reduce_block`]). Weights are converted to `f32` and accumulated in `f64`,
//! except squares of f16 and bf16 weights, which are exact in `f32` and summed there over up to 8 rows (or 8
//! chunks of 16 lanes along a row) first. Every kernel adds in a fixed order, so a block's result does not depend
//! on where its bytes sit in memory; the AVX2 builds (used when the CPU has AVX2, FMA and F16C) give the same bits
//! as the scalar code.

use std::cell::RefCell;
use std::ops::Range;

use ccc_core::Summary;

use crate::tensor::DType;
use crate::tensor_plan::{CoordAxis, Segment, TensorPlan};

thread_local! {
    /// Per-thread buffer that weights are decoded into.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// The reduction of a summary: Σw², Σ|w| or max|w|.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Sq,
    Abs,
    Max,
}

impl Op {
    pub(crate) fn of(s: Summary) -> Op {
        match s {
            Summary::MeanSq | Summary::L2Sq | Summary::L2 => Op::Sq,
            Summary::L1 => Op::Abs,
            Summary::MaxAbs => Op::Max,
        }
    }
    /// Combine two partial results.
    #[inline(always)]
    pub(crate) fn combine(self, a: f64, b: f64) -> f64 {
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
pub(crate) fn with_f32<T>(dtype: DType, bytes: &[u8], f: impl FnOnce(&[f32]) -> T) -> T {
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

/// Σ over a slice with 16 independent lanes (a fixed summation order, whatever the vector width).
#[inline(always)]
fn reduce(op: Op, xs: &[f32]) -> f64 {
    match op {
        Op::Sq => reduce_with(xs, 0.0, |a, x| a + x * x, |a, b| a + b),
        Op::Abs => reduce_with(xs, 0.0, |a, x| a + x.abs(), |a, b| a + b),
        Op::Max => reduce_with(xs, 0.0, |a, x| max_nan(a, x.abs()), max_nan),
    }
}

/// Lanes in [`reduce_with`]: four 4-wide vectors, so that four independent chains of additions are in flight.
const LANES: usize = 16;

/// Lane `i` folds elements `i, i + 16, i + 32, …` with `step`; the lanes are merged as four 4-lane vectors
/// would be — `m[j] = (l[j] ⊕ l[4+j]) ⊕ (l[8+j] ⊕ l[12+j])`, then `(m0 ⊕ m1) ⊕ (m2 ⊕ m3)` — and the tail is folded
/// in order. The AVX2 kernels do exactly this.
#[inline(always)]
fn reduce_with(xs: &[f32], init: f64, step: impl Fn(f64, f64) -> f64, merge: impl Fn(f64, f64) -> f64) -> f64 {
    let mut l = [init; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for ch in &mut chunks {
        for i in 0..LANES {
            l[i] = step(l[i], ch[i] as f64);
        }
    }
    let m: [f64; 4] = std::array::from_fn(|j| merge(merge(l[j], l[4 + j]), merge(l[8 + j], l[12 + j])));
    let mut acc = merge(merge(m[0], m[1]), merge(m[2], m[3]));
    for &x in chunks.remainder() {
        acc = step(acc, x as f64);
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

/// [`accumulate_row`] for four consecutive rows at once: each `acc[c]` is loaded and stored once instead of four
/// times, and the rows are still added in order, so the result is the same as four single-row calls.
#[inline(always)]
fn accumulate_rows4(op: Op, acc: &mut [f64], rows: [&[f32]; 4]) {
    let n = acc.len();
    let [r0, r1, r2, r3] = rows.map(|r| &r[..n]);
    let it = acc.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3);
    match op {
        Op::Sq => it.for_each(|((((a, &x0), &x1), &x2), &x3)| {
            let sq = |x: f32| (x as f64) * (x as f64);
            *a = (((*a + sq(x0)) + sq(x1)) + sq(x2)) + sq(x3);
        }),
        Op::Abs => it.for_each(|((((a, &x0), &x1), &x2), &x3)| {
            let ab = |x: f32| (x as f64).abs();
            *a = (((*a + ab(x0)) + ab(x1)) + ab(x2)) + ab(x3);
        }),
        Op::Max => it.for_each(|((((a, &x0), &x1), &x2), &x3)| {
            let ab = |x: f32| (x as f64).abs();
            *a = max_nan(max_nan(max_nan(max_nan(*a, ab(x0)), ab(x1)), ab(x2)), ab(x3));
        }),
    }
}

/// Call a kernel through its AVX2 build when the CPU has AVX2, FMA and F16C (same operations in the same order, so
/// the same results; only the vector width differs), else through the baseline build.
macro_rules! dispatch {
    ($f:ident($($a:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
                && std::arch::is_x86_feature_detected!("f16c")
            {
                // SAFETY: AVX2, FMA and F16C are present (checked just above).
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

/// Rows decoded at a time (and accumulated together, see [`accumulate_rows4`]).
const GROUP: usize = 4;

/// The rows of a block as `f32` values, in groups of up to [`GROUP`] consecutive rows: `f(first, rows)` with the
/// group's rows row-major. Borrowed when the bytes are aligned f32, else decoded into a small buffer (decoded
/// inside the calling kernel, so the conversion is compiled with the kernel's vector width).
#[inline(always)]
fn for_each_group(dtype: DType, block: &[u8], row_len: usize, mut f: impl FnMut(usize, &[f32])) {
    #[cfg(target_endian = "little")]
    if dtype == DType::F32 {
        // SAFETY: every bit pattern is a valid f32; `align_to` only yields the aligned middle part.
        let (pre, mid, post) = unsafe { block.align_to::<f32>() };
        if pre.is_empty() && post.is_empty() {
            mid.chunks(GROUP * row_len).enumerate().for_each(|(i, rows)| f(i * GROUP, rows));
            return;
        }
    }
    let mut buf = Vec::with_capacity(GROUP * row_len);
    for (i, rows) in block.chunks(GROUP * row_len * dtype.size()).enumerate() {
        decode(dtype, rows, &mut buf);
        f(i * GROUP, &buf);
    }
}

/// A block's rows of `T` that are entries: per run of rows in one segment, `add` folds groups of up to
/// [`F32_GROUP`] consecutive rows (from the run's start) into the run's accumulator row `(slot, acc[c])`.
#[inline(always)]
fn cols_rows<T: Copy>(
    xs: &[T],
    row_len: usize,
    first: usize,
    segments: &[Segment],
    c_n: usize,
    add: impl Fn(&mut [f64], &[&[T]]),
) -> Vec<(usize, Vec<f64>)> {
    let rows: Vec<&[T]> = xs.chunks_exact(row_len).collect();
    let mut out: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let Some(seg) = segment_of(segments, first + i) else {
            i += 1;
            continue;
        };
        if out.last().is_none_or(|(s, _)| *s != seg.slot) {
            out.push((seg.slot, vec![0.0; c_n]));
        }
        let run = (seg.end - (first + i)).min(rows.len() - i);
        if let Some((_, acc)) = out.last_mut() {
            for group in rows[i..i + run].chunks(F32_GROUP) {
                add(acc, group);
            }
        }
        i += run;
    }
    out
}

/// Squares of 16-bit floats are exact in f32 (bf16: 8 significant bits squared fit in 24; f16: 11), so they are
/// summed in f32 over up to this many rows (or, along a row, chunks of [`LANES`] elements) and each partial sum is
/// then added in f64: at most 7 f32 roundings per partial sum, a relative error ≤ 7·2⁻²⁴ ≈ 4.2e-7 of it (all terms
/// are ≥ 0), for a third of the vector work of widening every square to f64. A partial sum that overflows f32
/// (bf16 weights beyond ~1.8e19, as in a diverging run) is done again in f64, so finite weights never give an
/// infinite sum.
const F32_GROUP: usize = 8;

/// A 16-bit float format, stored as `u16`.
trait Half {
    fn to_f32(b: u16) -> f32;
}

/// bfloat16: the top half of an f32.
struct Bf16;
impl Half for Bf16 {
    #[inline(always)]
    fn to_f32(b: u16) -> f32 {
        f32::from_bits((b as u32) << 16)
    }
}

/// IEEE half.
struct F16;
impl Half for F16 {
    #[inline(always)]
    fn to_f32(b: u16) -> f32 {
        half::f16::from_bits(b).to_f32()
    }
}

/// Run `f` on a block's bytes as little-endian `u16`: borrowed when aligned, else copied (the result must not
/// depend on where the bytes happen to sit in memory).
#[inline(always)]
fn with_u16<T>(block: &[u8], f: impl FnOnce(&[u16]) -> T) -> T {
    // SAFETY: every bit pattern is a valid u16; `align_to` only yields the aligned middle part.
    let (pre, mid, post) = unsafe { block.align_to::<u16>() };
    if cfg!(target_endian = "little") && pre.is_empty() && post.is_empty() {
        return f(mid);
    }
    let copy: Vec<u16> = block.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
    f(&copy)
}

/// `acc[c] += Σ x²` over a group of 16-bit float rows, for the columns `cols`: per column, the squares summed in
/// f32 in row order, then added in f64 (see [`F32_GROUP`]).
#[inline(always)]
fn sq_cols_range<H: Half>(acc: &mut [f64], rows: &[&[u16]], cols: Range<usize>) {
    for i in cols {
        let mut s = 0f32;
        for r in rows {
            let x = H::to_f32(r[i]);
            s += x * x;
        }
        acc[i] += if s.is_finite() { s as f64 } else { sq_tail::<H>(0.0, rows.iter().map(|r| r[i])) };
    }
}

/// The columns every row of a group has (and the accumulator row too).
#[inline(always)]
fn common_len(acc: &[f64], rows: &[&[u16]]) -> usize {
    rows.iter().fold(acc.len(), |n, r| n.min(r.len()))
}

/// Σ x² over 16-bit floats in [`LANES`] lanes: each lane sums its squares in f32 over up to [`F32_GROUP`] chunks
/// and adds that to its f64 lane; the lanes are merged as in [`reduce_with`] and the tail is added in f64, in
/// order.
#[inline(always)]
fn sq_reduce<H: Half>(xs: &[u16]) -> f64 {
    let body = xs.len() / LANES * LANES;
    let mut l = [0f64; LANES];
    for g in xs[..body].chunks(LANES * F32_GROUP) {
        sq_lanes_group::<H>(&mut l, g);
    }
    let m: [f64; 4] = std::array::from_fn(|j| (l[j] + l[4 + j]) + (l[8 + j] + l[12 + j]));
    sq_tail::<H>((m[0] + m[1]) + (m[2] + m[3]), xs[body..].iter().copied())
}

/// Add one group of whole [`LANES`]-chunks to the lanes: each lane's squares summed in f32 (in f64 if that
/// overflows).
#[inline(always)]
fn sq_lanes_group<H: Half>(l: &mut [f64; LANES], g: &[u16]) {
    let mut s = [0f32; LANES];
    for ch in g.chunks_exact(LANES) {
        for i in 0..LANES {
            let x = H::to_f32(ch[i]);
            s[i] += x * x;
        }
    }
    for i in 0..LANES {
        l[i] +=
            if s[i].is_finite() { s[i] as f64 } else { sq_tail::<H>(0.0, g.iter().skip(i).step_by(LANES).copied()) };
    }
}

/// `acc` plus the squares of `xs`, in f64, in order.
#[inline(always)]
fn sq_tail<H: Half>(acc: f64, xs: impl Iterator<Item = u16>) -> f64 {
    xs.fold(acc, |a, b| {
        let x = H::to_f32(b) as f64;
        a + x * x
    })
}

/// [`cols_rows`] of a block of 16-bit float rows, squared (see [`F32_GROUP`]).
#[inline(always)]
fn sq_cols_block<H: Half>(
    block: &[u8],
    row_len: usize,
    first: usize,
    segments: &[Segment],
    c_n: usize,
) -> Vec<(usize, Vec<f64>)> {
    with_u16(block, |xs| {
        cols_rows(xs, row_len, first, segments, c_n, |a, r| sq_cols_range::<H>(a, r, 0..common_len(a, r)))
    })
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
    match (op, dtype) {
        (Op::Sq, DType::BF16) => return sq_cols_block::<Bf16>(block, row_len, first, segments, c_n),
        (Op::Sq, DType::F16) => return sq_cols_block::<F16>(block, row_len, first, segments, c_n),
        _ => {}
    }
    let mut out: Vec<(usize, Vec<f64>)> = Vec::new();
    // `inline(always)`: the closure must be inlined into the kernel to be compiled with its vector width.
    for_each_group(
        dtype,
        block,
        row_len,
        #[inline(always)]
        |g, rows| {
            let mut split: [&[f32]; GROUP] = [&[]; GROUP];
            let mut n = 0;
            for (slot, row) in split.iter_mut().zip(rows.chunks_exact(row_len)) {
                *slot = row;
                n += 1;
            }
            let rows = &split[..n];
            let mut j = 0;
            while j < rows.len() {
                let Some(seg) = segment_of(segments, first + g + j) else {
                    j += 1;
                    continue;
                };
                if out.last().is_none_or(|(s, _)| *s != seg.slot) {
                    out.push((seg.slot, vec![0.0; c_n]));
                }
                let Some((_, acc)) = out.last_mut() else { return };
                // Rows of this group still in the same segment.
                let run = (seg.end - (first + g + j)).min(rows.len() - j);
                if run == GROUP {
                    accumulate_rows4(op, acc, [rows[j], rows[j + 1], rows[j + 2], rows[j + 3]]);
                } else {
                    rows[j..j + run].iter().for_each(|row| accumulate_row(op, acc, row));
                }
                j += run;
            }
        },
    );
    out
}

/// One block of rows that are coordinates: per row, one reduced value per segment.
#[inline(always)]
fn rows_block(op: Op, dtype: DType, block: &[u8], row_len: usize, segments: &[Segment]) -> Vec<f64> {
    match (op, dtype) {
        (Op::Sq, DType::BF16) => {
            return with_u16(block, |xs| u16_segment_sums(xs, row_len, segments, sq_reduce::<Bf16>))
        }
        (Op::Sq, DType::F16) => return with_u16(block, |xs| u16_segment_sums(xs, row_len, segments, sq_reduce::<F16>)),
        _ => {}
    }
    rows_block_with(dtype, block, row_len, segments, |xs| reduce(op, xs))
}

/// [`segment_sums`] of a block of `u16` rows into a new vector.
#[inline(always)]
fn u16_segment_sums(xs: &[u16], row_len: usize, segments: &[Segment], reduce: impl Fn(&[u16]) -> f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(xs.len() / row_len.max(1) * segments.len());
    segment_sums(xs, row_len, segments, &mut out, reduce);
    out
}

/// [`rows_block`] with the reduction given (so the AVX2 build can pass its explicit vector version).
#[inline(always)]
fn rows_block_with(
    dtype: DType,
    block: &[u8],
    row_len: usize,
    segments: &[Segment],
    reduce: impl Fn(&[f32]) -> f64,
) -> Vec<f64> {
    let n_rows = block.len() / (row_len * dtype.size()).max(1);
    let mut out = Vec::with_capacity(n_rows * segments.len());
    for_each_group(
        dtype,
        block,
        row_len,
        #[inline(always)]
        |_, rows| segment_sums(rows, row_len, segments, &mut out, &reduce),
    );
    out
}

/// For each row of `rows` (row-major, rows of `row_len`), `reduce` of each segment, appended to `out`.
#[inline(always)]
fn segment_sums<T>(rows: &[T], row_len: usize, segments: &[Segment], out: &mut Vec<f64>, reduce: impl Fn(&[T]) -> f64) {
    for row in rows.chunks_exact(row_len) {
        for s in segments {
            out.push(reduce(&row[s.start.min(row_len)..s.end.min(row_len)]));
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2;

fn segment_of(segments: &[Segment], entry: usize) -> Option<&Segment> {
    let i = segments.partition_point(|s| s.end <= entry);
    segments.get(i).filter(|s| s.start <= entry)
}

/// One block's reduction, before it is combined into the accumulators.
pub(crate) enum BlockOut {
    /// Rows are entries: per run of rows in one segment, that segment's accumulated row `(slot, acc[c])`.
    Cols(Vec<(usize, Vec<f64>)>),
    /// Rows are coordinates: per row, one value per segment.
    Rows(Vec<f64>),
}

/// Reduce one block of whole rows of a matrix tensor, `first` being the tensor row it starts at.
pub(crate) fn reduce_block(
    op: Op,
    dtype: DType,
    tp: &TensorPlan,
    row_len: usize,
    first: usize,
    block: &[u8],
    c_n: usize,
) -> BlockOut {
    match tp {
        TensorPlan::Matrix { axis: CoordAxis::Cols, segments } => {
            BlockOut::Cols(dispatch!(cols_block(op, dtype, block, row_len, first, segments, c_n)))
        }
        TensorPlan::Matrix { axis: CoordAxis::Rows, segments } => {
            BlockOut::Rows(dispatch!(rows_block(op, dtype, block, row_len, segments)))
        }
        TensorPlan::Matrix { axis: CoordAxis::StackedRows, .. } => {
            // One value per row (each row wholly one matrix's); the combine finds its matrix and coordinate.
            let whole = [Segment { start: 0, end: row_len, slot: 0 }];
            BlockOut::Rows(dispatch!(rows_block(op, dtype, block, row_len, &whole)))
        }
        TensorPlan::Norm { .. } => BlockOut::Rows(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Sums of bf16 and f16 squares, partly in f32 (see [`F32_GROUP`]), stay within the stated bound of the exact sum, along
    /// rows and down columns, for values spread over many binades.
    #[test]
    fn bf16_square_sums_are_within_the_bound() {
        let mut x = 0x2545f4914f6cdd1du64;
        let vals: Vec<u16> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * f32::powi(2.0, (x % 31) as i32 - 15);
                half::bf16::from_f32(v).to_bits()
            })
            .collect();
        let exact = |xs: &[u16]| xs.iter().map(|&b| (Bf16::to_f32(b) as f64).powi(2)).sum::<f64>();
        for len in [5usize, 16, 130, 1000, 4096] {
            let got = sq_reduce::<Bf16>(&vals[..len]);
            let want = exact(&vals[..len]);
            assert!((got - want).abs() <= 4.2e-7 * want, "row of {len}: {got} vs {want}");
        }
        // The same for f16 values (squares exact in f32 too).
        let halves: Vec<u16> = vals.iter().map(|&b| half::f16::from_f32(Bf16::to_f32(b)).to_bits()).collect();
        let got = sq_reduce::<F16>(&halves);
        let want = halves.iter().map(|&b| (F16::to_f32(b) as f64).powi(2)).sum::<f64>();
        assert!((got - want).abs() <= 4.2e-7 * want, "f16 row: {got} vs {want}");
        // Weights whose squares overflow f32 (a diverging run) still give finite sums, exact in f64.
        let mut big = vals[..300].to_vec();
        big[37] = half::bf16::from_f32(3.0e30).to_bits();
        let want = exact(&big);
        assert!(want.is_finite() && (sq_reduce::<Bf16>(&big) - want).abs() <= 4.2e-7 * want);
        big = vals[..64 * F32_GROUP].to_vec();
        big[3 * 64 + 5] = half::bf16::from_f32(-2.0e25).to_bits();
        let rows: Vec<&[u16]> = big.chunks_exact(64).collect();
        let mut acc = vec![0f64; 64];
        sq_cols_range::<Bf16>(&mut acc, &rows, 0..64);
        for (c, &got) in acc.iter().enumerate() {
            let col: Vec<u16> = rows.iter().map(|r| r[c]).collect();
            let want = exact(&col);
            assert!((got - want).abs() <= 4.2e-7 * want, "column {c}: {got} vs {want}");
        }
    }

    /// The AVX2 kernels give the scalar kernels' results bit for bit, for every op and dtype, row lengths that
    /// are and are not multiples of 8, segment runs of every length, and misaligned blocks.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_kernels_equal_the_scalar_ones_bit_for_bit() {
        if !(std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c"))
        {
            return;
        }
        let mut x = 0x9e3779b97f4a7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Magnitudes over 2^±20, so that sums round and the order of additions shows, and now and then 2^70,
            // whose square overflows f32 (the bf16 kernels' f64 fallback).
            let scale = f32::powi(2.0, if x % 53 == 0 { 70 } else { (x % 41) as i32 - 20 });
            ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale
        };
        let seg = |start, end, slot| Segment { start, end, slot };
        // (2100 and 4128: rows longer than one tile of the half-float column kernels.)
        for row_len in [1usize, 7, 8, 15, 16, 37, 96, 1000, 2100, 4128] {
            let n_rows = 29;
            let vals: Vec<f32> = (0..row_len * n_rows).map(|_| next()).collect();
            for dtype in [DType::F32, DType::BF16, DType::F16] {
                // The values as `u64` words (so 8-aligned), and again one byte into a buffer (misaligned).
                let mut bytes: Vec<u8> = Vec::new();
                for &v in &vals {
                    match dtype {
                        DType::F32 => bytes.extend_from_slice(&v.to_le_bytes()),
                        DType::BF16 => bytes.extend_from_slice(&half::bf16::from_f32(v).to_le_bytes()),
                        _ => bytes.extend_from_slice(&half::f16::from_f32(v).to_le_bytes()),
                    }
                }
                let words: Vec<u64> = bytes
                    .chunks(8)
                    .map(|c| {
                        let mut w = [0u8; 8];
                        w[..c.len()].copy_from_slice(c);
                        u64::from_le_bytes(w)
                    })
                    .collect();
                // SAFETY: `words` holds at least `bytes.len()` initialized bytes.
                let aligned = unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), bytes.len()) };
                let mut shifted = vec![0u8];
                shifted.extend_from_slice(&bytes);
                for block in [aligned, &shifted[1..]] {
                    for op in [Op::Sq, Op::Abs, Op::Max] {
                        let rows_segs = [seg(0, row_len.div_ceil(3), 0), seg(row_len.div_ceil(3), row_len, 1)];
                        let cols_segs = [seg(3, 5, 0), seg(5, 18, 1), seg(20, 40, 2)];
                        // SAFETY: AVX2 is present (checked above).
                        let (a, b) = unsafe {
                            (
                                avx2::rows_block(op, dtype, block, row_len, &rows_segs),
                                avx2::cols_block(op, dtype, block, row_len, 2, &cols_segs, row_len),
                            )
                        };
                        // (Any NaN is as good as another: vector and scalar units need not agree on its payload.)
                        let bits = |v: &[f64]| {
                            v.iter().map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() }).collect::<Vec<_>>()
                        };
                        let want = rows_block(op, dtype, block, row_len, &rows_segs);
                        assert_eq!(bits(&a), bits(&want), "rows {op:?} {dtype} {row_len}");
                        let want = cols_block(op, dtype, block, row_len, 2, &cols_segs, row_len);
                        assert_eq!(b.len(), want.len());
                        for ((sa, va), (sb, vb)) in b.iter().zip(&want) {
                            assert_eq!((sa, bits(va)), (sb, bits(vb)), "cols {op:?} {dtype} {row_len}");
                        }
                    }
                }
            }
        }
    }
}
