//! The classification overview: one small heatmap per classification pipeline of the median-over-checkpoints
//! matrix (coordinates × components), rows reordered inliers-then-outliers and columns group 1-then-group 2
//! (then discarded components), with lines at the splits.

use ccc_core::CccTensor;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use rayon::prelude::*;

use crate::error::{DrawResult, FigureError};
use crate::names::short_method;
use crate::output::Figure;
use crate::panel::{self, text, wrap, Rect};
use crate::style::{self, ColorMap};
use ccc_analyze::files::summary::PipelineRecord;
use ccc_analyze::files::Status;

const W: u32 = 2400;
const COLS: usize = 8;
const PANEL_H: f64 = 330.0;
const TOP: f64 = 130.0;
const LO: f64 = -1.0;
const HI: f64 = 2.0;
const SPLIT: RGBColor = RGBColor(230, 0, 0);

/// `log10(median_t mags[c, t, k] / median_c(median_t mags[c, t, k]))` of a tensor (`C × K`, row-major): how far
/// each coordinate is from the typical coordinate of each component.
pub fn median_log_ratio(t: &CccTensor) -> Vec<f64> {
    let (n_c, n_t, n_k) = (t.n_coord, t.n_ckpt(), t.n_comp());
    let med = |v: &mut Vec<f64>| -> f64 {
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let m = v.len() / 2;
        if v.len() % 2 == 0 {
            (v[m - 1] + v[m]) / 2.0
        } else {
            v[m]
        }
    };
    let medians: Vec<f64> = (0..n_c * n_k)
        .into_par_iter()
        .map(|ck| {
            let (c, k) = (ck / n_k.max(1), ck % n_k.max(1));
            let mut v: Vec<f64> = (0..n_t).map(|s| t.mags[(c * n_t + s) * n_k + k] as f64).collect();
            med(&mut v)
        })
        .collect();
    let mut out = vec![0.0; n_c * n_k];
    for k in 0..n_k {
        let mut col: Vec<f64> = (0..n_c).map(|c| medians[c * n_k + k]).collect();
        let max = col.iter().copied().fold(0.0, f64::max);
        let m = med(&mut col);
        let eps = 1e-6 * max + 1e-30;
        for c in 0..n_c {
            out[c * n_k + k] = ((medians[c * n_k + k] + eps) / (m + eps)).log10();
        }
    }
    out
}

struct PanelData {
    title: Vec<String>,
    rows: Vec<usize>,
    cols: Vec<usize>,
    /// Row split (number of inliers) and column splits (end of group 1, end of group 2).
    row_split: Option<usize>,
    col_splits: Vec<usize>,
    failed: Option<String>,
}

/// The overview figure.
pub struct OverviewFigure {
    title: String,
    subtitle: String,
    n_coord: usize,
    n_comp: usize,
    values: Vec<f64>,
    panels: Vec<PanelData>,
}

impl std::fmt::Debug for OverviewFigure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverviewFigure").field("title", &self.title).field("panels", &self.panels.len()).finish()
    }
}

impl OverviewFigure {
    /// Prepare the overview for the pipelines of an analysis of `t`.
    pub fn new(t: &CccTensor, pipelines: &[PipelineRecord], title: String, subtitle: String) -> OverviewFigure {
        let (n_c, n_k) = (t.n_coord, t.n_comp());
        let values = median_log_ratio(t);
        let panels = pipelines
            .iter()
            .map(|p| {
                let g = &p.groups;
                let (rows, row_split) = match (&g.coords_in, &g.coords_out) {
                    (Some(i), Some(o)) => {
                        let rows: Vec<usize> = i.iter().chain(o).copied().filter(|&c| c < n_c).collect();
                        (rows, Some(i.len()))
                    }
                    _ => ((0..n_c).collect(), None),
                };
                let (cols, col_splits) = match (&g.comps_grp1, &g.comps_grp2) {
                    (Some(a), Some(b)) => {
                        let mut cols: Vec<usize> = a.iter().chain(b).copied().filter(|&k| k < n_k).collect();
                        let rest: Vec<usize> = (0..n_k).filter(|k| !a.contains(k) && !b.contains(k)).collect();
                        let splits = vec![a.len(), a.len() + b.len()];
                        cols.extend(rest);
                        (cols, splits)
                    }
                    _ => ((0..n_k).collect(), vec![]),
                };
                let failed =
                    (p.status == Status::Failed).then(|| p.error.clone().unwrap_or_else(|| "no groups".to_string()));
                let name = format!("{}. {}", p.index, short_method(&p.method));
                PanelData {
                    title: wrap(&name, 40).into_iter().take(3).collect(),
                    rows,
                    cols,
                    row_split,
                    col_splits,
                    failed,
                }
            })
            .collect();
        OverviewFigure { title, subtitle, n_coord: n_c, n_comp: n_k, values, panels }
    }

    fn grid_rows(&self) -> usize {
        self.panels.len().div_ceil(COLS).max(1)
    }

    /// The heatmap rectangle of panel `i`.
    pub fn panel_rect(&self, i: usize) -> Rect {
        let pw = W as f64 / COLS as f64;
        let (r, c) = (i / COLS, i % COLS);
        let x0 = c as f64 * pw;
        let y0 = TOP + r as f64 * PANEL_H;
        Rect::new(x0 + 30.0, y0 + 62.0, x0 + pw - 20.0, y0 + PANEL_H - 22.0)
    }
}

impl Figure for OverviewFigure {
    fn size(&self) -> (u32, u32) {
        (W, (TOP + self.grid_rows() as f64 * PANEL_H + 110.0) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), FigureError> {
        let cx = W as f64 / 2.0;
        text(root, &self.title, (cx, 20.0), &style::bold(28.0).color(&style::INK), HPos::Center, VPos::Top)?;
        text(root, &self.subtitle, (cx, 60.0), &style::text(18.0).color(&style::MUTED), HPos::Center, VPos::Top)?;
        let note = "rows: coordinates, inliers then outliers · columns: components, group 1 | group 2 | discarded · red lines: the splits";
        text(root, note, (cx, 88.0), &style::text(17.0).color(&style::MUTED), HPos::Center, VPos::Top)?;
        for (i, p) in self.panels.iter().enumerate() {
            let rect = self.panel_rect(i);
            let ts = style::text(13.0).color(&style::INK);
            let mut y = rect.y0 - 6.0 - 16.0 * (p.title.len() as f64 - 1.0);
            for l in &p.title {
                text(root, l, ((rect.x0 + rect.x1) / 2.0, y), &ts, HPos::Center, VPos::Bottom)?;
                y += 16.0;
            }
            if let Some(reason) = &p.failed {
                root.draw(&Rectangle::new(rect.corners(), RGBColor(235, 235, 235).filled())).d()?;
                for (j, l) in wrap(&format!("failed: {reason}"), 34).iter().take(4).enumerate() {
                    let pos = ((rect.x0 + rect.x1) / 2.0, rect.y0 + 30.0 + 18.0 * j as f64);
                    text(root, l, pos, &style::text(14.0).color(&style::MUTED), HPos::Center, VPos::Top)?;
                }
                continue;
            }
            let n_k = self.n_comp;
            panel::heatmap(
                root,
                rect,
                p.rows.len(),
                p.cols.len(),
                |r, c| self.values[p.rows[r] * n_k + p.cols[c]],
                |v| ColorMap::Viridis.at((v - LO) / (HI - LO)),
            )?;
            let st = ShapeStyle::from(&SPLIT).stroke_width(2);
            if let Some(s) = p.row_split {
                let y = (rect.y0 + rect.h() * s as f64 / p.rows.len().max(1) as f64).round() as i32;
                root.draw(&PathElement::new(vec![(rect.x0 as i32, y), (rect.x1 as i32, y)], st)).d()?;
            }
            for &s in &p.col_splits {
                if s == 0 || s >= p.cols.len() {
                    continue;
                }
                let x = (rect.x0 + rect.w() * s as f64 / p.cols.len() as f64).round() as i32;
                root.draw(&PathElement::new(vec![(x, rect.y0 as i32), (x, rect.y1 as i32)], st)).d()?;
            }
        }
        // Horizontal colour bar at the bottom.
        let (_, h) = self.size();
        let bar = Rect::new(cx - 400.0, h as f64 - 70.0, cx + 400.0, h as f64 - 46.0);
        let n = 200;
        for i in 0..n {
            let f = (i as f64 + 0.5) / n as f64;
            let x0 = (bar.x0 + bar.w() * i as f64 / n as f64).round() as i32;
            let x1 = (bar.x0 + bar.w() * (i + 1) as f64 / n as f64).round() as i32;
            let band = [(x0, bar.y0 as i32), (x1, bar.y1 as i32)];
            root.draw(&Rectangle::new(band, ColorMap::Viridis.at(f).filled())).d()?;
        }
        root.draw(&Rectangle::new(bar.corners(), ShapeStyle::from(&style::INK).stroke_width(1))).d()?;
        let ts = style::text(15.0).color(&style::INK);
        for v in [-1.0, 0.0, 1.0, 2.0] {
            let x = bar.x0 + (v - LO) / (HI - LO) * bar.w();
            let label = if v == LO {
                "≤ 0.1×".to_string()
            } else if v == HI {
                "≥ 100×".to_string()
            } else {
                format!("{}×", 10f64.powf(v))
            };
            text(root, &label, (x, bar.y1 + 4.0), &ts, HPos::Center, VPos::Top)?;
        }
        let label = format!(
            "median over checkpoints ÷ the component's median coordinate ({} coordinates × {} components, log scale)",
            self.n_coord, self.n_comp
        );
        text(root, &label, (cx, bar.y0 - 6.0), &style::text(16.0).color(&style::INK), HPos::Center, VPos::Bottom)?;
        Ok(())
    }
}
