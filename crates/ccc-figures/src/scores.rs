//! The scores scatter: `(irregularity, fraction)` of every experiment, one colour and marker per source.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::error::{DrawResult, FigureError};
use crate::output::Figure;
use crate::panel::{padded, text, text_width, Axes, PlotArea, Rect};
use crate::style;

/// One point of the scatter.
#[derive(Debug, Clone, PartialEq)]
pub struct ScorePoint {
    /// Source of the experiment.
    pub source: String,
    /// Irregularity (`None`: not drawn, counted in the note).
    pub irregularity: Option<f64>,
    /// Fraction of outlier coordinates.
    pub fraction: f64,
}

/// The scores scatter figure.
#[derive(Debug, Clone)]
pub struct ScoresFigure {
    title: String,
    sources: Vec<String>,
    points: Vec<(usize, f64, f64)>,
    undefined: usize,
}

const W: u32 = 2000;
const H: u32 = 1200;

impl ScoresFigure {
    /// Group the points by source (in order of first appearance).
    pub fn new(title: String, points: &[ScorePoint]) -> ScoresFigure {
        let mut sources: Vec<String> = Vec::new();
        let mut out = Vec::new();
        let mut undefined = 0;
        for p in points {
            let s = match sources.iter().position(|s| *s == p.source) {
                Some(i) => i,
                None => {
                    sources.push(p.source.clone());
                    sources.len() - 1
                }
            };
            match p.irregularity {
                Some(x) if x.is_finite() && p.fraction.is_finite() => out.push((s, x, p.fraction)),
                _ => undefined += 1,
            }
        }
        ScoresFigure { title, sources, points: out, undefined }
    }

    fn legend_width(&self) -> f64 {
        self.sources.iter().map(|s| text_width(s, 17.0)).fold(text_width("experiment source", 18.0), f64::max) + 90.0
    }

    /// The plotting area in pixels.
    pub fn plot_rect(&self) -> Rect {
        Rect::new(130.0, 110.0, W as f64 - self.legend_width().min(900.0) - 40.0, H as f64 - 110.0)
    }
}

fn marker<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    shape: usize,
    (x, y): (i32, i32),
    colour: RGBColor,
) -> Result<(), FigureError> {
    let fill = colour.mix(0.85).filled();
    let edge = ShapeStyle::from(&WHITE).stroke_width(1);
    let r = 8;
    match shape % 5 {
        0 => {
            root.draw(&Circle::new((x, y), r, fill)).d()?;
            root.draw(&Circle::new((x, y), r, edge)).d()
        }
        1 => {
            let pts = vec![(x, y - r - 1), (x + r + 1, y + r - 1), (x - r - 1, y + r - 1)];
            root.draw(&Polygon::new(pts, fill)).d()
        }
        2 => root.draw(&Rectangle::new([(x - r + 1, y - r + 1), (x + r - 1, y + r - 1)], fill)).d(),
        3 => {
            let pts = vec![(x, y - r - 2), (x + r + 1, y), (x, y + r + 2), (x - r - 1, y)];
            root.draw(&Polygon::new(pts, fill)).d()
        }
        _ => {
            let pts = vec![(x, y + r + 1), (x + r + 1, y - r + 1), (x - r - 1, y - r + 1)];
            root.draw(&Polygon::new(pts, fill)).d()
        }
    }
}

impl Figure for ScoresFigure {
    fn size(&self) -> (u32, u32) {
        (W, H)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), FigureError> {
        let rect = self.plot_rect();
        text(
            root,
            &self.title,
            ((rect.x0 + rect.x1) / 2.0, 24.0),
            &style::bold(28.0).color(&style::INK),
            HPos::Center,
            VPos::Top,
        )?;
        let note = "lower is better on both axes";
        text(
            root,
            note,
            ((rect.x0 + rect.x1) / 2.0, 64.0),
            &style::text(18.0).color(&style::MUTED),
            HPos::Center,
            VPos::Top,
        )?;
        let (xmax, ymax) = self.points.iter().fold((0.0f64, 0.0f64), |a, p| (a.0.max(p.1), a.1.max(p.2)));
        let area = PlotArea { rect, x: padded(0.0, xmax.max(1e-3), 0.04), y: padded(0.0, ymax.max(1e-3), 0.04) };
        let axes = Axes {
            xlabel: "irregularity of the inliers' 2-D trajectory flow",
            ylabel: "fraction of coordinates called outliers",
            tick_size: 17.0,
            label_size: 20.0,
            numeric_x: true,
        };
        axes.draw_grid(root, &area)?;
        for &(s, x, y) in &self.points {
            marker(root, s, area.map(x, y), style::QUALITATIVE[s % style::QUALITATIVE.len()])?;
        }
        axes.draw_frame(root, &area)?;
        // Legend, outside the axes.
        let lx = rect.x1 + 50.0;
        let mut ly = rect.y0 + 10.0;
        text(root, "experiment source", (lx, ly), &style::bold(18.0).color(&style::INK), HPos::Left, VPos::Top)?;
        ly += 40.0;
        for (s, name) in self.sources.iter().enumerate() {
            let n = self.points.iter().filter(|p| p.0 == s).count();
            marker(root, s, (lx as i32 + 12, ly as i32 + 10), style::QUALITATIVE[s % style::QUALITATIVE.len()])?;
            let ts = style::text(17.0).color(&style::INK);
            text(root, &format!("{name} ({n})"), (lx + 32.0, ly + 10.0), &ts, HPos::Left, VPos::Center)?;
            ly += 34.0;
        }
        if self.undefined > 0 {
            let msg = format!("{} experiments with undefined irregularity not shown", self.undefined);
            text(root, &msg, (lx, ly + 12.0), &style::text(16.0).color(&style::MUTED), HPos::Left, VPos::Top)?;
        }
        Ok(())
    }
}
