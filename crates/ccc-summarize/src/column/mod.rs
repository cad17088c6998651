//! Summarizing one checkpoint: a [`TensorSink`] that reduces the weight rows chunk by chunk into one column of
//! the CCC tensor (both modes at once).
//!
//! Per component in flight and coordinate it keeps one `f64` accumulator (Σw², Σ|w| or max|w| depending on the
//! summary), finished into the column as soon as the component's last tensor is read (the private `assemble` module).
//! The private `kernels` module reduces each block of rows: weights are converted to `f32` (from f16/bf16/f64) and accumulated in `f64` — except squares of f16 and bf16
//! weights, which are exact in `f32` and summed there over up to 8 rows before being added in `f64` (a relative
//! error ≤ 4.2e-7). Chunks are split into row blocks of fixed size processed in parallel; block results are combined in
//! block order, so the result does not depend on the number of threads. Blocks of mapped chunks are handed to the
//! pool without waiting (see [`ColumnSink::in_scope`]): the pool works across tensor boundaries while the thread
//! driving the source combines results in order.

mod assemble;
mod buffer;
mod kernels;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use ccc_core::layout::Banded;
use ccc_core::{Progress, Summary};
use rayon::prelude::*;

pub(crate) use self::assemble::Assembler;
use self::buffer::ZeroBuf;
pub(crate) use self::kernels::with_f32;
use self::kernels::{reduce_block, BlockOut, Op};
use crate::error::SummarizeError;
use crate::plan::Plan;
use crate::read_at::Mapped;
use crate::source::{StoredRows, TensorSink};
use crate::tensor::TensorInfo;
use crate::tensor_plan::{CoordAxis, TensorPlan};

/// Target input bytes per parallel block.
const BLOCK_BYTES: usize = 256 << 10;

/// One column of the CCC tensor, in both modes.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Full mode, in the layout `layout` (component-major in bands of rows), not a file's order.
    pub(crate) full: ZeroBuf<f32>,
    /// The layout of `full`.
    pub(crate) layout: Banded,
    /// Compact mode, `n_coord × n_compact` row-major.
    pub(crate) compact: ZeroBuf<f32>,
    /// Tensors that held NaN or Inf (only with `allow_nonfinite`; otherwise that is an error).
    pub(crate) nonfinite: Vec<String>,
    /// Bytes of weights summarized.
    pub(crate) bytes: u64,
}

impl Column {
    /// Full mode in a file's order: `n_coord × n_comp`, row-major (components as [`Plan::components`] lists
    /// them).
    pub fn full_row_major(&self) -> Vec<f32> {
        self.layout.to_row_major(&self.full)
    }

    /// Compact mode in a file's order: `n_coord × n_compact`, row-major.
    pub fn compact(&self) -> &[f32] {
        &self.compact
    }

    /// Tensors that held NaN or Inf (only when summarized with `allow_nonfinite`; otherwise that is an error).
    pub fn nonfinite(&self) -> &[String] {
        &self.nonfinite
    }

    /// Bytes of weights summarized.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Column {
    /// A column from per-component sums computed without streaming rows (a LoRA ΔW's row statistics from its
    /// factors): `fill` adds each tensor's sums (`Σ w²` for the squared summaries) into the accumulators and marks
    /// the tensor read; components are then finished as a streamed column's are.
    pub(crate) fn from_sums(
        plan: &Plan,
        summary: Summary,
        bytes: u64,
        fill: impl FnOnce(&mut Assembler<'_>) -> Result<(), SummarizeError>,
    ) -> Result<Column, SummarizeError> {
        let mut asm = Assembler::new(plan, summary);
        fill(&mut asm)?;
        let (full, layout, compact) = asm.finish();
        Ok(Column { full, layout, compact, nonfinite: Vec::new(), bytes })
    }
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
    /// Work handed to the pool and not combined yet, oldest first.
    queue: VecDeque<Queued<'a>>,
    /// Bytes of the blocks in `queue`.
    ahead: usize,
    /// Bytes of mapped weights whose blocks may be in `queue` before the oldest are combined (see
    /// [`ColumnSink::in_scope`]).
    ahead_max: usize,
}

thread_local! {
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
            ahead_max: 0,
        }
    }

    /// Hand blocks that need not be read (mapped chunks, blocks gathered across chunks) to tasks of `scope`, and
    /// combine their results in order as they come (see the type's docs). The pool works ahead while the thread
    /// driving the source combines in order; at most `ahead_bytes` of the file are mapped (and resident) at once
    /// beyond the chunk being handed over, counting each window's widening to 2 MiB boundaries.
    pub fn in_scope(mut self, scope: &'s rayon::ScopeFifo<'a>, ahead_bytes: usize) -> Self {
        self.scope = Some(scope);
        self.ahead_max = ahead_bytes;
        self
    }

    /// The finished column (call after the source has streamed every tensor): the work still in flight is
    /// combined first, so errors found at the end of a tensor (e.g. NaN weights) may surface here.
    pub fn finish(mut self) -> Result<Column, SummarizeError> {
        self.drain(true)?;
        let (full, layout, compact) = self.asm.finish();
        Ok(Column { full, layout, compact, nonfinite: self.nonfinite, bytes: self.bytes })
    }

    fn check_finite(&mut self, info: &TensorInfo, slots: impl Iterator<Item = usize>) -> Result<(), SummarizeError> {
        let mut hit = false;
        for s in slots {
            if self.bad[s] {
                continue;
            }
            if self.asm.acc_if_any(s).is_some_and(|acc| !all_finite(acc)) {
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

/// Work handed to the pool, combined into the accumulators in order by the thread driving the source.
enum Queued<'a> {
    /// The blocks of a mapped run of rows, from tensor row `first_row`, `rows_per_block` rows each: block `i`'s
    /// task sets `parts[i]` (`None` if it panicked); blocks before `next` are combined.
    Blocks {
        tp: &'a TensorPlan,
        first_row: usize,
        rows_per_block: usize,
        parts: Arc<[OnceLock<Option<BlockOut>>]>,
        next: usize,
        bytes: usize,
    },
    /// The end of a tensor, with a norm tensor's values.
    End { info: TensorInfo, norm: Vec<f32> },
}

/// Bytes a task of the pool holds on to: a mapped chunk, or a block gathered across two chunks.
enum Owned {
    Map(Mapped),
    Buf(Vec<u8>),
}

impl Owned {
    /// Memory held beside the bytes themselves: a mapped window's widening.
    fn beside(&self) -> usize {
        match self {
            Owned::Map(m) => m.mapped_beside(),
            Owned::Buf(_) => 0,
        }
    }
}

impl std::ops::Deref for Owned {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Owned::Map(m) => m,
            Owned::Buf(b) => b,
        }
    }
}

impl<'a> ColumnSink<'a, '_> {
    /// Reduce a run of whole rows of a tensor.
    ///
    /// Rows are reduced in blocks of `block_rows` (about [`BLOCK_BYTES`]) at fixed positions in the tensor —
    /// block `k` is rows `[k·block_rows, (k+1)·block_rows)` — in parallel, and block results are combined in
    /// order. Rows of a block split across calls wait in `pending` until the block is complete, so the result
    /// depends neither on how the source chunks the tensor (a file, a download) nor on the number of threads.
    /// When the sink has a pool scope, whole blocks of a mapped run (`map`), and blocks gathered across calls, are
    /// handed to the pool without waiting.
    fn process(
        &mut self,
        info: &TensorInfo,
        first_row: usize,
        data: RowBytes<'_>,
        map: Option<&Arc<Owned>>,
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
                    if let Some(scope) = self.scope {
                        // The gathered block is owned: it goes to the pool like a mapped chunk.
                        let (first, len) = (self.pending_first, full.len());
                        self.hand_over(scope, info, tp, first, &Arc::new(Owned::Buf(full)), 0..len)?;
                    } else {
                        let r = self.reduce_blocks(info, tp, self.pending_first, RowBytes::Mem(&full));
                        self.pending = full;
                        self.pending.clear();
                        r?;
                    }
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

    /// Hand the whole blocks in `range` of `src` (from tensor row `first_row`) to the pool, then combine what is
    /// ready; wait only when more than `ahead_max` bytes are in flight.
    fn hand_over(
        &mut self,
        scope: &rayon::ScopeFifo<'a>,
        info: &TensorInfo,
        tp: &'a TensorPlan,
        first_row: usize,
        src: &Arc<Owned>,
        range: Range<usize>,
    ) -> Result<(), SummarizeError> {
        let (op, dtype, row_len, c_n) = (self.op, info.dtype, info.row_len(), self.plan.n_coord());
        let row_bytes = row_len * dtype.size();
        let rows_per_block = (BLOCK_BYTES / row_bytes).max(1);
        let block_len = rows_per_block * row_bytes;
        let n = range.len().div_ceil(block_len);
        let parts: Arc<[OnceLock<Option<BlockOut>>]> = (0..n).map(|_| OnceLock::new()).collect();
        for i in 0..n {
            let (src, parts) = (Arc::clone(src), Arc::clone(&parts));
            let r = range.start + i * block_len..range.end.min(range.start + (i + 1) * block_len);
            let first = first_row + i * rows_per_block;
            scope.spawn_fifo(move |_| {
                // A panic still sets the slot, so the thread waiting for it stops with an error, not forever.
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    reduce_block(op, dtype, tp, row_len, first, &src[r], c_n)
                }));
                let _ = parts[i].set(out.ok());
            });
        }
        // A window is handed over once, so its widening is counted once (and the bound is on what is mapped).
        let bytes = range.len() + src.beside();
        self.ahead += bytes;
        self.queue.push_back(Queued::Blocks { tp, first_row, rows_per_block, parts, next: 0, bytes });
        self.drain(false)
    }

    /// Combine the finished work at the front of the queue, in order. With `all`, until the queue is empty;
    /// else until the work still in flight is within `ahead_max` bytes. While waiting, this thread runs the
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
                        let out = out.as_ref().ok_or_else(|| {
                            SummarizeError::InvalidOption(format!("internal error: a block of {} failed", self.label))
                        })?;
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
                    if !all && self.ahead <= self.ahead_max {
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
            (TensorPlan::Matrix { axis: CoordAxis::StackedRows, segments }, BlockOut::Rows(vals)) => {
                // One value per row: row g is coordinate g % C of stacked matrix g / C (an expert).
                let c_n = self.plan.n_coord();
                for (g, &x) in (first..).zip(vals) {
                    let Some(seg) = segments.get(g / c_n.max(1)) else { break };
                    let a = &mut self.asm.acc(seg.slot)[g % c_n];
                    *a = op.combine(*a, x);
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
                let map = Arc::new(Owned::Map(map));
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

/// Whether every value is finite. `x · 0` is ±0 for a finite `x` and NaN for ±inf and NaN, so eight lanes of
/// sums without a branch find any of them (a loop that can stop early does not vectorize, and this runs over
/// every accumulator of every tensor).
fn all_finite(xs: &[f64]) -> bool {
    let mut lanes = [0.0f64; 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l += x * 0.0;
        }
    }
    lanes.iter().all(|&l| l == 0.0) && chunks.remainder().iter().all(|x| x.is_finite())
}

/// NumPy's median: the middle value, or the mean of the two middle values for an even count (in f64).
/// NaN values make the median NaN.
pub(crate) fn median(xs: &[f32]) -> f64 {
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
mod chunking_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_values_are_told_from_inf_and_nan_anywhere() {
        for len in [0, 1, 7, 8, 9, 64, 67] {
            let xs: Vec<f64> = (0..len).map(|i| i as f64 * 1e300 - 3.5).collect();
            assert!(all_finite(&xs), "{len}");
            for at in 0..len {
                for bad in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
                    let mut ys = xs.clone();
                    ys[at] = bad;
                    assert!(!all_finite(&ys), "{len} {at} {bad}");
                }
            }
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[1.0, f32::NAN]).is_nan());
    }
}
