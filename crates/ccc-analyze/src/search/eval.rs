//! The incremental evaluator (docs/search.md §2): a grouping's group sums, channels and binned steps, updated by
//! one move at a time. A component move adds or subtracts one column (`O(C·T)`) of the sum it changes and
//! recomputes only that channel; an outlier move leaves both channels alone and, unless it changes the origins'
//! range, only adds or removes one coordinate's `T − 2` steps (`O(T + C)`).

use super::archive::Found;
use super::cells::Cells;
use super::data::SearchData;
use super::moves::{Move, Slot};
use wide::{f32x8, f64x4};

/// One channel of the trajectories: the values `v[c·T + t]`, and each coordinate's origin extent (over
/// `t = 1 … T−2`), from which the range of the inliers' origins follows in `O(C)`.
#[derive(Debug, Clone, Default)]
struct Channel {
    v: Vec<f64>,
    /// Forward differences `v[c·T + t + 1] − v[c·T + t]` (0 at `t = T − 1`): the steps' displacements.
    d: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// The cell index along this channel's axis of every value, for the edges of `bins_for` (a channel that did
    /// not change, under a range that did not change, is not binned again).
    bins: Vec<u16>,
    bins_for: Option<(f64, f64)>,
}

impl Channel {
    /// The normalized log channel of the group sum `s` (docs/analysis.md §6.1) times `factor`.
    ///
    /// This is the evaluator's hot loop (every value of a changed channel changes, so there is no cell-level
    /// shortcut for a component move): the logarithms are vectorized (in f32; the front is rescored exactly
    /// anyway), and the extremes are found four lanes at a time.
    fn compute(&mut self, s: &[f64], factor: f64, n_coord: usize, n_ckpt: usize) {
        let (mn, mx) = min_max(s);
        // Scaling by `factor ≥ 0` keeps the order; max(a − min) is (max − min): subtraction is monotonic. A
        // reciprocal instead of a division per value changes the last bit at most.
        let (mn, mx) = (factor * mn, factor * mx);
        let inv = 1.0 / ((mx - mn) + 1e-6);
        self.v.resize(s.len(), 0.0);
        // The logarithms in f32, eight at a time (`wide`'s f32 `ln` is a division-free polynomial, twice the lanes
        // of f64): ~1e-7 absolute on values in [ln 0.01, ln 1.01], far below what ranks two groupings.
        let mut out = self.v.chunks_exact_mut(8);
        let mut src = s.chunks_exact(8);
        for (o, a) in (&mut out).zip(&mut src) {
            let mut w = [0.0f32; 8];
            for (w, &a) in w.iter_mut().zip(a) {
                *w = ((factor * a - mn) * inv + 0.01) as f32;
            }
            for (o, l) in o.iter_mut().zip(f32x8::new(w).ln().to_array()) {
                *o = l as f64;
            }
        }
        for (o, &a) in out.into_remainder().iter_mut().zip(src.remainder()) {
            *o = ((factor * a - mn) * inv + 0.01).ln();
        }
        self.d.resize(s.len(), 0.0);
        if let Some(last) = s.len().checked_sub(1) {
            for (o, w) in self.d[..last].iter_mut().zip(self.v.windows(2)) {
                *o = w[1] - w[0];
            }
        }
        self.bins_for = None;
        self.lo.resize(n_coord, 0.0);
        self.hi.resize(n_coord, 0.0);
        for c in 0..n_coord {
            let (lo, hi) = min_max(&self.v[c * n_ckpt + 1..(c + 1) * n_ckpt - 1]);
            self.lo[c] = lo;
            self.hi[c] = hi;
        }
    }

    /// Bin every value along this axis for `cells`' range (`range` its key), unless already done: four values at a
    /// time, by the rule of [`super::cells::bin`].
    fn bin_for(&mut self, range: (f64, f64), cells: &Cells, axis_x: bool) {
        if self.bins_for == Some(range) {
            return;
        }
        let (lo, inv) = if axis_x { (cells.x_lo, cells.x_inv) } else { (cells.y_lo, cells.y_inv) };
        let top = (cells.grid() - 1) as f64;
        self.bins.resize(self.v.len(), 0);
        let (lov, invv, zero, topv) = (f64x4::splat(lo), f64x4::splat(inv), f64x4::splat(0.0), f64x4::splat(top));
        let mut out = self.bins.chunks_exact_mut(4);
        let mut src = self.v.chunks_exact(4);
        for (o, v) in (&mut out).zip(&mut src) {
            // Clamped to [0, G−1] first, so that truncating is the floor (SSE2 has no vector floor).
            let f = ((f64x4::new([v[0], v[1], v[2], v[3]]) - lov) * invv).max(zero).min(topv).to_array();
            for (b, f) in o.iter_mut().zip(f) {
                *b = f as u16;
            }
        }
        for (b, &v) in out.into_remainder().iter_mut().zip(src.remainder()) {
            *b = super::cells::bin(v, lo, inv, cells.grid()) as u16;
        }
        self.bins_for = Some(range);
    }
}

/// The smallest and largest of `v` (`(∞, −∞)` when empty), four lanes at a time (`f64::min` does not vectorize).
fn min_max(v: &[f64]) -> (f64, f64) {
    let mut lo4 = f64x4::splat(f64::INFINITY);
    let mut hi4 = f64x4::splat(f64::NEG_INFINITY);
    let mut chunks = v.chunks_exact(4);
    for a in &mut chunks {
        let a = f64x4::new([a[0], a[1], a[2], a[3]]);
        lo4 = lo4.min(a);
        hi4 = hi4.max(a);
    }
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &a in lo4.to_array().iter() {
        lo = lo.min(a);
    }
    for &a in hi4.to_array().iter() {
        hi = hi.max(a);
    }
    for &a in chunks.remainder() {
        lo = lo.min(a);
        hi = hi.max(a);
    }
    (lo, hi)
}

/// What a proposed move left to undo or to keep.
#[derive(Debug, Clone, Copy)]
enum Pending {
    None,
    /// Component memberships `(k, in grp1, in grp2)` after the move; new sums, channels and cells in the scratch.
    Comps {
        changes: [(usize, bool, bool); 2],
        n: usize,
        x: bool,
        y: bool,
        len1: f64,
        len2: f64,
        irr: f64,
    },
    /// Outlier flags flipped (already applied to `out`); the new cells in the scratch.
    OutFull {
        flips: [Option<usize>; 2],
        irr: f64,
    },
    /// Outlier flags flipped and their steps moved in the live cells; `term` and `n` before, to restore exactly.
    OutDelta {
        flips: [Option<usize>; 2],
        term: f64,
        n: u64,
        irr: f64,
    },
}

/// A grouping under evaluation: memberships, group sums, channels, binned steps, and one pending move.
#[derive(Debug, Clone)]
pub(crate) struct Evaluator<'a> {
    d: &'a SearchData,
    in1: Vec<bool>,
    in2: Vec<bool>,
    out: Vec<bool>,
    n1: usize,
    n2: usize,
    n_out: usize,
    len1: f64,
    len2: f64,
    s1: Vec<f64>,
    s2: Vec<f64>,
    x: Channel,
    y: Channel,
    cells: Cells,
    irr: Option<f64>,
    s_tmp: [Vec<f64>; 2],
    ch_tmp: [Channel; 2],
    cells_tmp: Cells,
    pending: Pending,
    /// Evaluations done (the initial one and every proposed move).
    pub evaluations: u64,
}

/// `dst = src + Σ sign · w_k · col_k` over `terms`.
fn add_cols(d: &SearchData, dst: &mut Vec<f64>, src: &[f64], terms: &[(usize, f64)]) {
    dst.clear();
    dst.extend_from_slice(src);
    for &(k, sign) in terms {
        let w = sign * d.weight[k];
        for (o, &v) in dst.iter_mut().zip(d.col(k)) {
            *o += w * v as f64;
        }
    }
}

impl<'a> Evaluator<'a> {
    /// Evaluate a grouping from scratch: memberships of every component and the outlier flags.
    pub fn new(d: &'a SearchData, grid: usize, in1: Vec<bool>, in2: Vec<bool>, out: Vec<bool>) -> Evaluator<'a> {
        let ct = d.n_coord * d.n_ckpt;
        let sum_of = |member: &[bool]| {
            let mut s = vec![0.0f64; ct];
            let mut len = 0.0;
            for k in (0..d.n_comp).filter(|&k| member[k]) {
                let w = d.weight[k];
                for (o, &v) in s.iter_mut().zip(d.col(k)) {
                    *o += w * v as f64;
                }
                len += d.lengths[k];
            }
            (s, len)
        };
        let (s1, len1) = sum_of(&in1);
        let (s2, len2) = sum_of(&in2);
        let mut x = Channel::default();
        let mut y = Channel::default();
        x.compute(&s1, d.factor(len1), d.n_coord, d.n_ckpt);
        y.compute(&s2, d.factor(len2), d.n_coord, d.n_ckpt);
        let mut e = Evaluator {
            d,
            n1: in1.iter().filter(|&&b| b).count(),
            n2: in2.iter().filter(|&&b| b).count(),
            n_out: out.iter().filter(|&&b| b).count(),
            in1,
            in2,
            out,
            len1,
            len2,
            s1,
            s2,
            x,
            y,
            cells: Cells::new(grid),
            irr: None,
            s_tmp: [Vec::with_capacity(ct), Vec::with_capacity(ct)],
            ch_tmp: [Channel::default(), Channel::default()],
            cells_tmp: Cells::new(grid),
            pending: Pending::None,
            evaluations: 1,
        };
        e.irr = bin_all(d, &mut e.x, &mut e.y, &e.out, &mut e.cells);
        e
    }

    /// The current irregularity (`None` without inlier steps).
    pub fn irregularity(&self) -> Option<f64> {
        self.irr
    }

    /// Sizes: `(|grp1|, |grp2|, outliers)`.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.n1, self.n2, self.n_out)
    }

    /// Where component `k` is.
    pub fn slot(&self, k: usize) -> Slot {
        match (self.in1[k], self.in2[k]) {
            (true, false) => Slot::Grp1,
            (false, true) => Slot::Grp2,
            (false, false) => Slot::Discarded,
            (true, true) => Slot::Both,
        }
    }

    /// Whether coordinate `c` is an outlier.
    pub fn is_out(&self, c: usize) -> bool {
        self.out[c]
    }

    /// The grouping as it is, or as it would be after the pending move.
    pub fn pending_found(&self, origin: usize) -> Found {
        let mut f = Found::of(&self.in1, &self.in2, &self.out, origin);
        if let Pending::Comps { changes, n, .. } = self.pending {
            let (mut in1, mut in2) = (self.in1.clone(), self.in2.clone());
            for &(k, a1, a2) in &changes[..n] {
                in1[k] = a1;
                in2[k] = a2;
            }
            f = Found::of(&in1, &in2, &self.out, origin);
        }
        // Outlier moves flip `out` when proposed, so it already shows them.
        f
    }

    /// Evaluate `mv` without keeping it: returns the irregularity it would give (`None` when it leaves no inlier
    /// step). Follow with [`Evaluator::accept`] or [`Evaluator::reject`].
    pub fn propose(&mut self, mv: Move) -> Option<f64> {
        debug_assert!(matches!(self.pending, Pending::None));
        self.evaluations += 1;
        match mv {
            Move::Comp { k, to } => {
                let (a1, a2) = to.flags();
                self.propose_comps([(k, a1, a2), (k, a1, a2)], 1)
            }
            Move::SwapComps { a, b } => {
                let (sa, sb) = (self.slot(a).flags(), self.slot(b).flags());
                self.propose_comps([(a, sb.0, sb.1), (b, sa.0, sa.1)], 2)
            }
            Move::Outlier { add, remove } => self.propose_outliers(add, remove),
        }
    }

    fn propose_comps(&mut self, changes: [(usize, bool, bool); 2], n: usize) -> Option<f64> {
        let d = self.d;
        let mut t1: [(usize, f64); 2] = [(0, 0.0); 2];
        let mut t2: [(usize, f64); 2] = [(0, 0.0); 2];
        let (mut n_t1, mut n_t2) = (0, 0);
        let (mut len1, mut len2) = (self.len1, self.len2);
        for &(k, a1, a2) in &changes[..n] {
            if a1 != self.in1[k] {
                let sign = if a1 { 1.0 } else { -1.0 };
                t1[n_t1] = (k, sign);
                n_t1 += 1;
                len1 += sign * d.lengths[k];
            }
            if a2 != self.in2[k] {
                let sign = if a2 { 1.0 } else { -1.0 };
                t2[n_t2] = (k, sign);
                n_t2 += 1;
                len2 += sign * d.lengths[k];
            }
        }
        let (x, y) = (n_t1 > 0, n_t2 > 0);
        let [st1, st2] = &mut self.s_tmp;
        let [ch1, ch2] = &mut self.ch_tmp;
        if x {
            add_cols(d, st1, &self.s1, &t1[..n_t1]);
            ch1.compute(st1, d.factor(len1), d.n_coord, d.n_ckpt);
        }
        if y {
            add_cols(d, st2, &self.s2, &t2[..n_t2]);
            ch2.compute(st2, d.factor(len2), d.n_coord, d.n_ckpt);
        }
        let cx = if x { ch1 } else { &mut self.x };
        let cy = if y { ch2 } else { &mut self.y };
        let irr = bin_all(d, cx, cy, &self.out, &mut self.cells_tmp);
        self.pending = Pending::Comps { changes, n, x, y, len1, len2, irr: irr.unwrap_or(f64::NAN) };
        irr
    }

    fn propose_outliers(&mut self, add: Option<usize>, remove: Option<usize>) -> Option<f64> {
        let flips = [add, remove];
        for c in flips.into_iter().flatten() {
            self.out[c] = !self.out[c];
        }
        let range = inlier_range(&self.x, &self.y, &self.out);
        let Some(range) = range else {
            self.pending = Pending::OutFull { flips, irr: f64::NAN };
            return None;
        };
        if range == self.cells.range {
            let (term, n) = (self.cells.term, self.cells.n);
            // `add` joins the outliers: its steps leave; `remove` rejoins the inliers: its steps come back.
            if let Some(c) = add {
                self.move_steps(c, -1.0);
            }
            if let Some(c) = remove {
                self.move_steps(c, 1.0);
            }
            let irr = self.cells.irregularity();
            self.pending = Pending::OutDelta { flips, term, n, irr: irr.unwrap_or(f64::NAN) };
            irr
        } else {
            let irr = bin_all(self.d, &mut self.x, &mut self.y, &self.out, &mut self.cells_tmp);
            self.pending = Pending::OutFull { flips, irr: irr.unwrap_or(f64::NAN) };
            irr
        }
    }

    fn move_steps(&mut self, c: usize, sign: f64) {
        let t = self.d.n_ckpt;
        let (xs, ys) = (&self.x.v[c * t..(c + 1) * t], &self.y.v[c * t..(c + 1) * t]);
        for s in 1..t - 1 {
            let (dx, dy) = (xs[s + 1] - xs[s], ys[s + 1] - ys[s]);
            let b = self.cells.cell(xs[s], ys[s]);
            self.cells.update(b, dx, dy, (dx * dx + dy * dy).sqrt(), sign);
        }
    }

    /// Keep the pending move.
    pub fn accept(&mut self) {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => {}
            Pending::Comps { changes, n, x, y, len1, len2, irr } => {
                for &(k, a1, a2) in &changes[..n] {
                    self.n1 = self.n1 + a1 as usize - self.in1[k] as usize;
                    self.n2 = self.n2 + a2 as usize - self.in2[k] as usize;
                    self.in1[k] = a1;
                    self.in2[k] = a2;
                }
                if x {
                    std::mem::swap(&mut self.s1, &mut self.s_tmp[0]);
                    std::mem::swap(&mut self.x, &mut self.ch_tmp[0]);
                    self.len1 = len1;
                }
                if y {
                    std::mem::swap(&mut self.s2, &mut self.s_tmp[1]);
                    std::mem::swap(&mut self.y, &mut self.ch_tmp[1]);
                    self.len2 = len2;
                }
                std::mem::swap(&mut self.cells, &mut self.cells_tmp);
                self.irr = (!irr.is_nan()).then_some(irr);
            }
            Pending::OutFull { flips, irr } => {
                self.count_flips(flips);
                std::mem::swap(&mut self.cells, &mut self.cells_tmp);
                self.irr = (!irr.is_nan()).then_some(irr);
            }
            Pending::OutDelta { flips, irr, .. } => {
                self.count_flips(flips);
                self.irr = (!irr.is_nan()).then_some(irr);
            }
        }
    }

    fn count_flips(&mut self, flips: [Option<usize>; 2]) {
        for c in flips.into_iter().flatten() {
            if self.out[c] {
                self.n_out += 1;
            } else {
                self.n_out -= 1;
            }
        }
    }

    /// Drop the pending move.
    pub fn reject(&mut self) {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None | Pending::Comps { .. } => {}
            Pending::OutFull { flips, .. } => {
                for c in flips.into_iter().flatten() {
                    self.out[c] = !self.out[c];
                }
            }
            Pending::OutDelta { flips, term, n, .. } => {
                let [add, remove] = flips;
                if let Some(c) = remove {
                    self.move_steps(c, -1.0);
                }
                if let Some(c) = add {
                    self.move_steps(c, 1.0);
                }
                self.cells.term = term;
                debug_assert_eq!(self.cells.n, n);
                for c in flips.into_iter().flatten() {
                    self.out[c] = !self.out[c];
                }
            }
        }
    }
}

/// The inliers' origin range `[xlo, xhi, ylo, yhi]`, `None` without inliers.
fn inlier_range(x: &Channel, y: &Channel, out: &[bool]) -> Option<[f64; 4]> {
    let mut r = [f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY];
    let mut any = false;
    for c in (0..out.len()).filter(|&c| !out[c]) {
        any = true;
        r[0] = r[0].min(x.lo[c]);
        r[1] = r[1].max(x.hi[c]);
        r[2] = r[2].min(y.lo[c]);
        r[3] = r[3].max(y.hi[c]);
    }
    any.then_some(r)
}

/// Bin every inlier step of the channels into `cells`; the irregularity, `None` without steps.
fn bin_all(d: &SearchData, x: &mut Channel, y: &mut Channel, out: &[bool], cells: &mut Cells) -> Option<f64> {
    let t = d.n_ckpt;
    let range = inlier_range(x, y, out)?;
    cells.reset(range);
    x.bin_for((range[0], range[1]), cells, true);
    y.bin_for((range[2], range[3]), cells, false);
    let g = cells.grid();
    let mut lens = [0.0f64; 64];
    for c in (0..d.n_coord).filter(|&c| !out[c]) {
        let row = c * t + 1..(c + 1) * t - 1;
        let (dx, dy) = (&x.d[row.clone()], &y.d[row.clone()]);
        let (xb, yb) = (&x.bins[row.clone()], &y.bins[row]);
        // The lengths first, in chunks small enough for the stack: a loop without the scatter vectorizes.
        for start in (0..dx.len()).step_by(lens.len()) {
            let end = (start + lens.len()).min(dx.len());
            let l = &mut lens[..end - start];
            for ((o, &a), &b) in l.iter_mut().zip(&dx[start..end]).zip(&dy[start..end]) {
                *o = (a * a + b * b).sqrt();
            }
            for (i, &len) in l.iter().enumerate() {
                let s = start + i;
                cells.push(xb[s] as usize * g + yb[s] as usize, dx[s], dy[s], len);
            }
        }
    }
    cells.finish();
    cells.irregularity()
}

/// The irregularity of a grouping given its raw group sums `Σ w_k mags_k` and total lengths (for the random
/// groupings, whose sums are built from shared prefixes).
pub(crate) fn irregularity_of_sums(
    d: &SearchData,
    cells: &mut Cells,
    (s1, len1): (&[f64], f64),
    (s2, len2): (&[f64], f64),
    out: &[bool],
) -> Option<f64> {
    let mut x = Channel::default();
    let mut y = Channel::default();
    x.compute(s1, d.factor(len1), d.n_coord, d.n_ckpt);
    y.compute(s2, d.factor(len2), d.n_coord, d.n_ckpt);
    bin_all(d, &mut x, &mut y, out, cells)
}
