//! Unstable internals for the crate's own benchmarks and fuzz targets (the cargo feature `internals`): not part
//! of the API, and changed without notice.

pub use crate::column::ColumnSink;
pub use crate::safetensors::SafetensorsHeader;
pub use crate::torch::pickle::{load_state_dict, PickleLimits, StateDict};
pub use crate::torch::zip::{ZipEntry, ZipIndex};
pub use crate::torch::TorchSource;
