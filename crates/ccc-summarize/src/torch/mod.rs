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
//! Users open a `.bin` through [`crate::local::WeightFiles`] (`WeightFiles::Torch(path).open()`), which
//! [`open_source_with`] serves.

pub(crate) mod pickle;
mod source;
pub(crate) mod zip;

use std::path::Path;

pub use source::TorchSource;

#[cfg(test)]
mod tests;

use crate::error::SummarizeError;
use crate::read_at::ReadMethod;
use crate::source::WeightSource;

/// Open one PyTorch `.bin` / `.pt` / `.pth` file as a weight source, read by `method` (validated, nothing
/// executed).
pub(crate) fn open_source_with(path: &Path, method: ReadMethod) -> Result<Box<dyn WeightSource>, SummarizeError> {
    Ok(Box::new(TorchSource::open_with(path, method)?))
}
