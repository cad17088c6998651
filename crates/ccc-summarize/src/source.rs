//! The reader interface: a checkpoint's weights, in any storage format, streamed to a [`TensorSink`] in chunks
//! of whole rows. Each format (safetensors, PyTorch zip, a download in progress) implements [`WeightSource`];
//! the summarizer implements [`TensorSink`] and never sees the format.

use std::fmt;
use std::path::Path;

use ccc_core::Summary;

use crate::column::Column;
use crate::error::SummarizeError;
use crate::plan::Plan;
use crate::read_at::{Mapped, ReadAt};
use crate::tensor::TensorInfo;

/// Receives a checkpoint's tensors chunk by chunk.
pub trait TensorSink {
    /// Whether the tensor's values are needed; a source skips the bytes of unwanted tensors.
    fn wants(&self, info: &TensorInfo) -> bool;

    /// A run of whole rows of a wanted tensor, starting at row `first_row`, contiguous and little-endian in
    /// `info.dtype`. Rows of a tensor arrive in increasing order, each exactly once.
    fn rows(&mut self, info: &TensorInfo, first_row: usize, bytes: &[u8]) -> Result<(), SummarizeError>;

    /// A run of whole rows (as for [`TensorSink::rows`]) that is still in a random-access source: the sink reads
    /// it itself. The default reads it into memory and calls `rows`; the summarizer instead reads block by block
    /// from its worker threads, so that reading and reducing run in parallel and each block is reduced while it
    /// is in cache.
    fn rows_at(&mut self, info: &TensorInfo, first_row: usize, rows: StoredRows<'_>) -> Result<(), SummarizeError> {
        let mut buf = vec![0u8; rows.len()];
        rows.read(0, &mut buf)?;
        self.rows(info, first_row, &buf)
    }

    /// Where the sink would like the tensor in the order of delivery (lower first). Sources that can read in any
    /// order (a local file) deliver wanted tensors by rank, ties in storage order; streams ignore it. The
    /// summarizer ranks tensors by their components' canonical order, so that it can finish components and add
    /// them into compact sums as they come instead of holding them (storage order sorts layers as `0, 1, 10, …`).
    fn rank(&self, _info: &TensorInfo) -> u64 {
        0
    }

    /// All rows of the tensor have been delivered.
    fn end_tensor(&mut self, _info: &TensorInfo) -> Result<(), SummarizeError> {
        Ok(())
    }
}

/// Bytes of whole rows stored in a random-access source, not read yet (see [`TensorSink::rows_at`]).
#[derive(Clone, Copy)]
pub struct StoredRows<'a> {
    src: &'a dyn ReadAt,
    offset: u64,
    len: usize,
    path: &'a Path,
}

impl<'a> StoredRows<'a> {
    /// `len` bytes at `offset` of `src`; `path` names the source in errors.
    pub(crate) fn new(src: &'a dyn ReadAt, offset: u64, len: usize, path: &'a Path) -> Self {
        StoredRows { src, offset, len, path }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `len` bytes starting `at` bytes into the run (clamped to the run).
    pub fn sub(&self, at: usize, len: usize) -> StoredRows<'a> {
        let at = at.min(self.len);
        StoredRows { src: self.src, offset: self.offset + at as u64, len: len.min(self.len - at), path: self.path }
    }

    /// The whole run mapped into memory, when the source maps (see [`ReadAt::map`]); else read it with
    /// [`StoredRows::read`].
    pub(crate) fn map(&self) -> Option<Mapped> {
        self.src.map(self.offset, self.len)
    }

    /// Fill `buf` with the bytes starting `at` bytes into the run (callable from several threads at once).
    pub fn read(&self, at: usize, buf: &mut [u8]) -> Result<(), SummarizeError> {
        let end = at.checked_add(buf.len()).filter(|&e| e <= self.len);
        if end.is_none() {
            return Err(SummarizeError::BadWeights {
                path: self.path.to_path_buf(),
                reason: format!("internal error: read of {} bytes at {at} past a run of {} bytes", buf.len(), self.len),
            });
        }
        self.src
            .read_exact_at(buf, self.offset + at as u64)
            .map_err(|source| SummarizeError::Io { path: self.path.to_path_buf(), source })
    }
}

impl fmt::Debug for StoredRows<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredRows")
            .field("offset", &self.offset)
            .field("len", &self.len)
            .field("path", &self.path)
            .finish()
    }
}

/// The weights of one checkpoint in some storage format.
pub trait WeightSource: Send {
    /// A short description for messages (usually the file path).
    fn describe(&self) -> String;

    /// Every tensor of the checkpoint (all dtypes), in storage order.
    fn tensors(&self) -> &[TensorInfo];

    /// Total bytes of tensor data (for progress and throughput).
    fn total_bytes(&self) -> u64;

    /// Feed every wanted tensor to `sink` in chunks of whole rows of at most `chunk_bytes` (a single row larger
    /// than that comes alone). Memory use stays O(`chunk_bytes`), whatever the tensor size.
    fn stream(&mut self, sink: &mut dyn TensorSink, chunk_bytes: usize) -> Result<(), SummarizeError>;

    /// The checkpoint's column computed without handing rows to a sink, when this source can (a LoRA adapter's
    /// ΔW gives the squared summaries from its factors); `None` (the default): stream it.
    #[doc(hidden)]
    fn column(&mut self, _plan: &Plan, _summary: Summary) -> Option<Result<Column, SummarizeError>> {
        None
    }
}
