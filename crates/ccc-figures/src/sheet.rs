//! The 2×2 trajectory sheet of one experiment (docs/figures.md): inliers with the mean trajectory, outliers with the
//! inlier box, the flow field with the score pair, and the component-group grid.

use ccc_analyze::{flow_field, Trajectories};
use ccc_core::Component;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::axis::{checkpoint_ticks, step_label};
use crate::error::{DrawResult, FigureError};
use crate::grid::{GridGeometry, GridLayout, Membership};
use crate::output::Figure;
use crate::panel::{self, padded, text, wrap, Axes, PlotArea, Rect};
use crate::style::{self, ColorMap};

/// Most inlier trajectories drawn in the inlier panel; beyond this an evenly spaced subset is drawn (the panel
/// title says so). The mean trajectory always uses every inlier.
pub const MAX_DRAWN_INLIERS: usize = 1200;
/// Outlier trajectories get a coordinate label at their end when there are at most this many.
const MAX_LABELLED_OUTLIERS: usize = 12;

const W: u32 = 2000;
const H: u32 = 1900;
const TITLE_H: f64 = 150.0;
const STRIP_W: f64 = 170.0;
const LEGEND_W: f64 = 230.0;

/// What a sheet shows: one groups record on one tensor.
#[derive(Debug, Clone)]
pub struct SheetInput<'a> {
    /// Experiment id, if the sheet is for a listed experiment.
    pub id: Option<usize>,
    /// Source of the groups (e.g. `TCI-comps-coords`).
    pub source: &'a str,
    /// Method (instruction string).
    pub method: &'a str,
    /// Context line: model, shape, steps, aggregation.
    pub context: String,
    /// The tensor's components (for the group grid).
    pub components: &'a [Component],
    /// The steps of the trajectories' checkpoints.
    pub steps: &'a [i64],
    /// The (unsmoothed) trajectories for `(grp1, grp2)`.
    pub trajectories: &'a Trajectories,
    /// Inlier coordinates.
    pub coords_in: &'a [usize],
    /// Outlier coordinates.
    pub coords_out: &'a [usize],
    /// Component group 1.
    pub grp1: &'a [usize],
    /// Component group 2.
    pub grp2: &'a [usize],
    /// `(irregularity, fraction)` to show in the flow panel's title.
    pub scores: (Option<f64>, f64),
    /// Grid of the irregularity score (flow field).
    pub grid: usize,
    /// Display smoothing window (moving average over checkpoints, valid mode).
    pub smooth: Option<usize>,
}

/// Pixel geometry of a sheet, for tests and for readers of the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SheetLayout {
    /// Plot areas of the inlier, outlier and flow panels, then the area of the group grid panel.
    pub panels: [Rect; 4],
    /// Cells of the group grid.
    pub grid: GridGeometry,
}

/// A drawn arrow of the flow field: origin, displacement, share of steps.
#[derive(Debug, Clone, Copy)]
struct Arrow {
    x: f64,
    y: f64,
    dx: f64,
    dy: f64,
    share: f64,
}

/// A trajectory sheet, ready to draw (see [`Figure`]).
#[derive(Debug, Clone)]
pub struct Sheet {
    title: String,
    method_lines: Vec<String>,
    context: String,
    steps: Vec<i64>,
    /// Checkpoint position (may be fractional after smoothing) of each drawn point.
    point_ckpt: Vec<f64>,
    smooth: usize,
    n_in: usize,
    inliers: Vec<Vec<(f64, f64)>>,
    outliers: Vec<(usize, Vec<(f64, f64)>)>,
    mean: Vec<(f64, f64)>,
    in_range: ((f64, f64), (f64, f64)),
    out_range: ((f64, f64), (f64, f64)),
    flow_range: ((f64, f64), (f64, f64)),
    arrows: Vec<Arrow>,
    flow_grid: usize,
    scores: (Option<f64>, f64),
    layout: GridLayout,
    member: Vec<Membership>,
}

fn smooth_series(v: &[(f64, f64)], w: usize) -> Vec<(f64, f64)> {
    if w <= 1 || w > v.len() {
        return v.to_vec();
    }
    let mut out = Vec::with_capacity(v.len() + 1 - w);
    let (mut sx, mut sy) = (0.0, 0.0);
    for (i, &(x, y)) in v.iter().enumerate() {
        sx += x;
        sy += y;
        if i >= w {
            sx -= v[i - w].0;
            sy -= v[i - w].1;
        }
        if i + 1 >= w {
            out.push((sx / w as f64, sy / w as f64));
        }
    }
    out
}

fn bounds<'a>(series: impl Iterator<Item = &'a Vec<(f64, f64)>>) -> Option<((f64, f64), (f64, f64))> {
    let mut b = ((f64::INFINITY, f64::NEG_INFINITY), (f64::INFINITY, f64::NEG_INFINITY));
    let mut any = false;
    for s in series {
        for &(x, y) in s {
            if x.is_finite() && y.is_finite() {
                any = true;
                b.0 .0 = b.0 .0.min(x);
                b.0 .1 = b.0 .1.max(x);
                b.1 .0 = b.1 .0.min(y);
                b.1 .1 = b.1 .1.max(y);
            }
        }
    }
    any.then_some(b)
}

fn union(a: Option<((f64, f64), (f64, f64))>, b: Option<((f64, f64), (f64, f64))>) -> Option<((f64, f64), (f64, f64))> {
    match (a, b) {
        (Some(a), Some(b)) => {
            Some(((a.0 .0.min(b.0 .0), a.0 .1.max(b.0 .1)), (a.1 .0.min(b.1 .0), a.1 .1.max(b.1 .1))))
        }
        (a, None) => a,
        (None, b) => b,
    }
}

fn pad_range(b: Option<((f64, f64), (f64, f64))>) -> ((f64, f64), (f64, f64)) {
    match b {
        Some((x, y)) => (padded(x.0, x.1, 0.04), padded(y.0, y.1, 0.04)),
        None => ((0.0, 1.0), (0.0, 1.0)),
    }
}

/// Format a score for a title.
pub(crate) fn fmt_score(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.4}"),
        _ => "n/a".to_string(),
    }
}

impl Sheet {
    /// Prepare a sheet: smooth and subsample the drawn trajectories, compute the mean and the flow field.
    ///
    /// # Panics
    /// When a coordinate index is outside the trajectories (callers validate groups against the tensor).
    pub fn new(s: &SheetInput<'_>) -> Sheet {
        let tr = s.trajectories;
        let n_t = tr.n_ckpt;
        let w = s.smooth.unwrap_or(1).max(1);
        let w = if w > n_t { 1 } else { w };
        let path = |c: usize| -> Vec<(f64, f64)> {
            let raw: Vec<(f64, f64)> = (0..n_t).map(|t| tr.point(c, t)).collect();
            smooth_series(&raw, w)
        };
        let n_pts = if n_t == 0 { 0 } else { n_t + 1 - w };
        let all_in: Vec<Vec<(f64, f64)>> = s.coords_in.iter().map(|&c| path(c)).collect();
        let mut mean = vec![(0.0, 0.0); n_pts];
        for p in &all_in {
            for (m, q) in mean.iter_mut().zip(p) {
                m.0 += q.0;
                m.1 += q.1;
            }
        }
        if all_in.is_empty() {
            mean.clear();
        } else {
            let n = all_in.len() as f64;
            mean.iter_mut().for_each(|m| *m = (m.0 / n, m.1 / n));
        }
        let in_bounds = bounds(all_in.iter());
        let inliers: Vec<Vec<(f64, f64)>> = if all_in.len() > MAX_DRAWN_INLIERS {
            (0..MAX_DRAWN_INLIERS).map(|i| all_in[i * all_in.len() / MAX_DRAWN_INLIERS].clone()).collect()
        } else {
            all_in
        };
        let outliers: Vec<(usize, Vec<(f64, f64)>)> = s.coords_out.iter().map(|&c| (c, path(c))).collect();
        let in_range = pad_range(in_bounds);
        let in_box = Some(in_range);
        let out_range = pad_range(union(bounds(outliers.iter().map(|o| &o.1)), in_box));

        let field = flow_field(tr, s.coords_in, s.grid);
        let total = field.total() as f64;
        let g = field.grid;
        let mut arrows = Vec::new();
        for ix in 0..g {
            for iy in 0..g {
                let b = ix * g + iy;
                if field.count[b] == 0 {
                    continue;
                }
                arrows.push(Arrow {
                    x: (field.x_edges[ix] + field.x_edges[ix + 1]) / 2.0,
                    y: (field.y_edges[iy] + field.y_edges[iy + 1]) / 2.0,
                    dx: field.mean_dx[b],
                    dy: field.mean_dy[b],
                    share: field.count[b] as f64 / total.max(1.0),
                });
            }
        }
        let ends: Vec<(f64, f64)> = arrows.iter().flat_map(|a| [(a.x, a.y), (a.x + a.dx, a.y + a.dy)]).collect();
        let flow_range = pad_range(bounds(std::iter::once(&ends)));

        let title = match s.id {
            Some(id) => format!("Experiment {id} · {}", s.source),
            None => s.source.to_string(),
        };
        let method_lines = wrap(s.method, ((W as f64 - 80.0) / (20.0 * 0.6)) as usize).into_iter().take(2).collect();
        Sheet {
            title,
            method_lines,
            context: s.context.clone(),
            steps: s.steps.to_vec(),
            point_ckpt: (0..n_pts).map(|i| i as f64 + (w - 1) as f64 / 2.0).collect(),
            smooth: w,
            n_in: s.coords_in.len(),
            inliers,
            outliers,
            mean,
            in_range,
            out_range,
            flow_range,
            arrows,
            flow_grid: g,
            scores: s.scores,
            layout: GridLayout::new(s.components),
            member: (0..s.components.len()).map(|k| Membership::of(k, s.grp1, s.grp2)).collect(),
        }
    }

    /// The grid layout (rows, columns, cell of each component).
    pub fn grid_layout(&self) -> &GridLayout {
        &self.layout
    }

    /// Where the panels and the grid cells are drawn.
    pub fn layout(&self) -> SheetLayout {
        let body_w = W as f64 - STRIP_W;
        let col_w = body_w / 2.0;
        let row_h = (H as f64 - TITLE_H) / 2.0;
        let cell =
            |col: f64, row: f64, w: f64| Rect::new(col, TITLE_H + row * row_h, col + w, TITLE_H + (row + 1.0) * row_h);
        let plot = |r: Rect| r.inset(56.0, 30.0, 86.0, 118.0);
        let grid_panel = cell(col_w, 1.0, W as f64 - col_w);
        SheetLayout {
            panels: [
                plot(cell(0.0, 0.0, col_w)),
                plot(cell(col_w, 0.0, col_w)),
                plot(cell(0.0, 1.0, col_w)),
                grid_panel,
            ],
            grid: self.grid_geometry(grid_panel),
        }
    }

    fn grid_label_size(&self, cell_h: f64) -> f64 {
        (cell_h * 0.78).clamp(12.0, 17.0)
    }

    fn grid_geometry(&self, panel: Rect) -> GridGeometry {
        let n_rows = self.layout.rows.len().max(1) as f64;
        let n_cols = self.layout.cols.len().max(1) as f64;
        let legend_w = LEGEND_W;
        let top = panel.y0 + 56.0 + if self.layout.by_layer { 50.0 } else { 10.0 };
        let bottom = panel.y1 - 30.0;
        let cell_h = ((bottom - top) / n_rows).min(48.0);
        let label_w =
            self.layout.rows.iter().map(|r| panel::text_width(r, self.grid_label_size(cell_h))).fold(0.0, f64::max)
                + 16.0;
        let avail_w = panel.w() - legend_w - label_w - 40.0;
        let cell_w = (avail_w / n_cols).min(if self.layout.by_layer { 90.0 } else { 160.0 });
        let left = panel.x0 + 20.0 + label_w + (avail_w - cell_w * n_cols) / 2.0;
        GridGeometry { left, top, cell_w, cell_h }
    }

    fn draw_trajectories<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        a: &PlotArea,
        lines: &[&Vec<(f64, f64)>],
        colors: &[RGBAColor],
    ) -> Result<(), FigureError> {
        for (i, l) in lines.iter().enumerate() {
            let pts: Vec<(i32, i32)> = l.iter().map(|&(x, y)| a.map(x, y)).collect();
            root.draw(&PathElement::new(pts, ShapeStyle::from(&colors[i % colors.len()]).stroke_width(1))).d()?;
        }
        Ok(())
    }

    fn draw_mean<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, a: &PlotArea) -> Result<(), FigureError> {
        if self.mean.is_empty() {
            return Ok(());
        }
        let pts: Vec<(i32, i32)> = self.mean.iter().map(|&(x, y)| a.map(x, y)).collect();
        let last = (self.steps.len().max(2) - 1) as f64;
        let colour = |i: usize| ColorMap::Viridis.at(self.point_ckpt[i] / last);
        // A white casing keeps the gradient visible over dense trajectories.
        root.draw(&PathElement::new(pts.clone(), ShapeStyle::from(&WHITE).stroke_width(11))).d()?;
        for i in 0..pts.len().saturating_sub(1) {
            root.draw(&PathElement::new(vec![pts[i], pts[i + 1]], ShapeStyle::from(&colour(i)).stroke_width(7))).d()?;
            root.draw(&Circle::new(pts[i + 1], 3, colour(i + 1).filled())).d()?;
        }
        root.draw(&Circle::new(pts[0], 7, colour(0).filled())).d()?;
        root.draw(&Circle::new(pts[0], 7, ShapeStyle::from(&WHITE).stroke_width(2))).d()?;
        Ok(())
    }

    fn panel_title<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        a: &PlotArea,
        title: &str,
        note: &str,
    ) -> Result<(), FigureError> {
        let x = (a.rect.x0 + a.rect.x1) / 2.0;
        text(root, title, (x, a.rect.y0 - 30.0), &style::bold(21.0).color(&style::INK), HPos::Center, VPos::Bottom)?;
        if !note.is_empty() {
            text(
                root,
                note,
                (x, a.rect.y0 - 8.0),
                &style::text(16.0).color(&style::MUTED),
                HPos::Center,
                VPos::Bottom,
            )?;
        }
        Ok(())
    }

    fn draw_colorbar<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        top: &PlotArea,
    ) -> Result<(), FigureError> {
        let x0 = W as f64 - STRIP_W + 28.0;
        let rect = Rect::new(x0, top.rect.y0 + 20.0, x0 + 26.0, top.rect.y1);
        let n = self.steps.len();
        let last = (n.max(2) - 1) as f64;
        let spacing = rect.h() / last.max(1.0);
        let idx = checkpoint_ticks(n, spacing, |_| 26.0);
        let ticks: Vec<(f64, String)> = idx.iter().map(|&i| (i as f64 / last, step_label(self.steps[i]))).collect();
        panel::colorbar(root, rect, ColorMap::Viridis, &ticks, "step", 16.0)?;
        let note = style::text(14.0).color(&style::MUTED);
        let y = rect.y1 + 14.0;
        text(root, "mean inlier", (rect.x0 - 6.0, y), &note, HPos::Left, VPos::Top)?;
        text(root, "trajectory,", (rect.x0 - 6.0, y + 18.0), &note, HPos::Left, VPos::Top)?;
        text(root, "by checkpoint", (rect.x0 - 6.0, y + 36.0), &note, HPos::Left, VPos::Top)?;
        Ok(())
    }

    fn draw_grid<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, panel: Rect) -> Result<(), FigureError> {
        let geo = self.grid_geometry(panel);
        let g = &self.layout;
        let title = if g.by_layer { "component groups (columns: layers)" } else { "component groups (compact)" };
        let grid_w = geo.cell_w * g.cols.len() as f64;
        let cx = (geo.left + geo.left + grid_w).max(2.0 * panel.x0 + 300.0) / 2.0;
        text(root, title, (cx, panel.y0 + 26.0), &style::bold(21.0).color(&style::INK), HPos::Center, VPos::Bottom)?;
        let fs = self.grid_label_size(geo.cell_h);
        let label = style::text(fs).color(&style::INK);
        let n_rows = g.rows.len();
        let every = ((fs * 1.1) / geo.cell_h).ceil().max(1.0) as usize;
        for (r, name) in g.rows.iter().enumerate() {
            // Label the first row of each kind, then every `every`-th row of the kind.
            let first = g.row_kinds.iter().position(|&k| k == g.row_kinds[r]).unwrap_or(r);
            if (r - first) % every == 0 {
                let (_, y) = geo.cell_center(r, 0);
                text(root, name, (geo.left - 10.0, y), &label, HPos::Right, VPos::Center)?;
            }
        }
        if g.by_layer {
            let cs = (geo.cell_w * 0.55).clamp(10.0, 17.0);
            let every_c = ((cs * 2.0) / geo.cell_w).ceil().max(1.0) as usize;
            let cl = style::text(cs).color(&style::INK);
            for (c, name) in g.cols.iter().enumerate() {
                if c == 0 || c % every_c == 0 || name == "emb" || c + 1 == g.cols.len() {
                    let (x, _) = geo.cell_center(0, c);
                    text(root, name, (x, geo.top - 6.0), &cl, HPos::Center, VPos::Bottom)?;
                }
            }
            let xl = style::text(16.0).color(&style::MUTED);
            text(root, "layer", (geo.left + grid_w / 2.0, geo.top - 10.0 - cs * 1.2), &xl, HPos::Center, VPos::Bottom)?;
        }
        // Cells.
        let border = ShapeStyle::from(&RGBColor(200, 200, 200)).stroke_width(1);
        for (k, &(r, c)) in g.cells.iter().enumerate() {
            let (x0, y0, x1, y1) = geo.cell_rect(r, c);
            let rect = [(x0.round() as i32, y0.round() as i32), (x1.round() as i32, y1.round() as i32)];
            let m = self.member[k];
            let fill = match m {
                Membership::Group1 => style::GROUP1,
                Membership::Group2 => style::GROUP2,
                Membership::Both => style::BOTH,
                Membership::Discarded => style::DISCARDED,
            };
            root.draw(&Rectangle::new(rect, fill.filled())).d()?;
            if m == Membership::Discarded {
                let (cx, cy) = geo.cell_center(r, c);
                let d = (geo.cell_w.min(geo.cell_h) * 0.3).max(1.5);
                let cross = ShapeStyle::from(&style::CROSS.mix(0.6)).stroke_width(1);
                let p = |dx: f64, dy: f64| ((cx + dx).round() as i32, (cy + dy).round() as i32);
                root.draw(&PathElement::new(vec![p(-d, -d), p(d, d)], cross)).d()?;
                root.draw(&PathElement::new(vec![p(-d, d), p(d, -d)], cross)).d()?;
            }
            if geo.cell_h >= 5.0 && geo.cell_w >= 5.0 {
                root.draw(&Rectangle::new(rect, border)).d()?;
            }
        }
        // Separators between kinds.
        let sep = ShapeStyle::from(&style::INK).stroke_width(1);
        for r in 1..n_rows {
            if g.row_kinds[r - 1] != g.row_kinds[r] {
                // From the first to the last column that has a cell in either adjacent row.
                let cols = g.cells.iter().filter(|&&(row, _)| row == r - 1 || row == r).map(|&(_, c)| c);
                let (c0, c1) = cols.fold((usize::MAX, 0), |(a, b), c| (a.min(c), b.max(c)));
                let y = (geo.top + r as f64 * geo.cell_h).round() as i32;
                let x0 = geo.left + c0 as f64 * geo.cell_w - 4.0;
                let x1 = geo.left + (c1 + 1) as f64 * geo.cell_w + 4.0;
                root.draw(&PathElement::new(vec![(x0 as i32, y), (x1 as i32, y)], sep)).d()?;
            }
        }
        // Legend with counts.
        let count = |m: Membership| self.member.iter().filter(|&&x| x == m).count();
        let entries = [
            (style::GROUP1, "group 1", count(Membership::Group1), false),
            (style::GROUP2, "group 2", count(Membership::Group2), false),
            (style::BOTH, "both", count(Membership::Both), false),
            (style::DISCARDED, "discarded", count(Membership::Discarded), true),
        ];
        let lx = (geo.left + grid_w + 50.0).min(panel.x1 - LEGEND_W + 20.0);
        let mut ly = geo.top + 10.0;
        let ls = style::text(17.0).color(&style::INK);
        for (col, name, n, cross) in entries {
            let r = [(lx as i32, ly as i32), (lx as i32 + 28, ly as i32 + 28)];
            root.draw(&Rectangle::new(r, col.filled())).d()?;
            root.draw(&Rectangle::new(r, ShapeStyle::from(&style::MUTED).stroke_width(1))).d()?;
            if cross {
                let c = ShapeStyle::from(&style::CROSS).stroke_width(1);
                root.draw(&PathElement::new(vec![(lx as i32 + 6, ly as i32 + 6), (lx as i32 + 22, ly as i32 + 22)], c))
                    .d()?;
                root.draw(&PathElement::new(vec![(lx as i32 + 6, ly as i32 + 22), (lx as i32 + 22, ly as i32 + 6)], c))
                    .d()?;
            }
            text(root, &format!("{name} ({n})"), (lx + 38.0, ly + 14.0), &ls, HPos::Left, VPos::Center)?;
            ly += 42.0;
        }
        Ok(())
    }

    fn draw_flow<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, a: &PlotArea) -> Result<(), FigureError> {
        let max_share = self.arrows.iter().map(|a| a.share).fold(0.0, f64::max);
        // Small shares first, so the busy cells are drawn on top.
        let mut order: Vec<usize> = (0..self.arrows.len()).collect();
        order.sort_by(|&i, &j| self.arrows[i].share.total_cmp(&self.arrows[j].share));
        for i in order {
            let ar = self.arrows[i];
            let f = if max_share > 0.0 { (ar.share / max_share).sqrt() } else { 1.0 };
            let colour = style::INK.mix(0.15 + 0.85 * f);
            let st = ShapeStyle::from(&colour).stroke_width(if f > 0.5 { 2 } else { 1 });
            let (x0, y0) = a.map_f(ar.x, ar.y);
            let (x1, y1) = a.map_f(ar.x + ar.dx, ar.y + ar.dy);
            let (vx, vy) = (x1 - x0, y1 - y0);
            let len = (vx * vx + vy * vy).sqrt();
            let p = |x: f64, y: f64| (x.round() as i32, y.round() as i32);
            if len < 1.5 {
                root.draw(&Circle::new(p(x0, y0), 1, colour.filled())).d()?;
                continue;
            }
            root.draw(&PathElement::new(vec![p(x0, y0), p(x1, y1)], st)).d()?;
            let head = (len * 0.35).min(9.0);
            let (ux, uy) = (vx / len, vy / len);
            let (c, s) = (0.906, 0.423); // ±25°
            let l = (x1 - head * (ux * c - uy * s), y1 - head * (uy * c + ux * s));
            let r = (x1 - head * (ux * c + uy * s), y1 - head * (uy * c - ux * s));
            root.draw(&PathElement::new(vec![p(l.0, l.1), p(x1, y1), p(r.0, r.1)], st)).d()?;
        }
        Ok(())
    }
}

impl Figure for Sheet {
    fn size(&self) -> (u32, u32) {
        (W, H)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), FigureError> {
        let cx = W as f64 / 2.0;
        text(root, &self.title, (cx, 16.0), &style::bold(30.0).color(&style::INK), HPos::Center, VPos::Top)?;
        let mut y = 58.0;
        for l in &self.method_lines {
            text(root, l, (cx, y), &style::text(20.0).color(&style::INK), HPos::Center, VPos::Top)?;
            y += 26.0;
        }
        text(root, &self.context, (cx, y + 4.0), &style::text(17.0).color(&style::MUTED), HPos::Center, VPos::Top)?;

        let lay = self.layout();
        let axes = Axes {
            xlabel: "group 1 (log, normalized)",
            ylabel: "group 2 (log, normalized)",
            tick_size: 16.0,
            label_size: 19.0,
            numeric_x: true,
        };
        let smooth_note =
            if self.smooth > 1 { format!(", moving average of {} checkpoints", self.smooth) } else { String::new() };

        // 1. Inliers.
        let a1 = PlotArea { rect: lay.panels[0], x: self.in_range.0, y: self.in_range.1 };
        axes.draw_grid(root, &a1)?;
        let alpha = (10.0 / (self.inliers.len().max(1) as f64).sqrt()).clamp(0.06, 0.6);
        let lines: Vec<&Vec<(f64, f64)>> = self.inliers.iter().collect();
        self.draw_trajectories(root, &a1, &lines, &[style::INLIER.mix(alpha)])?;
        self.draw_mean(root, &a1)?;
        axes.draw_frame(root, &a1)?;
        let drawn = if self.inliers.len() < self.n_in {
            format!("{} of {} drawn (evenly spaced){smooth_note}", self.inliers.len(), self.n_in)
        } else {
            format!("thin: each inlier; thick: their mean{smooth_note}")
        };
        self.panel_title(root, &a1, &format!("inliers: {} coordinates", self.n_in), &drawn)?;

        // 2. Outliers.
        let a2 = PlotArea { rect: lay.panels[1], x: self.out_range.0, y: self.out_range.1 };
        axes.draw_grid(root, &a2)?;
        let (bx0, by0) = a2.map(self.in_range.0 .0, self.in_range.1 .1);
        let (bx1, by1) = a2.map(self.in_range.0 .1, self.in_range.1 .0);
        let palette: Vec<RGBAColor> = style::QUALITATIVE.iter().map(|c| c.mix(0.85)).collect();
        let lines: Vec<&Vec<(f64, f64)>> = self.outliers.iter().map(|o| &o.1).collect();
        self.draw_trajectories(root, &a2, &lines, &palette)?;
        self.draw_mean(root, &a2)?;
        root.draw(&Rectangle::new([(bx0, by0), (bx1, by1)], ShapeStyle::from(&BLACK).stroke_width(2))).d()?;
        if self.outliers.len() <= MAX_LABELLED_OUTLIERS {
            let ls = style::text(15.0);
            for (i, (c, l)) in self.outliers.iter().enumerate() {
                if let Some(&(x, y)) = l.last() {
                    let (px, py) = a2.map_f(x, y);
                    let col = style::QUALITATIVE[i % style::QUALITATIVE.len()];
                    text(root, &format!("{c}"), (px + 5.0, py - 3.0), &ls.color(&col), HPos::Left, VPos::Bottom)?;
                }
            }
        }
        if self.outliers.is_empty() {
            let (x, y) = ((a2.rect.x0 + a2.rect.x1) / 2.0, a2.rect.y0 + 40.0);
            text(
                root,
                "no outlier coordinates",
                (x, y),
                &style::text(20.0).color(&style::MUTED),
                HPos::Center,
                VPos::Top,
            )?;
        }
        axes.draw_frame(root, &a2)?;
        let note = if self.outliers.len() <= MAX_LABELLED_OUTLIERS && !self.outliers.is_empty() {
            "labels: coordinate index; black box: extent of the inlier panel"
        } else {
            "black box: extent of the inlier panel"
        };
        self.panel_title(root, &a2, &format!("outliers: {} coordinates", self.outliers.len()), note)?;
        self.draw_colorbar(root, &a1)?;

        // 3. Flow field.
        let a3 = PlotArea { rect: lay.panels[2], x: self.flow_range.0, y: self.flow_range.1 };
        axes.draw_grid(root, &a3)?;
        self.draw_flow(root, &a3)?;
        if self.arrows.is_empty() {
            let (x, y) = ((a3.rect.x0 + a3.rect.x1) / 2.0, a3.rect.y0 + 40.0);
            let why = "no steps to bin (fewer than 3 checkpoints or no inliers)";
            text(root, why, (x, y), &style::text(18.0).color(&style::MUTED), HPos::Center, VPos::Top)?;
        }
        axes.draw_frame(root, &a3)?;
        let title = format!(
            "flow field · irregularity {} · fraction {}",
            fmt_score(self.scores.0),
            fmt_score(Some(self.scores.1))
        );
        let note = format!(
            "mean inlier step per cell of the {g}×{g} score grid (unsmoothed); darker: more steps",
            g = self.flow_grid
        );
        self.panel_title(root, &a3, &title, &note)?;

        // 4. Component groups.
        self.draw_grid(root, lay.panels[3])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_is_a_valid_moving_average() {
        let v: Vec<(f64, f64)> = (0..5).map(|i| (i as f64, 2.0 * i as f64)).collect();
        let s = smooth_series(&v, 3);
        assert_eq!(s, vec![(1.0, 2.0), (2.0, 4.0), (3.0, 6.0)]);
        assert_eq!(smooth_series(&v, 1), v);
        assert_eq!(smooth_series(&v, 9), v);
    }
}
