//! Unstable internals for the crate's own benchmarks and fuzz targets (the cargo feature `internals`): not part
//! of the API, and changed without notice.

pub use crate::column::ColumnSink;
pub use crate::safetensors::SafetensorsHeader;
pub use crate::torch::pickle::{load_state_dict, PickleLimits, StateDict};
pub use crate::torch::zip::{ZipEntry, ZipIndex};
pub use crate::torch::TorchSource;

/// A LoRA ΔW = `scale`·L·R (`l`: `rows × rank`, `r`: `rank × cols`, row-major), as delta mode holds it.
pub struct LoraDelta(crate::adapter::Delta);

impl LoraDelta {
    /// ΔW from its factors.
    pub fn new(l: Vec<f32>, r: Vec<f32>, rows: usize, cols: usize, rank: usize, scale: f64) -> Self {
        LoraDelta(crate::adapter::Delta { l, r, rows, cols, rank, scale, magnitude: None, full: None })
    }

    /// Per coordinate (the rows when `coords_are_rows`, else the columns), the sums of squares over each range of
    /// the other axis, from the factors (delta mode's fast path).
    pub fn sums_sq(&self, coords_are_rows: bool, ranges: &[(usize, usize)]) -> Vec<Vec<f64>> {
        let axis =
            if coords_are_rows { crate::tensor_plan::CoordAxis::Rows } else { crate::tensor_plan::CoordAxis::Cols };
        crate::adapter::sums_sq(&self.0, axis, ranges)
    }

    /// Rows `[first, first + out.len() / cols)` of ΔW, materialized as f32 (the slow path).
    pub fn rows_into(&self, first: usize, out: &mut [f32]) {
        self.0.rows_into(first, out)
    }
}
