//! Turning a [`Figure`] into pixels or SVG text, and writing files (one function per format).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{DrawResult, FigureError};
use crate::options::Resolution;
use crate::palette;
use crate::scaled::Scaled;
use crate::style;

/// The zlib level of PNG files: level 1 already finds the long runs of white and the repeated rows of text, and
/// costs about what the former RGB encoding did (measured in docs/figures.md).
const PNG_LEVEL: u8 = 1;

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
        let pixels = box_filter(&self.pixels, (self.width, self.height), (width, height));
        Raster { width, height, pixels }
    }

    /// Encode as an indexed-colour PNG (see [`palette`]: exact when the figure has at most 256 colours), with
    /// fast compression: figures are written by the hundred.
    pub fn write_png(&self, w: &mut dyn std::io::Write) -> Result<(), png::EncodingError> {
        let width = self.width as usize;
        if self.pixels.len() != width * self.height as usize * 3 {
            return Err(png::EncodingError::IoError(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} bytes of pixels for a {}×{} RGB image", self.pixels.len(), self.width, self.height),
            )));
        }
        let q = palette::Quantized::new(&self.pixels);
        let mut enc = png::Encoder::new(w, self.width, self.height);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(q.palette.iter().flatten().copied().collect::<Vec<u8>>());
        let mut writer = enc.write_header()?;
        write_idat(&mut writer, &q, width)?;
        writer.finish()
    }

    /// Write as a PNG file, atomically.
    pub fn save_png(&self, path: &Path) -> Result<(), FigureError> {
        let mut bytes = Vec::with_capacity(self.pixels.len() / 24);
        self.write_png(&mut bytes)
            .map_err(|e| FigureError::Encode { path: path.to_path_buf(), message: e.to_string() })?;
        write_file(path, &bytes)
    }
}

/// Bytes of compressed image data per `IDAT` chunk.
const IDAT_CHUNK: usize = 1 << 16;

/// Deflate the rows of `q` (each after filter type 0, none: palette indices of flat plots compress best
/// unfiltered) into `IDAT` chunks as they come. The image data is compressed here rather than by `png`, which feeds
/// flate2 row by row, and flate2's miniz backend clears a 32 KiB buffer on every call, which cost more than the
/// compression itself; streaming also allocates no image-sized buffer, whose page faults, for every sheet anew,
/// cost more system time than the encoding.
fn write_idat<W: std::io::Write>(
    writer: &mut png::Writer<W>,
    q: &palette::Quantized,
    width: usize,
) -> Result<(), png::EncodingError> {
    use miniz_oxide::deflate::core::{
        compress_to_output, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
    };
    // Window bits > 0: a zlib stream, as PNG wants.
    let mut comp = CompressorOxide::new(create_comp_flags_from_zip_params(PNG_LEVEL.into(), 1, 0));
    let mut out: Vec<u8> = Vec::with_capacity(2 * IDAT_CHUNK);
    let mut deflate = |mut input: &[u8], flush: TDEFLFlush, out: &mut Vec<u8>| -> Result<(), png::EncodingError> {
        loop {
            let (status, used) = compress_to_output(&mut comp, input, flush, |b| {
                out.extend_from_slice(b);
                true
            });
            input = input.get(used..).unwrap_or_default();
            match (status, flush) {
                (TDEFLStatus::Done, _) => return Ok(()),
                (TDEFLStatus::Okay, TDEFLFlush::None) if input.is_empty() => return Ok(()),
                (TDEFLStatus::Okay, TDEFLFlush::None) if used > 0 => continue,
                (other, _) => {
                    return Err(png::EncodingError::IoError(std::io::Error::other(format!(
                        "deflate stopped: {other:?} with {} bytes left",
                        input.len()
                    ))))
                }
            }
        }
    };
    let mut line = vec![0u8; width + 1];
    q.for_each_row(width, |row| {
        line[1..].copy_from_slice(row);
        deflate(&line, TDEFLFlush::None, &mut out)?;
        if out.len() >= IDAT_CHUNK {
            writer.write_chunk(png::chunk::IDAT, &out)?;
            out.clear();
        }
        Ok::<(), png::EncodingError>(())
    })?;
    deflate(&[], TDEFLFlush::Finish, &mut out)?;
    writer.write_chunk(png::chunk::IDAT, &out)
}

/// Resample RGB `pixels` of size `from` to size `to`: each target pixel is the rounded mean of the source pixels
/// it covers (at least one), so shrinking never drops a thin line or a row of a dense matrix.
///
/// # Panics
/// When `pixels` holds fewer than `from.0 × from.1 × 3` bytes.
pub fn box_filter(pixels: &[u8], from: (u32, u32), to: (u32, u32)) -> Vec<u8> {
    let (sw, sh) = (from.0 as usize, from.1 as usize);
    let (width, height) = (to.0 as usize, to.1 as usize);
    let mut out = vec![0u8; width * height * 3];
    if sw == 0 || sh == 0 {
        return out;
    }
    // Source columns of each target column.
    let cols: Vec<(usize, usize)> = (0..width)
        .map(|tx| {
            let x0 = tx * sw / width;
            (x0, ((tx + 1) * sw / width).max(x0 + 1))
        })
        .collect();
    // The sums of a target row's source rows, per source byte: one vectorizable add per source byte. A u32 holds
    // the sum of 2^24 rows of 255; taller strips (a raster shrunk to a few rows) are summed in parts.
    const STRIP: usize = 1 << 24;
    let mut part = vec![0u32; sw * 3];
    let mut rows = vec![0u64; sw * 3];
    for ty in 0..height {
        let y0 = ty * sh / height;
        let y1 = ((ty + 1) * sh / height).max(y0 + 1);
        for (k, strip) in (y0..y1).step_by(STRIP).enumerate() {
            let row = |y: usize| &pixels[y * sw * 3..(y + 1) * sw * 3];
            for (acc, &p) in part.iter_mut().zip(row(strip)) {
                *acc = p as u32;
            }
            for y in strip + 1..(strip + STRIP).min(y1) {
                for (acc, &p) in part.iter_mut().zip(row(y)) {
                    *acc += p as u32;
                }
            }
            for (acc, &p) in rows.iter_mut().zip(&part) {
                *acc = if k == 0 { p as u64 } else { *acc + p as u64 };
            }
        }
        for (tx, &(x0, x1)) in cols.iter().enumerate() {
            let n = ((y1 - y0) * (x1 - x0)) as u64;
            let mut sum = [0u64; 3];
            for px in rows[x0 * 3..x1 * 3].chunks_exact(3) {
                sum[0] += px[0];
                sum[1] += px[1];
                sum[2] += px[2];
            }
            let o = (ty * width + tx) * 3;
            for c in 0..3 {
                out[o + c] = ((sum[c] + n / 2) / n) as u8;
            }
        }
    }
    out
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

/// Draw a figure into pixels at its full size.
pub fn to_raster<F: Figure + ?Sized>(fig: &F) -> Result<Raster, FigureError> {
    to_raster_at(fig, Resolution::Full)
}

/// Draw a figure into pixels at `resolution` ([`Resolution::pixels`] of its size).
pub fn to_raster_at<F: Figure + ?Sized>(fig: &F, resolution: Resolution) -> Result<Raster, FigureError> {
    style::register_fonts();
    let size = fig.size();
    let (width, height) = resolution.pixels(size);
    let mut pixels = vec![255u8; (width as usize) * (height as usize) * 3];
    {
        let bitmap = BitMapBackend::with_buffer(&mut pixels, (width, height));
        if (width, height) == size {
            let root = bitmap.into_drawing_area();
            root.fill(&WHITE).d()?;
            fig.draw(&root)?;
            root.present().d()?;
        } else {
            let root = Scaled::new(bitmap, size, resolution.scale()).into_drawing_area();
            root.fill(&WHITE).d()?;
            fig.draw(&root)?;
            root.present().d()?;
        }
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

/// Write a figure to `path`, as SVG when the extension is `.svg`, else as PNG at `resolution`.
pub fn save<F: Figure + ?Sized>(fig: &F, path: &Path, resolution: Resolution) -> Result<(), FigureError> {
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()) {
        Some(e) if e == "svg" => save_svg(fig, path),
        _ => to_raster_at(fig, resolution)?.save_png(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The mean of the covered source pixels, one target pixel at a time (what `box_filter` computes row-wise).
    fn naive_box(pixels: &[u8], (sw, sh): (u32, u32), (w, h): (u32, u32)) -> Vec<u8> {
        let (sw, sh, w, h) = (sw as u64, sh as u64, w as u64, h as u64);
        let mut out = Vec::new();
        for ty in 0..h {
            let (y0, y1) = (ty * sh / h, ((ty + 1) * sh / h).max(ty * sh / h + 1));
            for tx in 0..w {
                let (x0, x1) = (tx * sw / w, ((tx + 1) * sw / w).max(tx * sw / w + 1));
                for c in 0..3 {
                    let mut sum = 0u64;
                    for y in y0..y1 {
                        for x in x0..x1 {
                            sum += pixels[((y * sw + x) * 3 + c) as usize] as u64;
                        }
                    }
                    let n = (y1 - y0) * (x1 - x0);
                    out.push(((sum + n / 2) / n) as u8);
                }
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn box_filter_is_the_mean_of_covered_pixels(
            sw in 1u32..40, sh in 1u32..40, w in 1u32..40, h in 1u32..40, seed in any::<u64>(),
        ) {
            let (w, h) = (w.min(sw), h.min(sh));
            let mut s = seed | 1;
            let pixels: Vec<u8> = (0..sw * sh * 3).map(|_| { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s as u8 }).collect();
            prop_assert_eq!(box_filter(&pixels, (sw, sh), (w, h)), naive_box(&pixels, (sw, sh), (w, h)));
        }
    }

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
        save(&Square, &dir.path().join("a.svg"), Resolution::Screen).unwrap();
        let svg = std::fs::read_to_string(dir.path().join("a.svg")).unwrap();
        assert!(svg.starts_with("<svg"));
    }
}
