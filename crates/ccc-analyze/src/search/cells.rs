//! The binned steps of a flow field (docs/analysis.md §7), kept as per-cell sums so that one coordinate's steps can
//! be added or removed in `O(T)` and the irregularity updated from the cells they touch.

/// Per-cell sums of the inlier steps on a `G × G` grid over the origins' range.
#[derive(Debug, Clone)]
pub(crate) struct Cells {
    grid: usize,
    /// One record per cell, so that binning a step touches one cache line.
    cells: Vec<Cell>,
    /// Cells that were non-empty at some point since the last clear.
    touched: Vec<u32>,
    /// Steps binned.
    pub n: u64,
    /// `Σ_b |Σ d| / (mean length + 1e-6)` over non-empty cells: `irregularity = 1 − term / (n + 1e-8)`.
    pub term: f64,
    /// The origins' range `(xlo, xhi, ylo, yhi)` before widening; the key of the fast path.
    pub range: [f64; 4],
    /// The widened range's lower ends, and `G / width` along each axis.
    pub x_lo: f64,
    pub y_lo: f64,
    pub x_inv: f64,
    pub y_inv: f64,
}

/// The sums of one cell.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    count: u64,
    sdx: f64,
    sdy: f64,
    slen: f64,
}

/// The cell of `v` along an axis starting at `lo` with `inv = G / width`: `⌊(v − lo)·inv⌋` clamped to
/// `[0, G−1]`. The score's rule (`numpy.linspace` edges, the last bin closed) can differ from it by one cell for a
/// value within rounding of an inner edge; the search only needs the same rule wherever it bins (the front is
/// rescored exactly), and this one is branch-free and vectorizes.
#[inline]
pub(crate) fn bin(v: f64, lo: f64, inv: f64, g: usize) -> usize {
    // `as usize` truncates (the floor of a non-negative value) and saturates (NaN and negatives give 0).
    (((v - lo) * inv) as usize).min(g - 1)
}

impl Cells {
    /// Empty cells for grid `G ≥ 1`.
    pub fn new(grid: usize) -> Cells {
        let cells = grid * grid;
        Cells {
            grid,
            cells: vec![Cell::default(); cells],
            touched: Vec::new(),
            n: 0,
            term: 0.0,
            range: [0.0; 4],
            x_lo: 0.0,
            y_lo: 0.0,
            x_inv: 0.0,
            y_inv: 0.0,
        }
    }

    /// Forget every step and set the range (widened by 0.5 on each side when of zero width, as the score).
    pub fn reset(&mut self, range: [f64; 4]) {
        for &b in &self.touched {
            self.cells[b as usize] = Cell::default();
        }
        self.touched.clear();
        self.n = 0;
        self.term = 0.0;
        self.range = range;
        let [mut xlo, mut xhi, mut ylo, mut yhi] = range;
        if xlo == xhi {
            xlo -= 0.5;
            xhi += 0.5;
        }
        if ylo == yhi {
            ylo -= 0.5;
            yhi += 0.5;
        }
        let g = self.grid;
        self.x_lo = xlo;
        self.y_lo = ylo;
        self.x_inv = g as f64 / (xhi - xlo);
        self.y_inv = g as f64 / (yhi - ylo);
    }

    /// `G`.
    pub fn grid(&self) -> usize {
        self.grid
    }

    /// The column of an origin's x.
    #[inline]
    pub fn x_bin(&self, x: f64) -> usize {
        bin(x, self.x_lo, self.x_inv, self.grid)
    }

    /// The row of an origin's y.
    #[inline]
    pub fn y_bin(&self, y: f64) -> usize {
        bin(y, self.y_lo, self.y_inv, self.grid)
    }

    /// The cell of an origin.
    #[inline]
    pub fn cell(&self, x: f64, y: f64) -> usize {
        self.x_bin(x) * self.grid + self.y_bin(y)
    }

    #[inline]
    fn term_of(&self, b: usize) -> f64 {
        let c = &self.cells[b];
        if c.count == 0 {
            return 0.0;
        }
        (c.sdx * c.sdx + c.sdy * c.sdy).sqrt() / (c.slen / c.count as f64 + 1e-6)
    }

    /// Bin one step without updating `term` (call [`Cells::finish`] after a batch).
    #[inline]
    pub fn push(&mut self, b: usize, dx: f64, dy: f64, len: f64) {
        let c = &mut self.cells[b];
        if c.count == 0 {
            self.touched.push(b as u32);
        }
        c.count += 1;
        c.sdx += dx;
        c.sdy += dy;
        c.slen += len;
        self.n += 1;
    }

    /// Recompute `term` over the touched cells.
    pub fn finish(&mut self) {
        let mut term = 0.0;
        for &b in &self.touched {
            term += self.term_of(b as usize);
        }
        self.term = term;
    }

    /// Add (`sign = 1`) or remove (`sign = −1`) one step, updating `term` from its cell alone.
    #[inline]
    pub fn update(&mut self, b: usize, dx: f64, dy: f64, len: f64, sign: f64) {
        self.term -= self.term_of(b);
        if sign > 0.0 {
            self.push(b, dx, dy, len);
        } else {
            let c = &mut self.cells[b];
            c.count -= 1;
            c.sdx -= dx;
            c.sdy -= dy;
            c.slen -= len;
            if c.count == 0 {
                // Exactly empty, whatever rounding the sums kept.
                *c = Cell::default();
            }
            self.n -= 1;
        }
        self.term += self.term_of(b);
    }

    /// `1 − term / (n + 1e-8)`, or `None` without steps.
    pub fn irregularity(&self) -> Option<f64> {
        (self.n > 0).then(|| 1.0 - self.term / (self.n as f64 + 1e-8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_within_one_cell_of_the_partition_rule() {
        let mut c = Cells::new(4);
        c.reset([0.0, 1.0, 0.0, 1.0]);
        // Values on inner edges go to the cell above; the largest value to the last cell.
        for (v, want) in [(0.0, 0), (0.2499, 0), (0.25, 1), (0.5, 2), (0.75, 3), (1.0, 3), (-0.1, 0), (f64::NAN, 0)] {
            assert_eq!(c.x_bin(v), want, "{v}");
        }
        // Awkward ranges: at most one cell from the score's rule (edges as numpy.linspace).
        let (lo, hi) = (-4.605170185988091, -0.009950330853168083);
        c.reset([lo, hi, 0.1, 0.1]);
        let edges: Vec<f64> = (0..=4).map(|i| if i == 4 { hi } else { lo + i as f64 * (hi - lo) / 4.0 }).collect();
        for i in 0..=1000 {
            let v = lo + i as f64 * ((hi - lo) / 1000.0);
            let exact = edges.iter().filter(|&&e| e <= v).count().saturating_sub(1).min(3);
            assert!(c.x_bin(v).abs_diff(exact) <= 1, "{v}");
        }
        // A zero-width range is widened by 0.5 on each side.
        assert_eq!(c.y_bin(0.1), 2);
    }

    #[test]
    fn updates_match_a_fresh_binning() {
        let steps = [(0.1, 0.1, 1.0, 0.0), (0.15, 0.12, -1.0, 0.5), (0.9, 0.9, 0.0, 1.0), (0.5, 0.5, 0.3, 0.4)];
        let mut all = Cells::new(3);
        all.reset([0.0, 1.0, 0.0, 1.0]);
        for &(x, y, dx, dy) in &steps {
            let b = all.cell(x, y);
            all.push(b, dx, dy, f64::hypot(dx, dy));
        }
        all.finish();
        let mut inc = Cells::new(3);
        inc.reset([0.0, 1.0, 0.0, 1.0]);
        for &(x, y, dx, dy) in steps.iter().chain(&steps[..2]) {
            let b = inc.cell(x, y);
            inc.update(b, dx, dy, f64::hypot(dx, dy), 1.0);
        }
        for &(x, y, dx, dy) in &steps[..2] {
            let b = inc.cell(x, y);
            inc.update(b, dx, dy, f64::hypot(dx, dy), -1.0);
        }
        let (a, b) = (all.irregularity().unwrap(), inc.irregularity().unwrap());
        assert!((a - b).abs() < 1e-12, "{a} {b}");
        // Two opposite steps in one cell cancel.
        assert!(a > 0.1);
    }
}
