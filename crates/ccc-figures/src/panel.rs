//! Hand-laid-out chart pieces drawn in pixel space: plot areas with axes, titles, colour bars, legends.
//!
//! Every figure computes its own layout in pixels and draws through these helpers, so that PNG and SVG output agree
//! and nothing is clipped.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axis::{format_tick, nice_ticks};
use crate::error::{DrawResult, FigureError};
use crate::style::{self, ColorMap};

/// A pixel rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x0: f64,
    /// Top edge.
    pub y0: f64,
    /// Right edge.
    pub x1: f64,
    /// Bottom edge.
    pub y1: f64,
}

impl Rect {
    /// A rectangle from its edges.
    pub fn new(x0: f64, y0: f64, x1: f64, y1: f64) -> Rect {
        Rect { x0, y0, x1, y1 }
    }
    /// Width.
    pub fn w(&self) -> f64 {
        self.x1 - self.x0
    }
    /// Height.
    pub fn h(&self) -> f64 {
        self.y1 - self.y0
    }
    /// Shrink by margins `(top, right, bottom, left)`.
    pub fn inset(&self, top: f64, right: f64, bottom: f64, left: f64) -> Rect {
        Rect::new(self.x0 + left, self.y0 + top, self.x1 - right, self.y1 - bottom)
    }
    /// Whether the point is inside.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1
    }
    pub(crate) fn corners(&self) -> [(i32, i32); 2] {
        [(self.x0.round() as i32, self.y0.round() as i32), (self.x1.round() as i32, self.y1.round() as i32)]
    }
}

/// A data range mapped onto a pixel rectangle (y grows upwards in data, downwards in pixels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotArea {
    /// Pixel rectangle of the plotting area.
    pub rect: Rect,
    /// Data range along x.
    pub x: (f64, f64),
    /// Data range along y.
    pub y: (f64, f64),
}

impl PlotArea {
    /// Pixel position of a data point (sub-pixel).
    pub fn map_f(&self, x: f64, y: f64) -> (f64, f64) {
        let fx = (x - self.x.0) / (self.x.1 - self.x.0);
        let fy = (y - self.y.0) / (self.y.1 - self.y.0);
        (self.rect.x0 + fx * self.rect.w(), self.rect.y1 - fy * self.rect.h())
    }
    /// Pixel position of a data point.
    pub fn map(&self, x: f64, y: f64) -> (i32, i32) {
        let (a, b) = self.map_f(x, y);
        (a.round() as i32, b.round() as i32)
    }
}

/// `[lo, hi]` widened by `pad` of its span on each side; a degenerate or empty range becomes a unit range.
pub fn padded(lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) || hi < lo {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let p = (hi - lo) * pad;
    (lo - p, hi + p)
}

/// Text anchored at `pos`.
pub fn text<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &str,
    (x, y): (f64, f64),
    style: &TextStyle,
    h: HPos,
    v: VPos,
) -> Result<(), FigureError> {
    let st = style.pos(Pos::new(h, v));
    root.draw(&Text::new(s.to_string(), (x.round() as i32, y.round() as i32), st)).d()
}

/// Vertical text (reading bottom to top) centred at `pos`.
pub fn vtext<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &str,
    (x, y): (f64, f64),
    style: &TextStyle,
) -> Result<(), FigureError> {
    let st = style.transform(FontTransform::Rotate270).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(s.to_string(), (x.round() as i32, y.round() as i32), st)).d()
}

/// Approximate width in pixels of `s` at font `size` (DejaVu Sans averages ~0.6 em per character).
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.6
}

/// Split `s` into lines of at most `max_chars`, breaking after `, ` or `|` or spaces where possible.
pub fn wrap(s: &str, max_chars: usize) -> Vec<String> {
    let max_chars = max_chars.max(10);
    let mut lines = Vec::new();
    let mut rest: &str = s;
    while rest.chars().count() > max_chars {
        let cut_byte = rest.char_indices().nth(max_chars).map_or(rest.len(), |(i, _)| i);
        let head = &rest[..cut_byte];
        let ok = |i: &usize| *i > cut_byte / 3;
        let brk = head
            .rfind([' ', '|', '/'])
            .filter(ok)
            .or_else(|| head.rfind(',').filter(ok))
            .map(|i| i + 1)
            .unwrap_or(cut_byte);
        lines.push(rest[..brk].trim_end().to_string());
        rest = rest[brk..].trim_start();
    }
    if !rest.is_empty() || lines.is_empty() {
        lines.push(rest.to_string());
    }
    lines
}

/// Light grid lines at the ticks, the frame, tick labels and axis labels around a plot area.
pub struct Axes<'a> {
    /// x axis label.
    pub xlabel: &'a str,
    /// y axis label.
    pub ylabel: &'a str,
    /// Tick label size.
    pub tick_size: f64,
    /// Axis label size.
    pub label_size: f64,
    /// Whether the x axis is numeric (ticks and grid lines); categorical axes draw their own.
    pub numeric_x: bool,
}

impl Axes<'_> {
    /// Draw grid lines (call before the data).
    pub fn draw_grid<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        a: &PlotArea,
    ) -> Result<(), FigureError> {
        let grid = ShapeStyle::from(&style::GRID).stroke_width(1);
        let xt = if self.numeric_x { self.xticks(a) } else { vec![] };
        for t in xt {
            let (px, _) = a.map_f(t, a.y.0);
            root.draw(&PathElement::new(vec![(px as i32, a.rect.y0 as i32), (px as i32, a.rect.y1 as i32)], grid))
                .d()?;
        }
        for t in self.yticks(a) {
            let (_, py) = a.map_f(a.x.0, t);
            root.draw(&PathElement::new(vec![(a.rect.x0 as i32, py as i32), (a.rect.x1 as i32, py as i32)], grid))
                .d()?;
        }
        Ok(())
    }

    fn xticks(&self, a: &PlotArea) -> Vec<f64> {
        nice_ticks(a.x.0, a.x.1, ((a.rect.w() / (self.tick_size * 5.5)) as usize).clamp(2, 10))
    }

    fn yticks(&self, a: &PlotArea) -> Vec<f64> {
        nice_ticks(a.y.0, a.y.1, ((a.rect.h() / (self.tick_size * 3.5)) as usize).clamp(2, 10))
    }

    /// Draw the frame, ticks and labels (call after the data).
    pub fn draw_frame<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        a: &PlotArea,
    ) -> Result<(), FigureError> {
        let ink = ShapeStyle::from(&style::INK).stroke_width(1);
        root.draw(&Rectangle::new(a.rect.corners(), ink)).d()?;
        let ts = style::text(self.tick_size).color(&style::INK);
        let xt = if self.numeric_x { self.xticks(a) } else { vec![] };
        let xs = if xt.len() > 1 { xt[1] - xt[0] } else { 1.0 };
        for &t in &xt {
            let (px, _) = a.map_f(t, a.y.0);
            let y = a.rect.y1;
            root.draw(&PathElement::new(vec![(px as i32, y as i32), (px as i32, y as i32 + 6)], ink)).d()?;
            text(root, &format_tick(t, xs), (px, y + 9.0), &ts, HPos::Center, VPos::Top)?;
        }
        let yt = self.yticks(a);
        let ys = if yt.len() > 1 { yt[1] - yt[0] } else { 1.0 };
        let mut widest: f64 = 0.0;
        for &t in &yt {
            let (_, py) = a.map_f(a.x.0, t);
            let x = a.rect.x0;
            root.draw(&PathElement::new(vec![(x as i32 - 6, py as i32), (x as i32, py as i32)], ink)).d()?;
            let label = format_tick(t, ys);
            widest = widest.max(text_width(&label, self.tick_size));
            text(root, &label, (x - 9.0, py), &ts, HPos::Right, VPos::Center)?;
        }
        let ls = style::text(self.label_size).color(&style::INK);
        if !self.xlabel.is_empty() {
            let c = (a.rect.x0 + a.rect.x1) / 2.0;
            text(root, self.xlabel, (c, a.rect.y1 + 14.0 + self.tick_size * 1.3), &ls, HPos::Center, VPos::Top)?;
        }
        if !self.ylabel.is_empty() {
            let c = (a.rect.y0 + a.rect.y1) / 2.0;
            vtext(root, self.ylabel, (a.rect.x0 - 20.0 - widest - self.label_size * 0.6, c), &ls)?;
        }
        Ok(())
    }
}

/// A vertical colour bar in `rect` for `cmap`, labelled at `ticks` (fraction 0 = bottom, 1 = top).
pub fn colorbar<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rect: Rect,
    cmap: ColorMap,
    ticks: &[(f64, String)],
    label: &str,
    tick_size: f64,
) -> Result<(), FigureError> {
    // At most 128 bands: smooth to the eye, and a small SVG.
    let n = (rect.h().max(1.0) as usize).min(128);
    for i in 0..n {
        let f = 1.0 - (i as f64 + 0.5) / n as f64;
        let y0 = (rect.y0 + rect.h() * i as f64 / n as f64).round() as i32;
        let y1 = (rect.y0 + rect.h() * (i + 1) as f64 / n as f64).round() as i32;
        root.draw(&Rectangle::new([(rect.x0 as i32, y0), (rect.x1 as i32, y1)], cmap.at(f).filled())).d()?;
    }
    let ink = ShapeStyle::from(&style::INK).stroke_width(1);
    root.draw(&Rectangle::new(rect.corners(), ink)).d()?;
    let ts = style::text(tick_size).color(&style::INK);
    for (f, s) in ticks {
        let y = rect.y1 - f * rect.h();
        root.draw(&PathElement::new(vec![(rect.x1 as i32, y as i32), (rect.x1 as i32 + 5, y as i32)], ink)).d()?;
        text(root, s, (rect.x1 + 8.0, y), &ts, HPos::Left, VPos::Center)?;
    }
    if !label.is_empty() {
        let ls = style::text(tick_size * 1.05).color(&style::INK);
        text(root, label, ((rect.x0 + rect.x1) / 2.0, rect.y0 - 10.0), &ls, HPos::Center, VPos::Bottom)?;
    }
    Ok(())
}

/// A row-major matrix of values drawn as an image into `rect` (block-averaged or repeated to the pixel size).
pub fn heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rect: Rect,
    n_rows: usize,
    n_cols: usize,
    value: impl Fn(usize, usize) -> f64,
    color: impl Fn(f64) -> RGBColor,
) -> Result<(), FigureError> {
    let (w, h) = (rect.w().round().max(1.0) as usize, rect.h().round().max(1.0) as usize);
    if n_rows == 0 || n_cols == 0 {
        return Ok(());
    }
    // Average the matrix over the rows and columns that fall in each pixel.
    let col_span: Vec<(usize, usize)> = (0..w)
        .map(|x| {
            let a = x * n_cols / w;
            let b = ((x + 1) * n_cols / w).max(a + 1).min(n_cols);
            (a, b)
        })
        .collect();
    let mut buf = vec![255u8; w * h * 3];
    let mut rowacc = vec![0.0f64; n_cols];
    let mut prev: Option<(usize, usize)> = None;
    let mut line = vec![0u8; w * 3];
    for y in 0..h {
        let a = y * n_rows / h;
        let b = ((y + 1) * n_rows / h).max(a + 1).min(n_rows);
        if prev != Some((a, b)) {
            rowacc.iter_mut().for_each(|v| *v = 0.0);
            for r in a..b {
                for (c, acc) in rowacc.iter_mut().enumerate() {
                    *acc += value(r, c);
                }
            }
            for (x, &(c0, c1)) in col_span.iter().enumerate() {
                let s: f64 = rowacc[c0..c1].iter().sum();
                let v = s / ((b - a) * (c1 - c0)) as f64;
                let RGBColor(r, g, bl) = color(v);
                line[x * 3] = r;
                line[x * 3 + 1] = g;
                line[x * 3 + 2] = bl;
            }
            prev = Some((a, b));
        }
        buf[y * w * 3..(y + 1) * w * 3].copy_from_slice(&line);
    }
    root.draw(
        &BitMapElement::with_owned_buffer((rect.x0.round() as i32, rect.y0.round() as i32), (w as u32, h as u32), buf)
            .ok_or_else(|| FigureError::Draw("heatmap buffer size".into()))?,
    )
    .d()?;
    root.draw(&Rectangle::new(rect.corners(), ShapeStyle::from(&style::INK).stroke_width(1))).d()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_at_separators() {
        let s = "instructions[(_inp111_data101, median), (_inp101_out101, bipartition_spectral)]|MAD-last-sum";
        let lines = wrap(s, 40);
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), s.replace(' ', ""));
        assert_eq!(wrap("short", 40), vec!["short"]);
    }

    #[test]
    fn mapping_and_padding() {
        let a = PlotArea { rect: Rect::new(10.0, 20.0, 110.0, 220.0), x: (0.0, 1.0), y: (0.0, 2.0) };
        assert_eq!(a.map(0.0, 0.0), (10, 220));
        assert_eq!(a.map(1.0, 2.0), (110, 20));
        assert_eq!(padded(1.0, 1.0, 0.1), (0.5, 1.5));
        let (lo, hi) = padded(0.0, 10.0, 0.05);
        assert!((lo + 0.5).abs() < 1e-12 && (hi - 10.5).abs() < 1e-12);
    }
}
