//! Turning a [`Figure`] into pixels or SVG text, and writing files (one function per format).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{DrawResult, FigureError};
use crate::style;

/// Something that can be drawn on any plotters backend at a fixed size.
pub trait Figure: Sync {
    /// Width and height in pixels (SVG user units).
    fn size(&self) -> (u32, u32);
    /// Draw onto `root`, which has exactly [`size`](Figure::size) and is already filled white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), FigureError>;
}

/// An RGB image in memory (row-major, 3 bytes per pixel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raster {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 3` bytes.
    pub pixels: Vec<u8>,
}

impl Raster {
    /// The colour at `(x, y)`.
    ///
    /// # Panics
    /// When `(x, y)` is outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        assert!(x < self.width && y < self.height, "pixel ({x}, {y}) outside {}×{}", self.width, self.height);
        let i = ((y * self.width + x) * 3) as usize;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    /// A box-filtered copy `width` pixels wide (keeping the aspect ratio); a copy when not smaller.
    pub fn thumbnail(&self, width: u32) -> Raster {
        if width == 0 || width >= self.width {
            return self.clone();
        }
        let height = ((self.height as u64 * width as u64) / self.width as u64).max(1) as u32;
        let mut pixels = vec![0u8; (width * height * 3) as usize];
        let (sw, sh) = (self.width as u64, self.height as u64);
        for ty in 0..height as u64 {
            let y0 = ty * sh / height as u64;
            let y1 = ((ty + 1) * sh / height as u64).max(y0 + 1);
            for tx in 0..width as u64 {
                let x0 = tx * sw / width as u64;
                let x1 = ((tx + 1) * sw / width as u64).max(x0 + 1);
                let mut acc = [0u64; 3];
                for y in y0..y1 {
                    let row = (y * sw) as usize * 3;
                    for x in x0..x1 {
                        let i = row + x as usize * 3;
                        acc[0] += self.pixels[i] as u64;
                        acc[1] += self.pixels[i + 1] as u64;
                        acc[2] += self.pixels[i + 2] as u64;
                    }
                }
                let n = (y1 - y0) * (x1 - x0);
                let o = ((ty * width as u64 + tx) * 3) as usize;
                for c in 0..3 {
                    pixels[o + c] = ((acc[c] + n / 2) / n) as u8;
                }
            }
        }
        Raster { width, height, pixels }
    }

    /// Encode as PNG (fast compression: figures are written by the hundred).
    pub fn write_png(&self, w: &mut dyn std::io::Write) -> Result<(), png::EncodingError> {
        let mut enc = png::Encoder::new(w, self.width, self.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        enc.set_filter(png::FilterType::Paeth);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&self.pixels)?;
        writer.finish()
    }

    /// Write as a PNG file, atomically.
    pub fn save_png(&self, path: &Path) -> Result<(), FigureError> {
        let mut bytes = Vec::with_capacity(self.pixels.len() / 8);
        self.write_png(&mut bytes)
            .map_err(|e| FigureError::Encode { path: path.to_path_buf(), message: e.to_string() })?;
        write_file(path, &bytes)
    }
}

/// Write `bytes` to `path` atomically: a temporary file in the same directory, renamed over `path`.
///
/// Unlike [`ccc_core::atomic::write_atomic`] this does not `fsync`: a run writes hundreds of figures, syncing each
/// tripled the wall time, and a figure lost to a power cut is simply drawn again. Readers never see a partial file.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), FigureError> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let err = |source: std::io::Error| FigureError::Write { path: path.to_path_buf(), source };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("figure");
    let mut tmp = tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".tmp").tempfile_in(dir).map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Draw a figure into pixels.
pub fn to_raster<F: Figure + ?Sized>(fig: &F) -> Result<Raster, FigureError> {
    style::register_fonts();
    let (width, height) = fig.size();
    let mut pixels = vec![255u8; (width as usize) * (height as usize) * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE).d()?;
        fig.draw(&root)?;
        root.present().d()?;
    }
    Ok(Raster { width, height, pixels })
}

/// Draw a figure as an SVG document.
pub fn to_svg<F: Figure + ?Sized>(fig: &F) -> Result<String, FigureError> {
    style::register_fonts();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, fig.size()).into_drawing_area();
        root.fill(&WHITE).d()?;
        fig.draw(&root)?;
        root.present().d()?;
    }
    Ok(out)
}

/// Write an SVG file, atomically.
pub fn save_svg<F: Figure + ?Sized>(fig: &F, path: &Path) -> Result<(), FigureError> {
    write_file(path, to_svg(fig)?.as_bytes())
}

/// Write a figure to `path`, as SVG when the extension is `.svg`, else as PNG.
pub fn save<F: Figure + ?Sized>(fig: &F, path: &Path) -> Result<(), FigureError> {
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()) {
        Some(e) if e == "svg" => save_svg(fig, path),
        _ => to_raster(fig)?.save_png(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Square;
    impl Figure for Square {
        fn size(&self) -> (u32, u32) {
            (40, 20)
        }
        fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), FigureError> {
            root.draw(&Rectangle::new([(0, 0), (20, 20)], BLACK.filled())).d()
        }
    }

    #[test]
    fn raster_png_and_thumbnail() {
        let r = to_raster(&Square).unwrap();
        assert_eq!((r.width, r.height), (40, 20));
        assert_eq!(r.pixel(5, 5), [0, 0, 0]);
        assert_eq!(r.pixel(30, 5), [255, 255, 255]);
        let t = r.thumbnail(20);
        assert_eq!((t.width, t.height), (20, 10));
        assert_eq!(t.pixel(2, 2), [0, 0, 0]);
        assert_eq!(t.pixel(17, 2), [255, 255, 255]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.png");
        r.save_png(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        save(&Square, &dir.path().join("a.svg")).unwrap();
        let svg = std::fs::read_to_string(dir.path().join("a.svg")).unwrap();
        assert!(svg.starts_with("<svg"));
    }
}
