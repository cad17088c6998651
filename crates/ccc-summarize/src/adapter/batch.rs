//! Merged mode over a run: a batch of adapters of one base summarized from one pass over the base's weights.
//!
//! Each chunk of the base's rows is read once and handed to every member's column sink — as it is for weights no
//! member adapts, with the member's ΔW added for those it does (`W0 + ΔW` is built per member in a buffer the size
//! of the chunk). The members' sinks take the chunk in parallel. A batch holds each member's column and factors
//! ([`Member::bytes`]); the engine makes batches as large as its memory budget allows, so a run whose columns
//! fit reads its base once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ccc_core::Summary;
use rayon::prelude::*;

use super::weights::Delta;
use super::{AdapterCheckpoint, AdapterMode, Base};
use crate::checkpoint::Checkpoint;
use crate::column::{with_f32, Column, ColumnSink};
use crate::error::SummarizeError;
use crate::plan::Plan;
use crate::source::{StoredRows, TensorSink};
use crate::tensor::{DType, TensorInfo};

/// Rows of the base handed to the members at a time: small enough that a chunk is still in cache when the last
/// member reduces it.
const FAN_OUT_BYTES: usize = 1 << 20;

/// One adapter of a batch, its factors read.
pub struct Member<'c> {
    checkpoint: &'c AdapterCheckpoint,
    deltas: BTreeMap<String, Delta>,
    adapter_bytes: u64,
}

impl<'c> Member<'c> {
    /// The checkpoint.
    pub fn checkpoint(&self) -> &'c AdapterCheckpoint {
        self.checkpoint
    }

    /// Bytes of the adapter's weight file.
    pub fn adapter_bytes(&self) -> u64 {
        self.adapter_bytes
    }

    /// Bytes this member holds while its batch is summarized with `plan`: its factors (f64), and the column,
    /// compact sums and accumulators of the tensor in flight that its sink holds (`column_bytes`, from the
    /// engine's memory model).
    pub fn bytes(&self, column_bytes: u64) -> u64 {
        self.deltas.values().map(Delta::bytes).sum::<u64>() + column_bytes
    }
}

impl AdapterCheckpoint {
    /// In merged mode, the base this adapter is merged into: checkpoints with the same base (the same `Arc`) can
    /// be summarized together by [`summarize_batch`].
    pub fn merged_base(&self) -> Option<&Arc<Base>> {
        (self.mode == AdapterMode::Merged).then_some(&self.base)
    }

    /// Read this adapter's factors, as a member of a batch.
    pub fn member(&self) -> Result<Member<'_>, SummarizeError> {
        let w = self.deltas()?;
        Ok(Member { checkpoint: self, deltas: w.deltas, adapter_bytes: w.bytes })
    }
}

/// Summarize `members` (adapters of `base`, merged) with `plan` from one pass over the base's weights, reading
/// `chunk_bytes` of them at a time (at most [`FAN_OUT_BYTES`]); the columns in the members' order, each as
/// [`crate::summarize_source`] gives for the member alone.
pub fn summarize_batch(
    base: &Base,
    members: &[Member<'_>],
    plan: &Plan,
    summary: Summary,
    allow_nonfinite: bool,
    chunk_bytes: usize,
) -> Result<Vec<Column>, SummarizeError> {
    let mut source = base.checkpoint.open()?;
    base.count_pass();
    let adapted: BTreeSet<&str> = members.iter().flat_map(|m| m.deltas.keys().map(String::as_str)).collect();
    let sinks = members
        .iter()
        .map(|m| {
            let label = format!("{} (merged into {})", m.checkpoint.dir.display(), base.dir().display());
            ColumnSink::new(plan, summary, allow_nonfinite, label, None)
        })
        .collect();
    let mut fan = FanOut { sinks, members, adapted, w0: Vec::new(), raw: Vec::new() };
    source.stream(&mut fan, chunk_bytes.clamp(1, FAN_OUT_BYTES))?;
    fan.sinks.into_iter().map(ColumnSink::finish).collect()
}

/// Hands each chunk of the base to every member's sink.
struct FanOut<'a, 'm> {
    sinks: Vec<ColumnSink<'a, 'a>>,
    members: &'a [Member<'m>],
    /// Weights any member adapts: every sink sees them as f32.
    adapted: BTreeSet<&'a str>,
    /// The chunk of an adapted weight as f32.
    w0: Vec<f32>,
    /// A stored chunk read into memory (8-aligned).
    raw: Vec<u64>,
}

impl FanOut<'_, '_> {
    /// The tensor as the sinks know it: adapted weights arrive as f32.
    fn as_seen(&self, info: &TensorInfo) -> TensorInfo {
        let mut seen = info.clone();
        if self.adapted.contains(info.name.as_str()) {
            seen.dtype = DType::F32;
        }
        seen
    }
}

impl TensorSink for FanOut<'_, '_> {
    fn wants(&self, info: &TensorInfo) -> bool {
        self.sinks.first().is_some_and(|s| s.wants(&self.as_seen(info)))
    }

    fn rank(&self, info: &TensorInfo) -> u64 {
        self.sinks.first().map_or(0, |s| s.rank(&self.as_seen(info)))
    }

    fn rows(&mut self, info: &TensorInfo, first_row: usize, bytes: &[u8]) -> Result<(), SummarizeError> {
        let seen = self.as_seen(info);
        if seen.dtype == info.dtype && !self.adapted.contains(info.name.as_str()) {
            return self.sinks.par_iter_mut().try_for_each(|s| s.rows(info, first_row, bytes));
        }
        let mut w0 = std::mem::take(&mut self.w0);
        w0.clear();
        with_f32(info.dtype, bytes, |w| w0.extend_from_slice(w));
        let r = self.sinks.par_iter_mut().zip(self.members).try_for_each_init(Vec::new, |buf, (s, m)| {
            let Some(d) = m.deltas.get(&info.name) else {
                return s.rows(&seen, first_row, bytemuck::cast_slice(&w0));
            };
            buf.clear();
            buf.extend_from_slice(&w0);
            d.merge_rows_into(first_row, buf);
            s.rows(&seen, first_row, bytemuck::cast_slice(buf))
        });
        self.w0 = w0;
        r
    }

    fn rows_at(&mut self, info: &TensorInfo, first_row: usize, rows: StoredRows<'_>) -> Result<(), SummarizeError> {
        // Mapped, every member reads the page cache's own pages.
        if let Some(map) = rows.map() {
            return self.rows(info, first_row, &map);
        }
        let mut raw = std::mem::take(&mut self.raw);
        raw.clear();
        raw.resize(rows.len().div_ceil(8), 0);
        let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut raw)[..rows.len()];
        let r = rows.read(0, bytes).and_then(|()| self.rows(info, first_row, bytes));
        self.raw = raw;
        r
    }

    fn end_tensor(&mut self, info: &TensorInfo) -> Result<(), SummarizeError> {
        let seen = self.as_seen(info);
        self.sinks.iter_mut().try_for_each(|s| s.end_tensor(&seen))
    }
}
