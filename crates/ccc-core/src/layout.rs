//! [`Banded`]: the layout a checkpoint's column is built in, and its way to the layout of a `ccc/1` file.
//!
//! In a file a column is coordinate-major (`n_coord × n_comp`), but a summarizer finishes it one component at a
//! time. Writing a finished component into a coordinate-major column touches every row of it, and the passes
//! over a column of tens of MB cost more than reading the weights it comes from. So a column is built
//! component-major within bands of about 256 KiB of rows: a band is a contiguous `n_comp × rows` block, and a
//! finished component is one contiguous run per band. A band is transposed into the file's order just before it
//! is written, reading and writing a block that stays in the core's L2 cache.
//!
//! ```
//! use ccc_core::layout::Banded;
//! let layout = Banded::new(3, 2); // 3 coordinates, 2 components: one band
//! let mut built = vec![0.0; layout.len()];
//! for k in 0..2 {
//!     for (coords, at) in layout.runs_of(k) {
//!         for (c, v) in coords.zip(&mut built[at..]) {
//!             *v = (10 * k + c) as f32;
//!         }
//!     }
//! }
//! assert_eq!(layout.to_row_major(&built), [0.0, 10.0, 1.0, 11.0, 2.0, 12.0]);
//! assert_eq!(layout.from_row_major(&layout.to_row_major(&built)), built);
//! ```

use std::ops::Range;

/// Components per tile of a transposition: their values for one tile of coordinates are read together.
const TILE_COMPS: usize = 8;
/// Coordinates per tile: one 64-byte cache line of each component's `f32` values.
const TILE_COORDS: usize = 16;
/// Target bytes of a band.
const BAND_BYTES: usize = 256 << 10;

/// Component-major within bands of rows (see the module docs). The band height depends only on the shape, so
/// a writer and a reader of the same shape agree on it.
///
/// The methods that take a column expect one of [`Banded::len`] values (a band: its rows × `n_comp`) and panic on
/// a shorter one: the shapes come from the caller's own plan or file header, checked before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Banded {
    n_coord: usize,
    n_comp: usize,
    band: usize,
}

impl Banded {
    /// The layout of an `n_coord × n_comp` column: bands of about 256 KiB, in whole tiles of rows.
    pub fn new(n_coord: usize, n_comp: usize) -> Self {
        let rows = BAND_BYTES / (n_comp * 4).max(1);
        let band = (rows / TILE_COORDS * TILE_COORDS).max(TILE_COORDS).min(n_coord.max(1));
        Banded { n_coord, n_comp, band }
    }

    /// Values in the column.
    pub fn len(&self) -> usize {
        self.n_coord * self.n_comp
    }

    /// Whether the column is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bands' rows, in order.
    pub fn bands(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        (0..self.n_coord).step_by(self.band).map(|c0| c0..(c0 + self.band).min(self.n_coord))
    }

    /// Component `k`'s runs: for each band, its coordinates and where their values start (one after another).
    pub fn runs_of(&self, k: usize) -> impl Iterator<Item = (Range<usize>, usize)> + '_ {
        self.bands().map(move |rows| {
            let at = rows.start * self.n_comp + k * rows.len();
            (rows, at)
        })
    }

    /// Band `rows` (one of [`Banded::bands`]) of column `built`, in a file's order (`rows.len() × n_comp`,
    /// row-major) into `out`.
    pub fn band_rows_into(&self, built: &[f32], rows: Range<usize>, out: &mut [f32]) {
        let h = rows.len();
        let block = &built[rows.start * self.n_comp..rows.end * self.n_comp];
        transpose(block, self.n_comp, h, &mut out[..h * self.n_comp]);
    }

    /// Column `built` in a file's order (`n_coord × n_comp`, row-major).
    pub fn to_row_major(&self, built: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; self.len()];
        for rows in self.bands() {
            let (a, b) = (rows.start * self.n_comp, rows.end * self.n_comp);
            self.band_rows_into(built, rows, &mut out[a..b]);
        }
        out
    }

    /// A column in a file's order (`n_coord × n_comp`, row-major) in this layout.
    pub fn from_row_major(&self, rows_major: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; self.len()];
        for rows in self.bands() {
            let (a, b) = (rows.start * self.n_comp, rows.end * self.n_comp);
            self.band_from_rows(&rows_major[a..b], &mut out[a..b]);
        }
        out
    }

    /// One band given in a file's order (`rows × n_comp`, row-major, for one of [`Banded::bands`]) in this
    /// layout, into `out` (the same length): a column can be converted band by band, without a second copy.
    pub fn band_from_rows(&self, band: &[f32], out: &mut [f32]) {
        let h = band.len() / self.n_comp.max(1);
        transpose(band, h, self.n_comp, &mut out[..band.len()]);
    }
}

/// `dst` (`cols × rows`) = the transpose of `src` (`rows × cols`, row-major), in tiles that keep the lines
/// read and written in cache.
fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    for r0 in (0..rows).step_by(TILE_COMPS) {
        let r1 = (r0 + TILE_COMPS).min(rows);
        for c0 in (0..cols).step_by(TILE_COORDS) {
            let c1 = (c0 + TILE_COORDS).min(cols);
            for r in r0..r1 {
                for (i, &x) in src[r * cols + c0..r * cols + c1].iter().enumerate() {
                    dst[(c0 + i) * rows + r] = x;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any shape: each component's runs cover every coordinate once, and the bands put each value at its
        /// place in a file's order; and back again.
        #[test]
        fn runs_and_bands_place_every_value(n_coord in 0usize..70, n_comp in 0usize..40) {
            let layout = Banded::new(n_coord, n_comp);
            let mut built = vec![f32::NAN; layout.len()];
            for k in 0..n_comp {
                let mut seen = 0;
                for (coords, at) in layout.runs_of(k) {
                    prop_assert_eq!(coords.start, seen);
                    seen = coords.end;
                    for (c, v) in coords.zip(&mut built[at..]) {
                        *v = (c * 1000 + k) as f32;
                    }
                }
                prop_assert_eq!(seen, n_coord);
            }
            let rows = layout.to_row_major(&built);
            for c in 0..n_coord {
                for k in 0..n_comp {
                    prop_assert_eq!(rows[c * n_comp + k], (c * 1000 + k) as f32);
                }
            }
            prop_assert_eq!(layout.from_row_major(&rows), built);
        }
    }

    #[test]
    fn bands_are_whole_tiles_of_about_256_kib() {
        assert_eq!(Banded::new(1024, 3538).band, 16);
        assert_eq!(Banded::new(2048, 32_834).band, 16);
        assert_eq!(Banded::new(8, 5).band, 8);
        assert_eq!(Banded::new(100, 5).bands().collect::<Vec<_>>(), vec![0..100usize]);
        assert_eq!(Banded::new(1000, 4096).bands().count(), 63);
        assert_eq!(Banded::new(1024, 610).band, 96);
        assert_eq!(Banded::new(0, 0).bands().count(), 0);
    }
}
