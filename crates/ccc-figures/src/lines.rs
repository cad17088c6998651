//! Per-coordinate curves against checkpoints: the 1-D aggregate `Σ_k mags[c, t, k]` and one component
//! `mags[c, t, k]`.
//!
//! The x axis is categorical: checkpoints are evenly spaced and labelled with their real training steps, since steps
//! are often spaced irregularly (0, 1, 2, 4, …, 512, 1000, 2000, …).

use ccc_core::CccTensor;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::axis::{checkpoint_ticks, step_label};
use crate::error::{DrawResult, FigureError};
use crate::output::Figure;
use crate::panel::{padded, text, text_width, Axes, PlotArea, Rect};
use crate::style;

/// How many coordinates are highlighted (by their largest value) and labelled.
pub const HIGHLIGHTED: usize = 8;

const W: u32 = 2000;
const H: u32 = 1250;

/// Curves of every coordinate over the checkpoints.
#[derive(Debug, Clone)]
pub struct CurvesFigure {
    title: String,
    subtitle: String,
    ylabel: String,
    steps: Vec<i64>,
    /// `values[c * T + t]`.
    values: Vec<f64>,
    n_coord: usize,
}

impl CurvesFigure {
    /// The 1-D aggregate: `Σ_k mags[c, t, k]` of every coordinate.
    pub fn aggregate(t: &CccTensor, context: &str) -> CurvesFigure {
        let (n_t, n_k) = (t.n_ckpt(), t.n_comp());
        let values = t.mags.chunks(n_k.max(1)).map(|row| row.iter().map(|&v| v as f64).sum()).collect();
        CurvesFigure {
            title: format!("Sum over all {n_k} components, per coordinate — {}", t.meta.model),
            subtitle: context.to_string(),
            ylabel: "Σ_k mags[c, t, k]".into(),
            steps: t.steps.clone(),
            values: if n_t == 0 { vec![] } else { values },
            n_coord: t.n_coord,
        }
    }

    /// One component `k`: `mags[c, t, k]` of every coordinate.
    ///
    /// # Panics
    /// When `k` is not a component of `t`.
    pub fn component(t: &CccTensor, k: usize, context: &str) -> CurvesFigure {
        assert!(k < t.n_comp(), "component {k} of {}", t.n_comp());
        let name = t.meta.components[k].name();
        let values = (0..t.n_coord * t.n_ckpt()).map(|ct| t.mags[ct * t.n_comp() + k] as f64).collect();
        CurvesFigure {
            title: format!("Component {name}, per coordinate — {}", t.meta.model),
            subtitle: context.to_string(),
            ylabel: format!("mags[c, t, {name}]  ({})", t.meta.summary.name()),
            steps: t.steps.clone(),
            values,
            n_coord: t.n_coord,
        }
    }

    /// The figure's title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The plotting area in pixels.
    pub fn plot_rect(&self) -> Rect {
        Rect::new(150.0, 130.0, W as f64 - 190.0, H as f64 - 120.0)
    }

    fn highlighted(&self) -> Vec<usize> {
        let n_t = self.steps.len();
        let mut peak: Vec<(usize, f64)> = (0..self.n_coord)
            .map(|c| (c, self.values[c * n_t..(c + 1) * n_t].iter().copied().fold(f64::NEG_INFINITY, f64::max)))
            .collect();
        peak.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        peak.into_iter().take(HIGHLIGHTED.min(self.n_coord)).map(|p| p.0).collect()
    }
}

impl Figure for CurvesFigure {
    fn size(&self) -> (u32, u32) {
        (W, H)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), FigureError> {
        let rect = self.plot_rect();
        let cx = W as f64 / 2.0;
        text(root, &self.title, (cx, 22.0), &style::bold(28.0).color(&style::INK), HPos::Center, VPos::Top)?;
        text(root, &self.subtitle, (cx, 62.0), &style::text(18.0).color(&style::MUTED), HPos::Center, VPos::Top)?;
        let n_t = self.steps.len();
        let (lo, hi) = self
            .values
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |a, &v| (a.0.min(v), a.1.max(v)));
        let y = padded(lo.min(0.0), hi, 0.04);
        let area = PlotArea { rect, x: (-0.3, (n_t.max(2) - 1) as f64 + 0.3), y };
        let axes = Axes { xlabel: "", ylabel: &self.ylabel, tick_size: 17.0, label_size: 20.0, numeric_x: false };
        axes.draw_grid(root, &area)?;
        let hi_set = self.highlighted();
        let alpha = (12.0 / (self.n_coord.max(1) as f64).sqrt()).clamp(0.08, 0.7);
        let faint = style::INLIER.mix(alpha);
        for c in 0..self.n_coord {
            if hi_set.contains(&c) {
                continue;
            }
            let pts: Vec<(i32, i32)> = (0..n_t).map(|t| area.map(t as f64, self.values[c * n_t + t])).collect();
            root.draw(&PathElement::new(pts, ShapeStyle::from(&faint).stroke_width(1))).d()?;
        }
        // Highlighted curves and their labels (pushed apart vertically so they never overlap).
        let mut labels: Vec<(f64, usize, RGBColor)> = Vec::new();
        for (i, &c) in hi_set.iter().enumerate() {
            let col = style::QUALITATIVE[i % style::QUALITATIVE.len()];
            let pts: Vec<(i32, i32)> = (0..n_t).map(|t| area.map(t as f64, self.values[c * n_t + t])).collect();
            root.draw(&PathElement::new(pts, ShapeStyle::from(&col).stroke_width(3))).d()?;
            if n_t > 0 {
                labels.push((area.map_f(0.0, self.values[c * n_t + n_t - 1]).1, c, col));
            }
        }
        labels.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Push labels apart downwards, then back up from the bottom edge if they overflow it.
        let gap = 20.0;
        let mut ys: Vec<f64> = Vec::with_capacity(labels.len());
        for l in &labels {
            let y = ys.last().map_or(l.0, |&p: &f64| l.0.max(p + gap));
            ys.push(y);
        }
        let mut limit = rect.y1;
        for y in ys.iter_mut().rev() {
            *y = y.min(limit);
            limit = *y - gap;
        }
        for ((_, c, col), y) in labels.into_iter().zip(ys) {
            text(
                root,
                &format!("c{c}"),
                (rect.x1 + 10.0, y),
                &style::bold(16.0).color(&col),
                HPos::Left,
                VPos::Center,
            )?;
        }
        axes.draw_frame(root, &area)?;
        // Categorical x axis labelled with the real steps.
        let ts = style::text(16.0).color(&style::INK);
        let spacing = rect.w() / (n_t.max(2) - 1) as f64;
        let ticks = checkpoint_ticks(n_t, spacing, |i| text_width(&step_label(self.steps[i]), 16.0));
        let ink = ShapeStyle::from(&style::INK).stroke_width(1);
        for &i in &ticks {
            let (px, _) = area.map_f(i as f64, area.y.0);
            root.draw(&PathElement::new(vec![(px as i32, rect.y1 as i32), (px as i32, rect.y1 as i32 + 6)], ink))
                .d()?;
            text(root, &step_label(self.steps[i]), (px, rect.y1 + 9.0), &ts, HPos::Center, VPos::Top)?;
        }
        for i in 0..n_t {
            let (px, _) = area.map_f(i as f64, area.y.0);
            root.draw(&PathElement::new(vec![(px as i32, rect.y1 as i32), (px as i32, rect.y1 as i32 + 3)], ink))
                .d()?;
        }
        let xl = format!("training step ({n_t} checkpoints, evenly spaced by checkpoint, not by step)");
        text(root, &xl, (cx, rect.y1 + 45.0), &style::text(20.0).color(&style::INK), HPos::Center, VPos::Top)?;
        let note = format!("coloured: the {} coordinates with the largest values, labelled by index", hi_set.len());
        text(
            root,
            &note,
            (rect.x0 + 10.0, rect.y0 + 10.0),
            &style::text(16.0).color(&style::MUTED),
            HPos::Left,
            VPos::Top,
        )?;
        Ok(())
    }
}
