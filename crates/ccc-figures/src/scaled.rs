//! Drawing a figure at another resolution than it is laid out for.
//!
//! Every figure lays itself out in pixels of its own [`size`](crate::Figure::size). [`Scaled`] presents that size
//! to the figure and draws everything — coordinates, line widths, circle radii, font sizes, embedded bitmaps —
//! scaled onto a backend of another size. Text is rasterized at the scaled font size (not drawn large and shrunk),
//! so it stays crisp; bitmaps (heatmaps) are box-filtered, so no row or column of a dense matrix is dropped.

use plotters::style::text_anchor::Pos;
use plotters::style::{FontDesc, FontFamily, FontStyle, TextStyle};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind};

use crate::output::box_filter;

/// A backend that takes coordinates in a figure's own pixels and draws them `scale` times smaller or larger on
/// `inner`.
pub struct Scaled<DB> {
    inner: DB,
    scale: f64,
    size: (u32, u32),
}

impl<DB: DrawingBackend> Scaled<DB> {
    /// Present `size` (the figure's own size) to the figure and draw on `inner` at `scale`.
    pub fn new(inner: DB, size: (u32, u32), scale: f64) -> Scaled<DB> {
        Scaled { inner, scale, size }
    }

    fn at(&self, v: i32) -> i32 {
        (v as f64 * self.scale).round() as i32
    }

    fn point(&self, (x, y): BackendCoord) -> BackendCoord {
        (self.at(x), self.at(y))
    }

    fn width(&self, w: u32) -> u32 {
        // A hairline stays one pixel wide: thinner would be translucent, and thus more colours and bytes.
        ((w as f64 * self.scale).round() as u32).max(1)
    }

    fn stroke<S: BackendStyle>(&self, style: &S) -> Stroke {
        Stroke { color: style.color(), width: self.width(style.stroke_width()) }
    }

    fn font<'a, S: BackendTextStyle>(&self, style: &'a S) -> TextStyle<'a> {
        let family: FontFamily<'a> = style.family();
        let anchor: Pos = style.anchor();
        // plotters' `FontDesc::style` (what `style::bold` uses) marks the style but keeps the regular face's
        // glyphs; building the face the same way draws the same glyphs as at full size.
        let font = FontDesc::new(family, style.size() * self.scale, FontStyle::Normal)
            .style(style.style())
            .transform(style.transform());
        TextStyle { font, color: style.color(), pos: anchor }
    }
}

/// A colour and a stroke width already scaled.
struct Stroke {
    color: BackendColor,
    width: u32,
}

impl BackendStyle for Stroke {
    fn color(&self) -> BackendColor {
        self.color
    }
    fn stroke_width(&self) -> u32 {
        self.width
    }
}

impl<DB: DrawingBackend> DrawingBackend for Scaled<DB> {
    type ErrorType = DB::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let p = self.point(point);
        self.inner.draw_pixel(p, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let (a, b, s) = (self.point(from), self.point(to), self.stroke(style));
        self.inner.draw_line(a, b, &s)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let (a, b, s) = (self.point(upper_left), self.point(bottom_right), self.stroke(style));
        self.inner.draw_rect(a, b, &s, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let s = self.stroke(style);
        let mut points: Vec<BackendCoord> = path.into_iter().map(|p| self.point(p)).collect();
        // Points that land on the same pixel would only make zero-length segments.
        points.dedup();
        self.inner.draw_path(points, &s)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let (c, s) = (self.point(center), self.stroke(style));
        let r = (radius as f64 * self.scale).round() as u32;
        self.inner.draw_circle(c, r, &s, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let s = self.stroke(style);
        let points: Vec<BackendCoord> = vert.into_iter().map(|p| self.point(p)).collect();
        self.inner.fill_polygon(points, &s)
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let p = self.point(pos);
        let font = self.font(style);
        self.inner.draw_text(text, &font, p)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        // The extent of the text as drawn, in the figure's own pixels.
        let (w, h) = self.inner.estimate_text_size(text, &self.font(style))?;
        Ok(((w as f64 / self.scale).round() as u32, (h as f64 / self.scale).round() as u32))
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        (iw, ih): (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let (x0, y0) = self.point(pos);
        let (x1, y1) = self.point((pos.0 + iw as i32, pos.1 + ih as i32));
        let (w, h) = ((x1 - x0).max(0) as u32, (y1 - y0).max(0) as u32);
        if w == 0 || h == 0 {
            return Ok(());
        }
        let pixels = box_filter(src, (iw, ih), (w, h));
        self.inner.blit_bitmap((x0, y0), (w, h), &pixels)
    }
}

#[cfg(test)]
mod tests {
    use plotters::prelude::*;

    use super::*;

    #[test]
    fn shapes_land_at_scaled_positions() {
        let mut px = vec![255u8; 80 * 40 * 3];
        {
            let back = Scaled::new(BitMapBackend::with_buffer(&mut px, (80, 40)), (100, 50), 0.8);
            let root = back.into_drawing_area();
            assert_eq!(root.dim_in_pixel(), (100, 50));
            root.draw(&Rectangle::new([(50, 0), (99, 49)], BLACK.filled())).unwrap();
            let bitmap = vec![0u8; 10 * 10 * 3];
            root.draw(&BitMapElement::with_owned_buffer((0, 0), (10, 10), bitmap).unwrap()).unwrap();
            root.present().unwrap();
        }
        let at = |x: usize, y: usize| px[(y * 80 + x) * 3];
        assert_eq!(at(39, 20), 255, "left of the rectangle");
        assert_eq!(at(40, 20), 0, "the rectangle starts at 50 × 0.8");
        assert_eq!(at(78, 38), 0, "a filled rectangle ends before its bottom-right corner, as at full size");
        assert_eq!(at(7, 7), 0, "the 10 px bitmap covers 8 px");
        assert_eq!(at(8, 8), 255);
    }
}
