//! PyTorch `.bin` checkpoints (zip + pickle), read without executing anything and without PyTorch.
//!
//! A torch ≥ 1.6 checkpoint is a zip archive of uncompressed records: `<top>/data.pkl`, a pickle describing the
//! state dict, and `<top>/data/<key>`, the raw bytes of each storage (`<top>` is `archive` or the file's stem).
//! Reading one takes three steps, each in its own module:
//!
//! 1. [`zip`] indexes the central directory and locates record data in place (stored records only).
//! 2. [`pickle`] runs `data.pkl` on a restricted stack machine: only the globals `torch.save` writes for a state
//!    dict resolve (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`, `torch._tensor._rebuild_from_type_v2`,
//!    the `torch.*Storage` classes, `collections.OrderedDict`); anything else — `os.system`, `builtins.exec`, an
//!    unknown class — stops the load with an error naming it. Nothing the pickle names is ever called.
//! 3. [`TorchSource`] checks every tensor view against its record and streams tensors as whole rows with
//!    mapped or positioned reads, gathering strided views (a transposed or sliced tensor) in bounded windows.
//!
//! ```no_run
//! use ccc_summarize::torch;
//! let source = torch::open_source(std::path::Path::new("step1000/pytorch_model.bin"))?;
//! for t in source.tensors() {
//!     println!("{} {} {:?}", t.name, t.dtype, t.shape);
//! }
//! # Ok::<(), ccc_summarize::SummarizeError>(())
//! ```

pub mod pickle;
mod source;
pub mod zip;

use std::path::Path;

pub use source::{TorchSource, DEFAULT_GATHER_WINDOW};

use crate::error::SummarizeError;
use crate::read_at::ReadMethod;
use crate::source::{DType, WeightSource};

/// What can go wrong while reading a PyTorch checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    /// The file is not in a supported format.
    #[error("{0}")]
    Unsupported(String),
    /// A checkpoint written by torch < 1.6.
    #[error(
        "legacy PyTorch format ({0}, written by torch < 1.6) is not supported: re-save the checkpoint with \
         torch ≥ 1.6, e.g. `torch.save(torch.load(f, weights_only=True), f)`"
    )]
    Legacy(&'static str),
    /// Not a zip archive at all.
    #[error("not a PyTorch checkpoint: the file does not start with a zip record")]
    NotZip,
    /// The zip container is corrupt or refused.
    #[error(transparent)]
    Zip(#[from] zip::ZipError),
    /// The pickle is refused or describes no state dict.
    #[error(transparent)]
    Pickle(#[from] pickle::PickleError),
    /// No `<top>/data.pkl` record.
    #[error("the archive has no `<dir>/data.pkl` record: not a torch.save checkpoint")]
    NoDataPkl,
    /// More than one `<top>/data.pkl` record.
    #[error("the archive has several data.pkl records (`{0}`)")]
    AmbiguousDataPkl(String),
    /// A storage whose record is absent.
    #[error("record `{0}` (the bytes of a storage) is missing from the archive")]
    MissingRecord(String),
    /// A storage record holding fewer bytes than the storage's declared size.
    #[error("record `{record}` holds {have} bytes, fewer than its storage of {numel} × {dtype} needs")]
    RecordTooShort {
        /// The record.
        record: String,
        /// Bytes in the record.
        have: u64,
        /// Declared element count.
        numel: u64,
        /// Element type.
        dtype: DType,
    },
    /// An unknown `byteorder` record.
    #[error("unsupported byte order: {0}")]
    ByteOrder(String),
    /// Reading failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Open one PyTorch `.bin` / `.pt` / `.pth` file as a weight source (validated, nothing executed).
pub fn open_source(path: &Path) -> Result<Box<dyn WeightSource>, SummarizeError> {
    open_source_with(path, ReadMethod::default())
}

/// [`open_source`], with the tensors read by `method`.
pub fn open_source_with(path: &Path, method: ReadMethod) -> Result<Box<dyn WeightSource>, SummarizeError> {
    Ok(Box::new(TorchSource::open_with(path, method)?))
}
