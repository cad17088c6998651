//! The figures of the analysis over training (docs/figures.md, docs/timeline.md): the timeline — a heatmap of the
//! coordinates that are outliers in some window × the windows, the components that switch group, the outlier count
//! with its change points, and the training log's loss and learning rate, all on one checkpoint axis — and the
//! trajectory clusters, one panel per cluster with its members and mean.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use ccc_analyze::files::timeline::TimelineFile;
use ccc_analyze::files::trajectory_clusters::TrajectoryClustersFile;
use ccc_analyze::timeline::CompLabel;
use ccc_analyze::Trajectories;

use crate::axis::step_label;
use crate::error::FigureError;
use crate::output::Figure;
use crate::panel::{text, vtext, Rect};
use crate::style;

/// Rows drawn at most in the heatmap and the switches panel (the rest are counted in the panel's title).
const MAX_ROWS: usize = 48;

trait Draw<T> {
    fn d(self) -> Result<T, FigureError>;
}
impl<T, E: std::fmt::Debug> Draw<T> for Result<T, E> {
    fn d(self) -> Result<T, FigureError> {
        self.map_err(|e| FigureError::Invalid(format!("drawing failed: {e:?}")))
    }
}

/// The timeline figure of a `timeline.json`.
#[derive(Debug, Clone)]
pub struct TimelineFigure {
    file: TimelineFile,
    title: String,
}

impl TimelineFigure {
    /// The figure of `file`, titled `title`.
    pub fn new(file: TimelineFile, title: String) -> Self {
        TimelineFigure { file, title }
    }

    /// The x position of a (fractional) checkpoint position in `r`.
    fn x_of(&self, r: &Rect, ckpt: f64) -> f64 {
        let n = self.file.steps.len().max(1) as f64;
        r.x0 + r.w() * (ckpt / n)
    }

    /// The fractional checkpoint position of a step (piecewise linear between the checkpoints' steps).
    fn ckpt_of_step(&self, step: i64) -> Option<f64> {
        let s = &self.file.steps;
        let (first, last) = (*s.first()?, *s.last()?);
        if step < first || step > last {
            return None;
        }
        let i = s.partition_point(|&x| x <= step).saturating_sub(1);
        if i + 1 >= s.len() {
            return Some(i as f64 + 0.5);
        }
        let f = (step - s[i]) as f64 / (s[i + 1] - s[i]).max(1) as f64;
        Some(i as f64 + 0.5 + f)
    }
}

fn rect<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x0, y0, x1, y1): (f64, f64, f64, f64),
    color: RGBColor,
    filled: bool,
) -> Result<(), FigureError> {
    let style = if filled { color.filled() } else { color.stroke_width(1) };
    root.draw(&Rectangle::new([(x0.round() as i32, y0.round() as i32), (x1.round() as i32, y1.round() as i32)], style))
        .d()
}

fn line<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    pts: &[(f64, f64)],
    color: RGBColor,
    width: u32,
) -> Result<(), FigureError> {
    let p: Vec<(i32, i32)> = pts.iter().map(|&(x, y)| (x.round() as i32, y.round() as i32)).collect();
    root.draw(&PathElement::new(p, color.stroke_width(width))).d()
}

/// White → dark red for a share in [0, 1].
fn share_color(v: f64) -> RGBColor {
    let v = v.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * v).round() as u8;
    RGBColor(mix(255.0, 140.0), mix(255.0, 20.0), mix(255.0, 30.0))
}

const CHANGE: RGBColor = RGBColor(200, 0, 0);

impl Figure for TimelineFigure {
    fn size(&self) -> (u32, u32) {
        (1600, 1300)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), FigureError> {
        let f = &self.file;
        let (w, _) = self.size();
        text(root, &self.title, (20.0, 14.0), &style::bold(22.0), HPos::Left, VPos::Top)?;
        let sub = format!(
            "{} windows ({}), consensus ≥ {}; red lines: change points; black ticks: where a coordinate emerges",
            f.windows.len(),
            f.windows_spec,
            f.consensus_threshold
        );
        text(root, &sub, (20.0, 44.0), &style::text(15.0), HPos::Left, VPos::Top)?;
        let (left, right) = (150.0, w as f64 - 30.0);

        // Panel 1: coordinates that are outliers in some window.
        let mut rows: Vec<usize> =
            (0..f.coords.len()).filter(|&c| f.coords[c].shares.iter().any(|&s| s >= f.consensus_threshold)).collect();
        rows.sort_by_key(|&c| (f.coords[c].emerges_at.unwrap_or(usize::MAX), c));
        let hidden = rows.len().saturating_sub(MAX_ROWS);
        rows.truncate(MAX_ROWS);
        let heat = Rect::new(left, 100.0, right, 500.0);
        let t1 = format!(
            "Outlier share per window of the {} coordinates that are outliers in some window{}",
            rows.len() + hidden,
            if hidden > 0 { format!(" (first {MAX_ROWS} shown)") } else { String::new() }
        );
        text(root, &t1, (left, 74.0), &style::bold(16.0), HPos::Left, VPos::Top)?;
        let rh = heat.h() / rows.len().max(1) as f64;
        for (i, &c) in rows.iter().enumerate() {
            let y0 = heat.y0 + i as f64 * rh;
            for (wi, win) in f.windows.iter().enumerate() {
                let s0 = f.steps.iter().position(|&s| s == win.first_step).unwrap_or(0) as f64;
                let s1 = f.steps.iter().position(|&s| s == win.last_step).unwrap_or(0) as f64 + 1.0;
                let v = f.coords[c].shares.get(wi).copied().unwrap_or(0.0);
                rect(root, (self.x_of(&heat, s0), y0, self.x_of(&heat, s1), y0 + rh), share_color(v), true)?;
            }
            if let Some(e) = f.coords[c].emerges_at.filter(|&e| e > 0) {
                let s0 = f.steps.iter().position(|&s| s == f.windows[e].first_step).unwrap_or(0) as f64;
                let x = self.x_of(&heat, s0);
                line(root, &[(x, y0), (x, y0 + rh)], style::INK, 3)?;
            }
            if rh >= 7.0 {
                let lab = format!("coord {c}");
                text(root, &lab, (left - 8.0, y0 + rh / 2.0), &style::text(rh.min(14.0)), HPos::Right, VPos::Center)?;
            }
        }
        rect(root, (heat.x0, heat.y0, heat.x1, heat.y1), style::MUTED, false)?;
        if rows.is_empty() {
            text(
                root,
                "no outlier by consensus in any window",
                (heat.x0 + 10.0, heat.y0 + 20.0),
                &style::text(15.0),
                HPos::Left,
                VPos::Top,
            )?;
        }

        // Panel 2: components that switch group.
        let mut sw: Vec<usize> = (0..f.comps.len()).filter(|&k| !f.comps[k].switches.is_empty()).collect();
        let n_sw = sw.len();
        sw.truncate(MAX_ROWS / 2);
        let comp = Rect::new(left, 550.0, right, 800.0);
        let t2 = format!(
            "Components that switch group: {n_sw} of {}{} (blue group 1, orange group 2, grey discarded)",
            f.comps.len(),
            if n_sw > sw.len() { format!(", first {} shown", sw.len()) } else { String::new() }
        );
        text(root, &t2, (left, 524.0), &style::bold(16.0), HPos::Left, VPos::Top)?;
        let ch = comp.h() / sw.len().max(1) as f64;
        for (i, &k) in sw.iter().enumerate() {
            let y0 = comp.y0 + i as f64 * ch;
            for (wi, win) in f.windows.iter().enumerate() {
                let s0 = f.steps.iter().position(|&s| s == win.first_step).unwrap_or(0) as f64;
                let s1 = f.steps.iter().position(|&s| s == win.last_step).unwrap_or(0) as f64 + 1.0;
                let c = match f.comps[k].labels.get(wi) {
                    Some(CompLabel::Grp1) => style::GROUP1,
                    Some(CompLabel::Grp2) => style::GROUP2,
                    _ => RGBColor(215, 215, 215),
                };
                rect(root, (self.x_of(&comp, s0), y0 + 1.0, self.x_of(&comp, s1), y0 + ch - 1.0), c, true)?;
            }
            if ch >= 7.0 {
                text(
                    root,
                    &f.comps[k].name,
                    (left - 8.0, y0 + ch / 2.0),
                    &style::text(ch.min(14.0)),
                    HPos::Right,
                    VPos::Center,
                )?;
            }
        }
        rect(root, (comp.x0, comp.y0, comp.x1, comp.y1), style::MUTED, false)?;

        // Panel 3: outlier count per checkpoint.
        let cnt = Rect::new(left, 840.0, right, 990.0);
        text(root, "Outlier coordinates per checkpoint", (left, 814.0), &style::bold(16.0), HPos::Left, VPos::Top)?;
        let max_c = f.series.outlier_count.iter().fold(1.0f64, |m, &v| m.max(v));
        let pts: Vec<(f64, f64)> = f
            .series
            .outlier_count
            .iter()
            .enumerate()
            .map(|(i, &v)| (self.x_of(&cnt, i as f64 + 0.5), cnt.y1 - cnt.h() * v / max_c))
            .collect();
        line(root, &pts, style::INK, 2)?;
        rect(root, (cnt.x0, cnt.y0, cnt.x1, cnt.y1), style::MUTED, false)?;
        text(root, &format!("{max_c}"), (left - 8.0, cnt.y0), &style::text(13.0), HPos::Right, VPos::Center)?;
        text(root, "0", (left - 8.0, cnt.y1), &style::text(13.0), HPos::Right, VPos::Center)?;

        // Panel 4: the training log.
        let logr = Rect::new(left, 1030.0, right, 1200.0);
        match &f.training_log {
            None => {
                text(
                    root,
                    "Training log: none given (--train-log)",
                    (left, 1004.0),
                    &style::bold(16.0),
                    HPos::Left,
                    VPos::Top,
                )?;
            }
            Some(log) => {
                text(
                    root,
                    "Training log: loss (black), eval loss (green), learning rate (grey, own scale); events marked",
                    (left, 1004.0),
                    &style::bold(16.0),
                    HPos::Left,
                    VPos::Top,
                )?;
                let series = |name: &str| -> Vec<(f64, f64)> {
                    log.series
                        .get(name)
                        .map(|v| {
                            log.steps
                                .iter()
                                .zip(v)
                                .filter_map(|(&s, v)| Some((self.ckpt_of_step(s)?, (*v)?)))
                                .filter(|p| p.1.is_finite())
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let loss = series("loss");
                let eval = series("eval_loss");
                let lr = series("learning_rate");
                let (lo, hi) = loss
                    .iter()
                    .chain(&eval)
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
                let span = if hi > lo { hi - lo } else { 1.0 };
                let map = |pts: &[(f64, f64)], lo: f64, span: f64| -> Vec<(f64, f64)> {
                    pts.iter().map(|&(c, v)| (self.x_of(&logr, c), logr.y1 - logr.h() * (v - lo) / span)).collect()
                };
                if let Some(lr_hi) = lr.iter().map(|p| p.1).reduce(f64::max).filter(|&m| m > 0.0) {
                    line(root, &map(&lr, 0.0, lr_hi), RGBColor(170, 170, 170), 2)?;
                }
                line(root, &map(&eval, lo, span), style::BOTH, 2)?;
                line(root, &map(&loss, lo, span), style::INK, 2)?;
                if lo.is_finite() {
                    text(
                        root,
                        &format!("{hi:.3}"),
                        (left - 8.0, logr.y0),
                        &style::text(13.0),
                        HPos::Right,
                        VPos::Center,
                    )?;
                    text(
                        root,
                        &format!("{lo:.3}"),
                        (left - 8.0, logr.y1),
                        &style::text(13.0),
                        HPos::Right,
                        VPos::Center,
                    )?;
                }
                for e in &f.events {
                    if let Some(c) = self.ckpt_of_step(e.step) {
                        let x = self.x_of(&logr, c);
                        line(root, &[(x, logr.y0), (x, logr.y1)], style::GROUP1, 2)?;
                        text(
                            root,
                            &e.kind.to_string(),
                            (x + 4.0, logr.y0 + 4.0),
                            &style::text(13.0),
                            HPos::Left,
                            VPos::Top,
                        )?;
                    }
                }
            }
        }
        rect(root, (logr.x0, logr.y0, logr.x1, logr.y1), style::MUTED, false)?;

        // Change points across every panel, and the step axis.
        for &s in &f.change_points {
            if let Some(i) = f.steps.iter().position(|&x| x == s) {
                let x = self.x_of(&heat, i as f64);
                line(root, &[(x, heat.y0), (x, logr.y1)], CHANGE, 2)?;
                text(root, &step_label(s), (x, heat.y0 - 4.0), &style::text(12.0), HPos::Center, VPos::Bottom)?;
            }
        }
        let n = f.steps.len();
        let n_ticks = 10.min(n);
        for j in 0..n_ticks {
            let i = if n_ticks <= 1 { 0 } else { j * (n - 1) / (n_ticks - 1) };
            let x = self.x_of(&logr, i as f64 + 0.5);
            line(root, &[(x, logr.y1), (x, logr.y1 + 6.0)], style::INK, 1)?;
            text(root, &step_label(f.steps[i]), (x, logr.y1 + 9.0), &style::text(13.0), HPos::Center, VPos::Top)?;
        }
        text(
            root,
            "step (checkpoints evenly spaced)",
            ((left + right) / 2.0, 1250.0),
            &style::text(15.0),
            HPos::Center,
            VPos::Top,
        )?;
        vtext(root, "coordinates", (40.0, heat.y0 + heat.h() / 2.0), &style::text(15.0))?;
        Ok(())
    }
}

/// The trajectory clusters figure: one panel per cluster (at most 8) with its members' trajectories (thin) and
/// the cluster's mean (thick), all panels on the same axes.
#[derive(Debug, Clone)]
pub struct ClustersFigure {
    file: TrajectoryClustersFile,
    tr: Trajectories,
    title: String,
}

impl ClustersFigure {
    /// The figure of `file`, whose grouping gave the trajectories `tr`.
    pub fn new(file: TrajectoryClustersFile, tr: Trajectories, title: String) -> Self {
        ClustersFigure { file, tr, title }
    }
}

impl Figure for ClustersFigure {
    fn size(&self) -> (u32, u32) {
        (1600, 900)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), FigureError> {
        text(root, &self.title, (20.0, 14.0), &style::bold(22.0), HPos::Left, VPos::Top)?;
        let sub = format!(
            "k = {} ({}); x: group 1, y: group 2 (normalized log); thin: members (up to 200), thick: the mean",
            self.file.k, self.file.criterion
        );
        text(root, &sub, (20.0, 44.0), &style::text(15.0), HPos::Left, VPos::Top)?;
        let tr = &self.tr;
        let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) =
            (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
        for (&x, &y) in tr.x.iter().zip(&tr.y) {
            (x_lo, x_hi, y_lo, y_hi) = (x_lo.min(x), x_hi.max(x), y_lo.min(y), y_hi.max(y));
        }
        let (xs, ys) = ((x_hi - x_lo).max(1e-12), (y_hi - y_lo).max(1e-12));
        let clusters = &self.file.clusters[..self.file.clusters.len().min(8)];
        let cols = 4usize;
        let (pw, ph) = (1560.0 / cols as f64, 390.0);
        for (i, cl) in clusters.iter().enumerate() {
            let (cx, cy) = (20.0 + (i % cols) as f64 * pw, 90.0 + (i / cols) as f64 * (ph + 10.0));
            let r = Rect::new(cx + 10.0, cy + 30.0, cx + pw - 10.0, cy + ph);
            let color = style::QUALITATIVE[i % style::QUALITATIVE.len()];
            let head = format!("cluster {}: {} coordinates", i + 1, cl.coords.len());
            text(root, &head, (r.x0, cy + 6.0), &style::bold(15.0), HPos::Left, VPos::Top)?;
            let map = |x: f64, y: f64| (r.x0 + r.w() * (x - x_lo) / xs, r.y1 - r.h() * (y - y_lo) / ys);
            let light = RGBColor(
                ((color.0 as u16 + 2 * 255) / 3) as u8,
                ((color.1 as u16 + 2 * 255) / 3) as u8,
                ((color.2 as u16 + 2 * 255) / 3) as u8,
            );
            for &c in cl.coords.iter().take(200) {
                if c >= tr.n_coord {
                    continue;
                }
                let pts: Vec<(f64, f64)> = (0..tr.n_ckpt)
                    .map(|t| {
                        let (x, y) = tr.point(c, t);
                        map(x, y)
                    })
                    .collect();
                line(root, &pts, light, 1)?;
            }
            let mean: Vec<(f64, f64)> = cl.mean.iter().map(|p| map(p[0], p[1])).collect();
            line(root, &mean, color, 4)?;
            if let (Some(a), Some(b)) = (mean.first(), mean.last()) {
                root.draw(&Circle::new((a.0.round() as i32, a.1.round() as i32), 5, style::INK.filled())).d()?;
                root.draw(&Circle::new((b.0.round() as i32, b.1.round() as i32), 5, color.filled())).d()?;
            }
            rect(root, (r.x0, r.y0, r.x1, r.y1), style::MUTED, false)?;
        }
        Ok(())
    }
}
