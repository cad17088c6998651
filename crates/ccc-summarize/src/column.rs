//! Summarizing one checkpoint: a [`TensorSink`] that reduces the weight rows chunk by chunk into one column of
//! the CCC tensor (both modes at once).
//!
//! Per component in flight and coordinate it keeps one `f64` accumulator (Σw², Σ|w| or max|w| depending on the
//! summary), finished into the column as soon as the component's last tensor is read (the private `assemble` module);
//! weights are converted to `f32` (from f16/bf16/f64) and accumulated in `f64` — except squares of f16 and bf16
//! weights, which are exact in `f32` and summed there over up to 8 rows before being added in `f64` (a relative
//! error ≤ 4.2e-7). Chunks are split into row blocks of fixed size processed in parallel; block results are combined in
//! block order, so the result does not depend on the number of threads. Blocks of mapped chunks are handed to the
//! pool without waiting (see [`ColumnSink::in_scope`]): the pool works across tensor boundaries while the thread
//! driving the source combines results in order.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use ccc_core::{Progress, Summary};
use rayon::prelude::*;

use crate::assemble::Assembler;
use crate::buffer::ZeroBuf;
use crate::error::SummarizeError;
use crate::plan::{CoordAxis, Plan, Segment, TensorPlan};
use crate::read_at::Mapped;
use crate::source::{DType, StoredRows, TensorInfo, TensorSink};

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
    pub full: ZeroBuf<f32>,
    /// Compact mode, `n_coord × n_compact` row-major.
    pub compact: ZeroBuf<f32>,
    /// Tensors that held NaN or Inf (only with `allow_nonfinite`; otherwise that is an error).
    pub nonfinite: Vec<String>,
    /// Bytes of weights summarized.
    pub bytes: u64,
}

/// The sink that summarizes one checkpoint according to a [`Plan`].
///
/// Built with [`ColumnSink::new`], it reduces each chunk before returning from the call that hands it over.
/// Given a pool scope ([`ColumnSink::in_scope`]), it hands the blocks of mapped chunks to the pool and returns at
/// once, combining block results in order as they come; [`ColumnSink::finish`] waits for the rest.
pub struct ColumnSink<'a, 's> {
    plan: &'a Plan,
    op: Op,
    allow_nonfinite: bool,
    label: String,
    /// The per-component accumulators and the column they are finished into.
    asm: Assembler<'a>,
    bad: Vec<bool>,
    nonfinite: Vec<String>,
    norm: Vec<f32>,
    /// Rows of the current tensor's incomplete block (from row `pending_first`), see [`ColumnSink::rows`].
    pending: Vec<u8>,
    pending_first: usize,
    bytes: u64,
    progress: Option<&'a dyn Progress>,
    /// The pool scope that blocks are handed to (without one, every chunk is reduced in its call).
    scope: Option<&'s rayon::ScopeFifo<'a>>,
    /// Work handed to the pool and not combined yet, oldest first; its mapped bytes.
    queue: VecDeque<Queued<'a>>,
    ahead: usize,
}

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// Per-thread buffer that blocks of stored rows are read into (`u64` words, so the bytes are 8-aligned and
    /// f32 weights can be used in place).
    static READ_BUF: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Where the bytes of a run of rows are: in memory, or still in a random-access source.
#[derive(Clone, Copy)]
enum RowBytes<'b> {
    Mem(&'b [u8]),
    Stored(StoredRows<'b>),
}

impl RowBytes<'_> {
    fn len(&self) -> usize {
        match self {
            RowBytes::Mem(b) => b.len(),
            RowBytes::Stored(s) => s.len(),
        }
    }

    /// The `len` bytes from `at`.
    fn sub(&self, at: usize, len: usize) -> RowBytes<'_> {
        match self {
            RowBytes::Mem(b) => RowBytes::Mem(&b[at..at + len]),
            RowBytes::Stored(s) => RowBytes::Stored(s.sub(at, len)),
        }
    }

    /// Run `f` on the bytes in `range`, reading them into this thread's buffer first if they are stored.
    fn with<T>(&self, range: Range<usize>, f: impl FnOnce(&[u8]) -> T) -> Result<T, SummarizeError> {
        match self {
            RowBytes::Mem(b) => Ok(f(&b[range])),
            RowBytes::Stored(s) => READ_BUF.with(|buf| {
                let mut buf = buf.borrow_mut();
                let len = range.len();
                if buf.len() * 8 < len {
                    buf.resize(len.div_ceil(8), 0);
                }
                // SAFETY: the buffer holds at least `len` bytes of initialized `u64`s, and every byte pattern is
                // a valid `u8`; the byte view lives no longer than the borrow of the buffer.
                let bytes = unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), len) };
                s.read(range.start, bytes)?;
                Ok(f(bytes))
            }),
        }
    }
}

impl<'a, 's> ColumnSink<'a, 's> {
    /// A sink for one checkpoint; `label` names it in errors; `progress` (if any) is advanced by bytes consumed.
    pub fn new(
        plan: &'a Plan,
        summary: Summary,
        allow_nonfinite: bool,
        label: impl Into<String>,
        progress: Option<&'a dyn Progress>,
    ) -> Self {
        ColumnSink {
            plan,
            op: Op::of(summary),
            allow_nonfinite,
            label: label.into(),
            asm: Assembler::new(plan, summary),
            bad: vec![false; plan.components.len()],
            nonfinite: Vec::new(),
            norm: Vec::new(),
            pending: Vec::new(),
            pending_first: 0,
            bytes: 0,
            progress,
            scope: None,
            queue: VecDeque::new(),
            ahead: 0,
        }
    }

    /// Hand the blocks of mapped chunks to the tasks of `scope` (see the type's docs).
    pub fn in_scope(mut self, scope: &'s rayon::ScopeFifo<'a>) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The finished column (call after the source has streamed every tensor): the work still in flight is
    /// combined first, so errors found at the end of a tensor (e.g. NaN weights) may surface here.
    pub fn finish(mut self) -> Result<Column, SummarizeError> {
        self.drain(true)?;
        let (full, compact) = self.asm.finish();
        Ok(Column { full, compact, nonfinite: self.nonfinite, bytes: self.bytes })
    }

    fn check_finite(&mut self, info: &TensorInfo, slots: impl Iterator<Item = usize>) -> Result<(), SummarizeError> {
        let mut hit = false;
        for s in slots {
            if self.bad[s] {
                continue;
            }
            if self.asm.acc_if_any(s).is_some_and(|acc| acc.iter().any(|v| !v.is_finite())) {
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
mod avx2 {
    use super::*;
    use std::arch::x86_64::*;

    /// Explicit AVX2 + FMA kernels over rows of one element type. `$reduce` folds a slice in [`LANES`] lanes (four
    /// 4-wide f64 vectors, merged as [`reduce_with`] does); `$cols` folds several rows into one accumulator row,
    /// rows in order. `$load8` turns the 8 elements at `$p` into two vectors of 4 f64, `$scalar` one element `$x`
    /// into f64. Same operations in the same order as the scalar code, so bit-identical results: the fold `f` is
    /// `a + x·x` as one FMA, which is exact because the square of an f32 widened to f64 is exact.
    macro_rules! kernels {
        ($reduce:ident, $cols:ident, $t:ty, |$p:ident| $load8:expr, |$x:ident| $scalar:expr) => {
            /// 8 elements at `$p` as two vectors of 4 f64.
            #[target_feature(enable = "avx2,fma,f16c")]
            #[inline]
            unsafe fn load8($p: *const $t) -> (__m256d, __m256d) {
                // SAFETY: the caller guarantees 8 readable elements at the pointer.
                unsafe { $load8 }
            }

            #[target_feature(enable = "avx2,fma,f16c")]
            #[inline]
            pub(super) unsafe fn $reduce(
                xs: &[$t],
                f: impl Fn(__m256d, __m256d) -> __m256d,
                f1: impl Fn(f64, f64) -> f64,
            ) -> f64 {
                let mut a = [_mm256_setzero_pd(); 4];
                let mut chunks = xs.chunks_exact(LANES);
                for ch in &mut chunks {
                    // SAFETY: `ch` holds exactly 16 elements.
                    let ((x0, x1), (x2, x3)) = unsafe { (load8(ch.as_ptr()), load8(ch.as_ptr().add(8))) };
                    a = [f(a[0], x0), f(a[1], x1), f(a[2], x2), f(a[3], x3)];
                }
                let m = _mm256_add_pd(_mm256_add_pd(a[0], a[1]), _mm256_add_pd(a[2], a[3]));
                let mut l = [0f64; 4];
                // SAFETY: 4 f64 (unaligned store).
                unsafe { _mm256_storeu_pd(l.as_mut_ptr(), m) };
                let mut acc = (l[0] + l[1]) + (l[2] + l[3]);
                for &$x in chunks.remainder() {
                    acc = f1(acc, $scalar);
                }
                acc
            }

            #[target_feature(enable = "avx2,fma,f16c")]
            #[inline]
            pub(super) unsafe fn $cols(
                acc: &mut [f64],
                rows: &[&[$t]],
                f: impl Fn(__m256d, __m256d) -> __m256d,
                f1: impl Fn(f64, f64) -> f64,
            ) {
                let n = rows.iter().fold(acc.len(), |n, r| n.min(r.len()));
                // Eight independent accumulators (32 columns) per pass, so that the additions of successive rows,
                // which must stay in order, overlap across columns.
                let mut c = 0;
                while c + 32 <= n {
                    // SAFETY: `c + 32 <= n`, and `n` is at most the length of `acc` and of every row.
                    unsafe {
                        let pa = acc.as_mut_ptr().add(c);
                        let mut a: [__m256d; 8] = std::array::from_fn(|k| _mm256_loadu_pd(pa.add(4 * k)));
                        for r in rows {
                            let q = r.as_ptr().add(c);
                            for k in 0..4 {
                                let (x0, x1) = load8(q.add(8 * k));
                                a[2 * k] = f(a[2 * k], x0);
                                a[2 * k + 1] = f(a[2 * k + 1], x1);
                            }
                        }
                        for (k, v) in a.iter().enumerate() {
                            _mm256_storeu_pd(pa.add(4 * k), *v);
                        }
                    }
                    c += 32;
                }
                while c + 8 <= n {
                    // SAFETY: as above, with 8 columns.
                    unsafe {
                        let pa = acc.as_mut_ptr().add(c);
                        let (mut a0, mut a1) = (_mm256_loadu_pd(pa), _mm256_loadu_pd(pa.add(4)));
                        for r in rows {
                            let (x0, x1) = load8(r.as_ptr().add(c));
                            a0 = f(a0, x0);
                            a1 = f(a1, x1);
                        }
                        _mm256_storeu_pd(pa, a0);
                        _mm256_storeu_pd(pa.add(4), a1);
                    }
                    c += 8;
                }
                for (i, a) in acc.iter_mut().enumerate().take(n).skip(c) {
                    for r in rows {
                        let $x = r[i];
                        *a = f1(*a, $scalar);
                    }
                }
            }
        };
    }

    mod f32_kernels {
        use super::*;
        kernels!(
            reduce,
            cols,
            f32,
            |p| (_mm256_cvtps_pd(_mm_loadu_ps(p)), _mm256_cvtps_pd(_mm_loadu_ps(p.add(4)))),
            |x| x as f64
        );
    }
    mod bf16_kernels {
        use super::*;
        kernels!(
            reduce,
            cols,
            u16,
            // bf16 is the top half of an f32: widen the 8 u16 to u32 and shift them up.
            |p| {
                let v = _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(_mm_loadu_si128(p.cast()))));
                (_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v)))
            },
            |x| f32::from_bits((x as u32) << 16) as f64
        );
    }
    use bf16_kernels::{cols as cols_bf16, reduce as reduce_bf16};

    /// 16 bf16 at `p` as f32, without shuffles: `even` holds elements 0, 2, …, 14 (each u16 shifted into the top
    /// half of its 32-bit lane), `odd` elements 1, 3, …, 15 (the top halves kept in place).
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn bf16x16(p: *const u16) -> (__m256, __m256) {
        // SAFETY: the caller guarantees 16 readable elements at `p`.
        let v = unsafe { _mm256_loadu_si256(p.cast()) };
        let top = _mm256_set1_epi32(0xFFFF_0000u32 as i32);
        (_mm256_castsi256_ps(_mm256_slli_epi32::<16>(v)), _mm256_castsi256_ps(_mm256_and_si256(v, top)))
    }

    /// [`bf16x16`]'s `(even, odd)` as four vectors of 4 f64, in element order.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn widen_bf16(even: __m256, odd: __m256) -> [__m256d; 4] {
        // Interleaved back within 128-bit halves: `lo` holds elements 0–3 and 8–11, `hi` 4–7 and 12–15.
        let (lo, hi) = (_mm256_unpacklo_ps(even, odd), _mm256_unpackhi_ps(even, odd));
        [
            _mm256_cvtps_pd(_mm256_castps256_ps128(lo)),
            _mm256_cvtps_pd(_mm256_castps256_ps128(hi)),
            _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(lo)),
            _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(hi)),
        ]
    }

    /// 16 f16 at `p` as f32 (F16C): `lo` holds elements 0–7, `hi` 8–15.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn f16x16(p: *const u16) -> (__m256, __m256) {
        // SAFETY: the caller guarantees 16 readable elements at `p`.
        unsafe { (_mm256_cvtph_ps(_mm_loadu_si128(p.cast())), _mm256_cvtph_ps(_mm_loadu_si128(p.add(8).cast()))) }
    }

    /// [`f16x16`]'s `(lo, hi)` as four vectors of 4 f64, in element order.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn widen_f16(lo: __m256, hi: __m256) -> [__m256d; 4] {
        [
            _mm256_cvtps_pd(_mm256_castps256_ps128(lo)),
            _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(lo)),
            _mm256_cvtps_pd(_mm256_castps256_ps128(hi)),
            _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(hi)),
        ]
    }

    /// `s + x·x` in f32, rounded twice as the scalar code is.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn sq32(s: __m256, x: __m256) -> __m256 {
        _mm256_add_ps(s, _mm256_mul_ps(x, x))
    }

    /// `p[0..16] += w`.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn add16(p: *mut f64, w: [__m256d; 4]) {
        for (k, v) in w.into_iter().enumerate() {
            // SAFETY: the caller guarantees 16 writable f64 at `p`.
            unsafe {
                let q = p.add(4 * k);
                _mm256_storeu_pd(q, _mm256_add_pd(_mm256_loadu_pd(q), v));
            }
        }
    }

    /// Whether no lane of these sums of squares is +inf. (A NaN lane need not be caught: the scalar code would
    /// redo it in f64 and get NaN again.)
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn no_inf(a: __m256, b: __m256) -> bool {
        let m = _mm256_max_ps(a, b);
        _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(m, _mm256_set1_ps(f32::INFINITY))) == 0
    }

    /// Columns of 16-bit float rows summed at a time by the `$cols` kernels (their f32 sums: 8 KiB).
    const COL_TILE: usize = 2048;

    /// Elements ahead of the `$cols` kernels' reads that they ask the cache for: mapped weights come from
    /// memory, and the hardware prefetcher alone leaves the loads waiting.
    const PREFETCH_AHEAD: usize = 512;

    /// Ask for the cache line at `p`.
    #[inline(always)]
    fn prefetch<T>(p: *const T) {
        // SAFETY: a prefetch is a hint with no architectural effect; it does not fault, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
    }

    /// Squares of a 16-bit float format `$h`, loaded 16 at a time by `$load` and widened by `$widen`:
    /// `$cols` is [`super::sq_cols_range`] over all columns, 32 (then 16) at a time, and `$reduce` is
    /// [`super::sq_reduce`] with the 16 lanes in two f32 vectors (four f64 ones). A pass or group whose f32 sums
    /// overflow is done by the scalar code, which redoes the overflowing sums in f64.
    macro_rules! half_kernels {
        ($cols:ident, $reduce:ident, $h:ty, $load:ident, $widen:ident) => {
            #[target_feature(enable = "avx2,fma,f16c")]
            #[inline]
            fn $cols(acc: &mut [f64], rows: &[&[u16]]) {
                let n = common_len(acc, rows);
                let body = n / 16 * 16;
                // Columns in tiles whose f32 sums stay in L1; each row's part of a tile is read front to back
                // (one stream the prefetcher follows, rather than a few bytes of each row in turn).
                // Not zeroed: the first row's squares are stored, not added (`0 + x²` is `x²`, bit for bit).
                let mut sums = [const { std::mem::MaybeUninit::<f32>::uninit() }; COL_TILE];
                for t0 in (0..body).step_by(COL_TILE) {
                    let len = body.min(t0 + COL_TILE) - t0;
                    let q0 = sums.as_mut_ptr().cast::<f32>();
                    for (ri, r) in rows.iter().enumerate() {
                        let p = r.as_ptr().wrapping_add(t0);
                        for c in (0..len).step_by(16) {
                            prefetch(p.wrapping_add(c + PREFETCH_AHEAD));
                            // SAFETY: `t0 + c + 16 <= body <= n`, at most the length of every row, and
                            // `c + 16 <= len <= COL_TILE`; the sums read were written by the first row.
                            unsafe {
                                let (a, b) = $load(p.add(c));
                                let q = q0.add(c);
                                if ri == 0 {
                                    _mm256_storeu_ps(q, _mm256_mul_ps(a, a));
                                    _mm256_storeu_ps(q.add(8), _mm256_mul_ps(b, b));
                                } else {
                                    _mm256_storeu_ps(q, sq32(_mm256_loadu_ps(q), a));
                                    _mm256_storeu_ps(q.add(8), sq32(_mm256_loadu_ps(q.add(8)), b));
                                }
                            }
                        }
                    }
                    if rows.is_empty() {
                        break;
                    }
                    // SAFETY: the first row wrote all `len` sums.
                    let s = unsafe { std::slice::from_raw_parts(q0.cast_const(), len) };
                    // Into the f64 accumulators 32 (then 16) columns at a time, each pass that overflowed f32
                    // done again by the scalar code.
                    let mut c = 0;
                    while c < s.len() {
                        let w = if c + 32 <= s.len() { 32 } else { 16 };
                        // SAFETY: `c + w <= s.len()`, and `t0 + c + w <= body <= acc.len()`.
                        unsafe {
                            let q = s.as_ptr().add(c);
                            let (a, b) = (_mm256_loadu_ps(q), _mm256_loadu_ps(q.add(8)));
                            let (d, e) =
                                if w == 32 { (_mm256_loadu_ps(q.add(16)), _mm256_loadu_ps(q.add(24))) } else { (a, b) };
                            if no_inf(_mm256_max_ps(a, b), _mm256_max_ps(d, e)) {
                                add16(acc.as_mut_ptr().add(t0 + c), $widen(a, b));
                                if w == 32 {
                                    add16(acc.as_mut_ptr().add(t0 + c + 16), $widen(d, e));
                                }
                            } else {
                                sq_cols_range::<$h>(acc, rows, t0 + c..t0 + c + w);
                            }
                        }
                        c += w;
                    }
                }
                sq_cols_range::<$h>(acc, rows, body..n);
            }

            #[target_feature(enable = "avx2,fma,f16c")]
            #[inline]
            fn $reduce(xs: &[u16]) -> f64 {
                let body = xs.len() / LANES * LANES;
                let mut l = [_mm256_setzero_pd(); 4];
                for g in xs[..body].chunks(LANES * F32_GROUP) {
                    let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
                    for ch in g.chunks_exact(LANES) {
                        // SAFETY: `ch` holds exactly 16 elements.
                        let (a, b) = unsafe { $load(ch.as_ptr()) };
                        (lo, hi) = (sq32(lo, a), sq32(hi, b));
                    }
                    if no_inf(lo, hi) {
                        let w = $widen(lo, hi);
                        l = std::array::from_fn(|j| _mm256_add_pd(l[j], w[j]));
                    } else {
                        let mut lanes = [0f64; LANES];
                        for (j, v) in l.iter().enumerate() {
                            // SAFETY: 4 f64 at lane 4j of 16 (unaligned store).
                            unsafe { _mm256_storeu_pd(lanes.as_mut_ptr().add(4 * j), *v) };
                        }
                        sq_lanes_group::<$h>(&mut lanes, g);
                        // SAFETY: as above (unaligned loads).
                        l = std::array::from_fn(|j| unsafe { _mm256_loadu_pd(lanes.as_ptr().add(4 * j)) });
                    }
                }
                let m = _mm256_add_pd(_mm256_add_pd(l[0], l[1]), _mm256_add_pd(l[2], l[3]));
                let mut v = [0f64; 4];
                // SAFETY: 4 f64 (unaligned store).
                unsafe { _mm256_storeu_pd(v.as_mut_ptr(), m) };
                sq_tail::<$h>((v[0] + v[1]) + (v[2] + v[3]), xs[body..].iter().copied())
            }
        };
    }
    half_kernels!(sq_cols_bf16, sq_reduce_bf16, Bf16, bf16x16, widen_bf16);
    half_kernels!(sq_cols_f16, sq_reduce_f16, F16, f16x16, widen_f16);
    use f32_kernels::{cols as cols_f32, reduce as reduce_f32};

    /// `a + x²` (one FMA: exact product, one rounding, as the scalar `a + x * x`) and `a + |x|` (clearing the sign
    /// bit is exactly `f64::abs`).
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn sq(a: __m256d, x: __m256d) -> __m256d {
        _mm256_fmadd_pd(x, x, a)
    }
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    fn abs(a: __m256d, x: __m256d) -> __m256d {
        _mm256_add_pd(a, _mm256_and_pd(x, _mm256_castsi256_pd(_mm256_set1_epi64x(i64::MAX))))
    }
    fn sq1(a: f64, x: f64) -> f64 {
        a + x * x
    }
    fn abs1(a: f64, x: f64) -> f64 {
        a + x.abs()
    }

    /// The elements of `bytes` as `T` when they are aligned for it.
    fn as_elems<T>(bytes: &[u8]) -> Option<&[T]>
    where
        T: Copy,
    {
        // SAFETY: only used with f32 and u16, for which every bit pattern is valid; `align_to` only yields the
        // aligned middle part.
        let (pre, mid, post) = unsafe { bytes.align_to::<T>() };
        (pre.is_empty() && post.is_empty()).then_some(mid)
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn cols_block(
        op: Op,
        dtype: DType,
        block: &[u8],
        row_len: usize,
        first: usize,
        segments: &[Segment],
        c_n: usize,
    ) -> Vec<(usize, Vec<f64>)> {
        // The rows as elements of `$t` if they are aligned for it, added by `$cols` with `$f` (vector) / `$f1`.
        macro_rules! via {
            ($t:ty, $cols:ident, $f:expr, $f1:expr) => {
                if let Some(xs) = as_elems::<$t>(block) {
                    // SAFETY: AVX2 and FMA are enabled in this function.
                    return cols_rows(xs, row_len, first, segments, c_n, |a, r| unsafe { $cols(a, r, $f, $f1) });
                }
            };
        }
        match (op, dtype) {
            (Op::Sq, DType::F32) => via!(f32, cols_f32, |a, x| sq(a, x), sq1),
            (Op::Abs, DType::F32) => via!(f32, cols_f32, |a, x| abs(a, x), abs1),
            (Op::Sq, DType::BF16) => {
                return with_u16(block, |xs| cols_rows(xs, row_len, first, segments, c_n, |a, r| sq_cols_bf16(a, r)));
            }
            (Op::Sq, DType::F16) => {
                return with_u16(block, |xs| cols_rows(xs, row_len, first, segments, c_n, |a, r| sq_cols_f16(a, r)));
            }
            (Op::Abs, DType::BF16) => via!(u16, cols_bf16, |a, x| abs(a, x), abs1),
            _ => {}
        }
        super::cols_block(op, dtype, block, row_len, first, segments, c_n)
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn rows_block(
        op: Op,
        dtype: DType,
        block: &[u8],
        row_len: usize,
        segments: &[Segment],
    ) -> Vec<f64> {
        // SAFETY (all): AVX2 and FMA are enabled in this function.
        match (op, dtype) {
            (Op::Sq, DType::BF16) => {
                return with_u16(block, |xs| u16_segment_sums(xs, row_len, segments, |p| sq_reduce_bf16(p)))
            }
            (Op::Sq, DType::F16) => {
                return with_u16(block, |xs| u16_segment_sums(xs, row_len, segments, |p| sq_reduce_f16(p)))
            }
            _ => {}
        }
        if let (Op::Abs, DType::BF16, Some(xs)) = (op, dtype, as_elems::<u16>(block)) {
            return u16_segment_sums(xs, row_len, segments, |p| unsafe { reduce_bf16(p, |a, x| abs(a, x), abs1) });
        }
        match op {
            Op::Sq => {
                rows_block_with(dtype, block, row_len, segments, |xs| unsafe { reduce_f32(xs, |a, x| sq(a, x), sq1) })
            }
            Op::Abs => {
                rows_block_with(dtype, block, row_len, segments, |xs| unsafe { reduce_f32(xs, |a, x| abs(a, x), abs1) })
            }
            Op::Max => super::rows_block(op, dtype, block, row_len, segments),
        }
    }
}

fn segment_of(segments: &[Segment], entry: usize) -> Option<&Segment> {
    let i = segments.partition_point(|s| s.end <= entry);
    segments.get(i).filter(|s| s.start <= entry)
}

/// One block's reduction, before it is combined into the accumulators.
enum BlockOut {
    /// Rows are entries: per run of rows in one segment, that segment's accumulated row `(slot, acc[c])`.
    Cols(Vec<(usize, Vec<f64>)>),
    /// Rows are coordinates: per row, one value per segment.
    Rows(Vec<f64>),
}

/// Reduce one block of whole rows of a matrix tensor, `first` being the tensor row it starts at.
fn reduce_block(
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
        TensorPlan::Norm { .. } => BlockOut::Rows(Vec::new()),
    }
}

/// Work handed to the pool, combined into the accumulators in order by the thread driving the source.
enum Queued<'a> {
    /// The blocks of a mapped run of rows, from tensor row `first_row`, `rows_per_block` rows each: block `i`'s
    /// task sets `parts[i]`; blocks before `next` are combined.
    Blocks {
        tp: &'a TensorPlan,
        first_row: usize,
        rows_per_block: usize,
        parts: Arc<[OnceLock<BlockOut>]>,
        next: usize,
        bytes: usize,
    },
    /// The end of a tensor, with a norm tensor's values.
    End { info: TensorInfo, norm: Vec<f32> },
}

/// Bytes of mapped weights whose blocks may be handed to the pool before the oldest are combined. The pool works
/// ahead while the driving thread combines in order; at most this much of the file is mapped (and resident) at
/// once, beyond the chunk being handed over.
pub(crate) const AHEAD_BYTES: usize = 32 << 20;

impl<'a> ColumnSink<'a, '_> {
    /// Reduce a run of whole rows of a tensor.
    ///
    /// Rows are reduced in blocks of `block_rows` (about [`BLOCK_BYTES`]) at fixed positions in the tensor —
    /// block `k` is rows `[k·block_rows, (k+1)·block_rows)` — in parallel, and block results are combined in
    /// order. Rows of a block split across calls wait in `pending` until the block is complete, so the result
    /// depends neither on how the source chunks the tensor (a file, a download) nor on the number of threads.
    /// Whole blocks of a mapped run (`map`) are handed to the pool without waiting, when the sink has one.
    fn process(
        &mut self,
        info: &TensorInfo,
        first_row: usize,
        data: RowBytes<'_>,
        map: Option<&Arc<Mapped>>,
    ) -> Result<(), SummarizeError> {
        let len = data.len();
        self.bytes += len as u64;
        if let Some(p) = self.progress {
            p.advance(len as u64);
        }
        let plan: &'a Plan = self.plan;
        let Some(tp) = plan.tensors.get(&info.name) else { return Ok(()) };
        let row_bytes = info.row_len() * info.dtype.size();
        if row_bytes == 0 || len % row_bytes != 0 {
            return Err(SummarizeError::Shape(format!(
                "{}: tensor `{}`: a chunk of {len} bytes is not whole rows of {row_bytes} bytes",
                self.label, info.name,
            )));
        }
        if let TensorPlan::Norm { .. } = tp {
            let norm = &mut self.norm;
            return data.with(0..len, |bytes| {
                with_f32(info.dtype, bytes, |xs| {
                    norm.clear();
                    norm.extend_from_slice(xs);
                })
            });
        }
        let pending_rows = self.pending.len() / row_bytes;
        if pending_rows > 0 && self.pending_first + pending_rows != first_row {
            return Err(SummarizeError::Shape(format!(
                "{}: tensor `{}`: rows arrive out of order (row {first_row} after row {})",
                self.label,
                info.name,
                self.pending_first + pending_rows
            )));
        }
        let total = info.n_rows();
        let block = (BLOCK_BYTES / row_bytes).max(1);
        let (mut row, mut at) = (first_row, 0usize);
        while at < len {
            let left = (len - at) / row_bytes;
            if !self.pending.is_empty() || row % block != 0 {
                // Fill the block that `row` is in, up to its end (or the tensor's).
                if self.pending.is_empty() {
                    self.pending_first = row;
                }
                let boundary = ((row / block + 1) * block).min(total.max(row + 1));
                let take = (boundary - row).min(left);
                let pending = &mut self.pending;
                data.with(at..at + take * row_bytes, |b| pending.extend_from_slice(b))?;
                (row, at) = (row + take, at + take * row_bytes);
                if row == boundary {
                    let full = std::mem::take(&mut self.pending);
                    let r = self.reduce_blocks(info, tp, self.pending_first, RowBytes::Mem(&full));
                    self.pending = full;
                    self.pending.clear();
                    r?;
                }
            } else {
                // Aligned: every whole block at once (and the tensor's last, shorter block).
                let end = row + left;
                let whole_end = if end >= total { end } else { end / block * block };
                if whole_end == row {
                    self.pending_first = row;
                    let pending = &mut self.pending;
                    data.with(at..len, |b| pending.extend_from_slice(b))?;
                    break;
                }
                let n = (whole_end - row) * row_bytes;
                match (self.scope, map) {
                    (Some(scope), Some(map)) => self.hand_over(scope, info, tp, row, map, at..at + n)?,
                    _ => self.reduce_blocks(info, tp, row, data.sub(at, n))?,
                }
                (row, at) = (whole_end, at + n);
            }
        }
        Ok(())
    }

    /// Hand the whole blocks in `range` of a mapped run (from tensor row `first_row`) to the pool, then combine
    /// what is ready; wait only when more than [`AHEAD_BYTES`] are in flight.
    fn hand_over(
        &mut self,
        scope: &rayon::ScopeFifo<'a>,
        info: &TensorInfo,
        tp: &'a TensorPlan,
        first_row: usize,
        map: &Arc<Mapped>,
        range: Range<usize>,
    ) -> Result<(), SummarizeError> {
        let (op, dtype, row_len, c_n) = (self.op, info.dtype, info.row_len(), self.plan.n_coord());
        let row_bytes = row_len * dtype.size();
        let rows_per_block = (BLOCK_BYTES / row_bytes).max(1);
        let block_len = rows_per_block * row_bytes;
        let n = range.len().div_ceil(block_len);
        let parts: Arc<[OnceLock<BlockOut>]> = (0..n).map(|_| OnceLock::new()).collect();
        for i in 0..n {
            let (map, parts) = (Arc::clone(map), Arc::clone(&parts));
            let r = range.start + i * block_len..range.end.min(range.start + (i + 1) * block_len);
            let first = first_row + i * rows_per_block;
            scope.spawn_fifo(move |_| {
                let _ = parts[i].set(reduce_block(op, dtype, tp, row_len, first, &map[r], c_n));
            });
        }
        self.ahead += range.len();
        self.queue.push_back(Queued::Blocks { tp, first_row, rows_per_block, parts, next: 0, bytes: range.len() });
        self.drain(false)
    }

    /// Combine the finished work at the front of the queue, in order. With `all`, until the queue is empty;
    /// else until the work still in flight is within [`AHEAD_BYTES`]. While waiting, this thread runs the
    /// pool's pending blocks.
    fn drain(&mut self, all: bool) -> Result<(), SummarizeError> {
        loop {
            let Some(front) = self.queue.front_mut() else { return Ok(()) };
            match front {
                Queued::Blocks { tp, first_row, rows_per_block, parts, next, bytes } => {
                    let (tp, first_row, rows_per_block, parts, bytes) =
                        (*tp, *first_row, *rows_per_block, Arc::clone(parts), *bytes);
                    let mut k = *next;
                    while let Some(out) = parts.get(k).and_then(OnceLock::get) {
                        self.combine(tp, first_row + k * rows_per_block, out);
                        k += 1;
                    }
                    if k == parts.len() {
                        self.queue.pop_front();
                        self.ahead -= bytes;
                        continue;
                    }
                    if let Some(Queued::Blocks { next, .. }) = self.queue.front_mut() {
                        *next = k;
                    }
                    if !all && self.ahead <= AHEAD_BYTES {
                        return Ok(());
                    }
                    // Run a pending block here (perhaps the one waited for); if none is left to start, the
                    // other threads are finishing theirs.
                    if !matches!(rayon::yield_now(), Some(rayon::Yield::Executed)) {
                        std::thread::yield_now();
                    }
                }
                Queued::End { .. } => {
                    if let Some(Queued::End { info, norm }) = self.queue.pop_front() {
                        self.end_now(&info, &norm)?;
                    }
                }
            }
        }
    }

    /// Reduce whole blocks of rows starting at `first_row` (a block boundary) now, in parallel; combine in
    /// order (after everything handed to the pool before).
    fn reduce_blocks(
        &mut self,
        info: &TensorInfo,
        tp: &TensorPlan,
        first_row: usize,
        data: RowBytes<'_>,
    ) -> Result<(), SummarizeError> {
        self.drain(true)?;
        let len = data.len();
        let (op, dtype, row_len, c_n) = (self.op, info.dtype, info.row_len(), self.plan.n_coord());
        let row_bytes = row_len * dtype.size();
        let rows_per_block = (BLOCK_BYTES / row_bytes).max(1);
        let block_len = rows_per_block * row_bytes;
        let parts: Vec<BlockOut> = (0..len.div_ceil(block_len))
            .into_par_iter()
            .map(|bi| {
                let r = bi * block_len..len.min((bi + 1) * block_len);
                let first = first_row + bi * rows_per_block;
                data.with(r, |block| reduce_block(op, dtype, tp, row_len, first, block, c_n))
            })
            .collect::<Result<_, _>>()?;
        for (bi, out) in parts.iter().enumerate() {
            self.combine(tp, first_row + bi * rows_per_block, out);
        }
        Ok(())
    }

    /// Add one block's reduction (the block starting at tensor row `first`) into the accumulators.
    fn combine(&mut self, tp: &TensorPlan, first: usize, out: &BlockOut) {
        let op = self.op;
        match (tp, out) {
            (_, BlockOut::Cols(runs)) => {
                for (slot, part) in runs {
                    let acc = self.asm.acc(*slot);
                    acc.iter_mut().zip(part).for_each(|(a, &b)| *a = op.combine(*a, b));
                }
            }
            (TensorPlan::Matrix { segments, .. }, BlockOut::Rows(vals)) if !segments.is_empty() => {
                // Each row's segments reduced to one value per component.
                let n_seg = segments.len();
                let mut slots: Vec<usize> = segments.iter().map(|s| s.slot).collect();
                slots.sort_unstable();
                slots.dedup();
                let which: Vec<usize> = segments.iter().map(|s| slots.partition_point(|&k| k < s.slot)).collect();
                let c_n = self.plan.n_coord();
                let mut accs = self.asm.accs(&slots);
                for (c, v) in (first..c_n).zip(vals.chunks_exact(n_seg)) {
                    for (&i, &x) in which.iter().zip(v) {
                        let a = &mut accs[i][c];
                        *a = op.combine(*a, x);
                    }
                }
            }
            _ => {}
        }
    }

    /// The end of a tensor whose blocks are all combined: a norm's values become its component; the
    /// components that were waiting only for this tensor are finished.
    fn end_now(&mut self, info: &TensorInfo, norm: &[f32]) -> Result<(), SummarizeError> {
        let Some(tp) = self.plan.tensors.get(&info.name) else { return Ok(()) };
        match tp {
            TensorPlan::Norm { slot } => {
                let c_n = self.plan.n_coord();
                let slot = *slot;
                if norm.len() != c_n {
                    return Err(SummarizeError::Shape(format!(
                        "{}: norm tensor `{}` delivered {} values, expected {c_n}",
                        self.label,
                        info.name,
                        norm.len()
                    )));
                }
                let med = median(norm);
                let acc = self.asm.acc(slot);
                for (a, &w) in acc.iter_mut().zip(norm) {
                    let d = w as f64 - med;
                    *a = d * d;
                }
                self.check_finite(info, std::iter::once(slot))?;
            }
            TensorPlan::Matrix { segments, .. } => {
                let slots: Vec<usize> = segments.iter().map(|s| s.slot).collect();
                self.check_finite(info, slots.into_iter())?;
            }
        }
        self.asm.tensor_read(tp);
        Ok(())
    }
}

impl TensorSink for ColumnSink<'_, '_> {
    fn wants(&self, info: &TensorInfo) -> bool {
        self.plan.tensors.contains_key(&info.name)
    }

    fn rows(&mut self, info: &TensorInfo, first_row: usize, bytes: &[u8]) -> Result<(), SummarizeError> {
        self.process(info, first_row, RowBytes::Mem(bytes), None)
    }

    fn rank(&self, info: &TensorInfo) -> u64 {
        let first = match self.plan.tensors.get(&info.name) {
            Some(TensorPlan::Norm { slot }) => Some(*slot),
            Some(TensorPlan::Matrix { segments, .. }) => segments.iter().map(|s| s.slot).min(),
            None => None,
        };
        first.map_or(u64::MAX, |s| s as u64)
    }

    fn rows_at(&mut self, info: &TensorInfo, first_row: usize, rows: StoredRows<'_>) -> Result<(), SummarizeError> {
        // Mapped, the page cache's own pages are reduced; else each block is read by the thread reducing it.
        match rows.map() {
            Some(map) => {
                let map = Arc::new(map);
                self.process(info, first_row, RowBytes::Mem(&map), Some(&map))
            }
            None => self.process(info, first_row, RowBytes::Stored(rows), None),
        }
    }

    fn end_tensor(&mut self, info: &TensorInfo) -> Result<(), SummarizeError> {
        let Some(tp) = self.plan.tensors.get(&info.name) else { return Ok(()) };
        if !self.pending.is_empty() {
            // Only a source that delivered fewer rows than the tensor has leaves rows here; reduce them too.
            let rows = std::mem::take(&mut self.pending);
            self.reduce_blocks(info, tp, self.pending_first, RowBytes::Mem(&rows))?;
        }
        let norm = std::mem::take(&mut self.norm);
        if self.queue.is_empty() {
            self.end_now(info, &norm)
        } else {
            self.queue.push_back(Queued::End { info: info.clone(), norm });
            Ok(())
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
