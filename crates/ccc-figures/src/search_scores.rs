//! The search's scores scatter (docs/search.md §6): irregularity against fraction of the experiments (grey), the
//! front `ccc search` found (red) and the fronts the same search found on the null tensors (blue, dashed).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use ccc_analyze::files::{ExperimentRecord, SearchFile, Status};

use crate::error::{DrawResult, FigureError};
use crate::output::Figure;
use crate::panel::{padded, text, Axes, PlotArea, Rect};
use crate::style;

const W: u32 = 2000;
const H: u32 = 1200;
/// The experiments.
const GREY: RGBColor = RGBColor(150, 150, 150);
/// The front.
const RED: RGBColor = RGBColor(204, 51, 17);
/// The null fronts.
const BLUE: RGBColor = RGBColor(0, 114, 178);

/// The scatter; points are `(irregularity, fraction)`.
#[derive(Debug, Clone)]
pub struct SearchScoresFigure {
    title: String,
    subtitle: String,
    experiments: Vec<(f64, f64)>,
    front: Vec<(f64, f64)>,
    nulls: Vec<Vec<(f64, f64)>>,
}

impl SearchScoresFigure {
    /// The scatter of `s` over the `ok` experiments with both scores.
    pub fn new(title: String, s: &SearchFile, experiments: &[ExperimentRecord]) -> SearchScoresFigure {
        let experiments = experiments
            .iter()
            .filter(|e| e.status == Status::Ok)
            .filter_map(|e| Some((e.scores.irregularity?, e.scores.fraction?)))
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        let by_fraction = |mut v: Vec<(f64, f64)>| {
            v.retain(|p| p.0.is_finite() && p.1.is_finite());
            v.sort_by(|a, b| a.1.total_cmp(&b.1));
            v
        };
        let front = by_fraction(s.front.iter().map(|p| (p.scores.irregularity, p.scores.fraction)).collect());
        let nulls = s
            .null
            .fronts
            .iter()
            .map(|f| by_fraction(f.iter().map(|p| (p.irregularity, p.fraction)).collect()))
            .collect();
        let subtitle = format!("null model: {} · lower is better on both axes", s.null.method.name());
        SearchScoresFigure { title, subtitle, experiments, front, nulls }
    }

    fn plot_rect(&self) -> Rect {
        Rect::new(130.0, 120.0, W as f64 - 430.0, H as f64 - 110.0)
    }
}

/// A dashed polyline through pixel points.
fn dashed<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    pts: &[(f64, f64)],
    colour: RGBColor,
) -> Result<(), FigureError> {
    const DASH: f64 = 14.0;
    const GAP: f64 = 8.0;
    let st = ShapeStyle::from(&colour).stroke_width(3);
    // Where along the current dash period the pen is, carried across segments so that corners stay dashed.
    let mut phase = 0.0f64;
    for w in pts.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let len = (x1 - x0).hypot(y1 - y0);
        let mut at = 0.0f64;
        while at < len {
            let in_dash = phase < DASH;
            let step = if in_dash { DASH - phase } else { DASH + GAP - phase }.min(len - at);
            if in_dash && len > 0.0 {
                let (a, b) = (at / len, (at + step) / len);
                let p = |f: f64| ((x0 + f * (x1 - x0)).round() as i32, (y0 + f * (y1 - y0)).round() as i32);
                root.draw(&PathElement::new(vec![p(a), p(b)], st)).d()?;
            }
            at += step;
            phase = (phase + step) % (DASH + GAP);
        }
    }
    Ok(())
}

impl Figure for SearchScoresFigure {
    fn size(&self) -> (u32, u32) {
        (W, H)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), FigureError> {
        let rect = self.plot_rect();
        let centre = (rect.x0 + rect.x1) / 2.0;
        text(root, &self.title, (centre, 24.0), &style::bold(28.0).color(&style::INK), HPos::Center, VPos::Top)?;
        text(root, &self.subtitle, (centre, 66.0), &style::text(18.0).color(&style::MUTED), HPos::Center, VPos::Top)?;
        let all = self.experiments.iter().chain(&self.front).chain(self.nulls.iter().flatten());
        let (xmax, ymax) = all.fold((0.0f64, 0.0f64), |a, p| (a.0.max(p.0), a.1.max(p.1)));
        let area = PlotArea { rect, x: padded(0.0, xmax.max(1e-3), 0.04), y: padded(0.0, ymax.max(1e-3), 0.04) };
        let axes = Axes {
            xlabel: "irregularity of the inliers' 2-D trajectory flow",
            ylabel: "fraction of coordinates called outliers",
            tick_size: 17.0,
            label_size: 20.0,
            numeric_x: true,
        };
        axes.draw_grid(root, &area)?;
        for &(x, y) in &self.experiments {
            root.draw(&Circle::new(area.map(x, y), 6, GREY.mix(0.55).filled())).d()?;
        }
        for n in &self.nulls {
            let px: Vec<(f64, f64)> = n.iter().map(|&(x, y)| area.map_f(x, y)).collect();
            dashed(root, &px, BLUE)?;
            for &(x, y) in n {
                let (cx, cy) = area.map(x, y);
                root.draw(&Rectangle::new([(cx - 5, cy - 5), (cx + 5, cy + 5)], BLUE.filled())).d()?;
            }
        }
        let px: Vec<(i32, i32)> = self.front.iter().map(|&(x, y)| area.map(x, y)).collect();
        root.draw(&PathElement::new(px.clone(), ShapeStyle::from(&RED).stroke_width(3))).d()?;
        for p in px {
            root.draw(&Circle::new(p, 9, RED.filled())).d()?;
            root.draw(&Circle::new(p, 9, ShapeStyle::from(&WHITE).stroke_width(2))).d()?;
        }
        axes.draw_frame(root, &area)?;
        // Legend, outside the axes.
        let lx = rect.x1 + 50.0;
        let mut ly = rect.y0 + 10.0;
        let ts = style::text(18.0).color(&style::INK);
        let entries = [
            (GREY, format!("experiments ({})", self.experiments.len())),
            (RED, format!("search front ({})", self.front.len())),
            (BLUE, format!("null fronts ({})", self.nulls.len())),
        ];
        for (colour, label) in entries {
            let (x, y) = (lx as i32 + 12, ly as i32 + 10);
            if colour == BLUE {
                dashed(root, &[(lx - 8.0, ly + 10.0), (lx + 32.0, ly + 10.0)], BLUE)?;
            } else {
                root.draw(&Circle::new((x, y), 8, colour.filled())).d()?;
            }
            text(root, &label, (lx + 44.0, ly + 10.0), &ts, HPos::Left, VPos::Center)?;
            ly += 38.0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_analyze::files::AnalysisFile;

    #[test]
    fn draws_front_nulls_and_experiments() {
        let text = br#"{"format": "ccc-analysis/1", "model": "m", "shape": [4, 5, 6], "seed": 0,
          "options": {"aggregation": "sum", "grid": 100, "steps": "all", "budget": 10, "nulls": 1, "random": 0,
                      "random_starts": 1, "max_fraction": 0.2, "min_group": 2},
          "front": [{"groups": {"coords_in": [0, 1, 2], "coords_out": [3], "comps_grp1": [0, 1], "comps_grp2": [2, 3]},
                     "group_names": {"comps_grp1": ["a", "b"], "comps_grp2": ["c", "d"]},
                     "scores": {"irregularity": 0.01, "fraction": 0.25}, "null_ratio": 0.1, "p_value": 0.5,
                     "random_percentile": null, "start": "random"}],
          "null": {"method": "permute-coords-within-components",
                   "fronts": [[{"irregularity": 0.1, "fraction": 0.0}, {"irregularity": 0.05, "fraction": 0.25}]]},
          "experiments_front": [], "starts": {"experiments": 0, "random": 1, "skipped": 0},
          "evaluations": 20, "interrupted": false}"#;
        let s = SearchFile::from_bytes(text, std::path::Path::new("search.json")).unwrap();
        let f = SearchScoresFigure::new("t".into(), &s, &[]);
        assert_eq!(f.front, vec![(0.01, 0.25)]);
        assert_eq!(f.nulls[0], vec![(0.1, 0.0), (0.05, 0.25)]);
        let r = crate::output::to_raster_at(&f, crate::Resolution::Screen).unwrap();
        // The front's red and the null's blue are both on the image.
        let has = |c: RGBColor| r.pixels.chunks(3).any(|p| p == [c.0, c.1, c.2]);
        assert!(has(RED), "front drawn");
        assert!(has(BLUE), "null fronts drawn");
    }
}
