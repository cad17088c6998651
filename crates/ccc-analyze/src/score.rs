//! The score pair of a classification (docs/analysis.md §7): `irregularity` of the inlier trajectories' flow, and the
//! `fraction` of outlier coordinates. Lower is better for both.

use serde::{Deserialize, Serialize};

use crate::trajectory::Trajectories;

/// The default grid size `G`.
pub const DEFAULT_GRID: usize = 100;

/// The averaged displacement field of the inlier steps `t → t+1` (`t = 1..T-2`) on a `G×G` grid.
///
/// Cells are indexed `ix * grid + iy`; edges follow `numpy.linspace(min, max, G+1)` over the origins, and a
/// value on the last edge falls in the last cell (as `scipy.stats.binned_statistic_2d`).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowField {
    /// `G`.
    pub grid: usize,
    /// `G+1` edges along x.
    pub x_edges: Vec<f64>,
    /// `G+1` edges along y.
    pub y_edges: Vec<f64>,
    /// Steps starting in each cell.
    pub count: Vec<u32>,
    /// Mean displacement x per cell (0 where empty).
    pub mean_dx: Vec<f64>,
    /// Mean displacement y per cell.
    pub mean_dy: Vec<f64>,
    /// Mean displacement length per cell.
    pub mean_len: Vec<f64>,
}

impl FlowField {
    /// Total number of steps binned.
    pub fn total(&self) -> u64 {
        self.count.iter().map(|&c| c as u64).sum()
    }

    /// `1 − Σ_b p_b |Q_b| / (L_b + 1e-6)`, or `None` when there are no steps (fewer than 3 checkpoints or no
    /// inliers): irregularity is then undefined.
    pub fn irregularity(&self) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let denom = total as f64 + 1e-8;
        let mut s = 0.0;
        for b in 0..self.count.len() {
            if self.count[b] == 0 {
                continue;
            }
            let p = self.count[b] as f64 / denom;
            let q = (self.mean_dx[b] * self.mean_dx[b] + self.mean_dy[b] * self.mean_dy[b]).sqrt();
            s += p * q / (self.mean_len[b] + 1e-6);
        }
        Some(1.0 - s)
    }
}

fn linspace(lo: f64, hi: f64, n_bins: usize) -> Vec<f64> {
    let step = (hi - lo) / n_bins as f64;
    let mut e: Vec<f64> = (0..=n_bins).map(|i| lo + i as f64 * step).collect();
    e[n_bins] = hi;
    e
}

/// The cell of `v` for `edges` (`numpy.digitize` semantics, the last edge inclusive).
fn bin_of(v: f64, edges: &[f64]) -> usize {
    let g = edges.len() - 1;
    // partition_point: number of edges <= v, i.e. numpy.digitize(v, edges, right=False).
    let i = edges.partition_point(|&e| e <= v);
    i.saturating_sub(1).min(g - 1)
}

/// Bin the inlier steps of `tr` into a flow field.
pub fn flow_field(tr: &Trajectories, inliers: &[usize], grid: usize) -> FlowField {
    let grid = grid.max(1);
    let n_t = tr.n_ckpt;
    let mut origins = Vec::new();
    let mut disp = Vec::new();
    for &c in inliers {
        for t in 1..n_t.saturating_sub(1) {
            let (x0, y0) = tr.point(c, t);
            let (x1, y1) = tr.point(c, t + 1);
            let (dx, dy) = (x1 - x0, y1 - y0);
            origins.push((x0, y0));
            disp.push((dx, dy, (dx * dx + dy * dy).sqrt()));
        }
    }
    let cells = grid * grid;
    let mut f = FlowField {
        grid,
        x_edges: vec![0.0; grid + 1],
        y_edges: vec![0.0; grid + 1],
        count: vec![0; cells],
        mean_dx: vec![0.0; cells],
        mean_dy: vec![0.0; cells],
        mean_len: vec![0.0; cells],
    };
    if origins.is_empty() {
        return f;
    }
    let (mut xlo, mut xhi, mut ylo, mut yhi) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in &origins {
        xlo = xlo.min(x);
        xhi = xhi.max(x);
        ylo = ylo.min(y);
        yhi = yhi.max(y);
    }
    // As `scipy.stats.binned_statistic_2d`: a zero-width range is widened by 0.5 on each side.
    if xlo == xhi {
        xlo -= 0.5;
        xhi += 0.5;
    }
    if ylo == yhi {
        ylo -= 0.5;
        yhi += 0.5;
    }
    f.x_edges = linspace(xlo, xhi, grid);
    f.y_edges = linspace(ylo, yhi, grid);
    for (&(x, y), &(dx, dy, len)) in origins.iter().zip(&disp) {
        let b = bin_of(x, &f.x_edges) * grid + bin_of(y, &f.y_edges);
        f.count[b] += 1;
        f.mean_dx[b] += dx;
        f.mean_dy[b] += dy;
        f.mean_len[b] += len;
    }
    for b in 0..cells {
        if f.count[b] > 0 {
            let n = f.count[b] as f64;
            f.mean_dx[b] /= n;
            f.mean_dy[b] /= n;
            f.mean_len[b] /= n;
        }
    }
    f
}

/// The score pair of a classification.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Irregularity of the inliers' flow ∈ [0, 1]; `None` when undefined (fewer than 3 checkpoints, no inliers).
    pub irregularity: Option<f64>,
    /// `|coords_out| / C`.
    pub fraction: f64,
}

/// Score a classification from its trajectories and coordinate split.
pub fn score(tr: &Trajectories, coords_in: &[usize], n_out: usize, grid: usize) -> Scores {
    let irregularity = flow_field(tr, coords_in, grid).irregularity();
    let fraction = if tr.n_coord == 0 { 0.0 } else { n_out as f64 / tr.n_coord as f64 };
    Scores { irregularity, fraction }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(n_coord: usize, n_ckpt: usize, f: impl Fn(usize, usize) -> (f64, f64)) -> Trajectories {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for c in 0..n_coord {
            for t in 0..n_ckpt {
                let (a, b) = f(c, t);
                x.push(a);
                y.push(b);
            }
        }
        Trajectories { n_coord, n_ckpt, x, y }
    }

    #[test]
    fn straight_parallel_flow_is_regular() {
        let t = tr(5, 6, |c, t| (t as f64, c as f64));
        let s = score(&t, &[0, 1, 2, 3, 4], 0, 100);
        assert!(s.irregularity.unwrap().abs() < 1e-5);
        assert_eq!(s.fraction, 0.0);
    }

    #[test]
    fn cancelling_steps_are_irregular() {
        // Two coordinates start at the same points and move in opposite directions.
        let t = tr(2, 4, |c, t| if c == 0 { (t as f64, 0.0) } else { ((t % 2) as f64, 0.0) });
        let f = flow_field(&t, &[0, 1], 1);
        assert_eq!(f.total(), 4);
        // Steps +1, +1, -1, +1 in one cell: |mean| = 0.5, mean length 1.
        let s = f.irregularity().unwrap();
        assert!((s - 0.5).abs() < 1e-5, "{s}");
    }

    #[test]
    fn undefined_with_two_checkpoints() {
        let t = tr(3, 2, |c, t| (t as f64, c as f64));
        let s = score(&t, &[0, 1], 1, 10);
        assert_eq!(s.irregularity, None);
        assert!((s.fraction - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn last_edge_is_inclusive() {
        let e = linspace(0.0, 1.0, 4);
        assert_eq!(bin_of(0.0, &e), 0);
        assert_eq!(bin_of(0.25, &e), 1);
        assert_eq!(bin_of(1.0, &e), 3);
    }
}
