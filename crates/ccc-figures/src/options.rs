//! Which figures to draw, in which formats, and how.

use std::fmt;
use std::str::FromStr;

use ccc_analyze::files::ImageFormat;

use crate::error::FigureError;

/// Which figures [`render_analysis`](crate::render_analysis) draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FigureSet {
    /// One trajectory sheet per experiment plus the per-run figures.
    #[default]
    All,
    /// Only the per-run figures (scores, memberships, aggregate, overview).
    Summary,
    /// Nothing.
    None,
}

/// File formats to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// PNG only (the default).
    #[default]
    Png,
    /// SVG only (thumbnails for the report are still PNG).
    Svg,
    /// Both.
    Both,
}

impl Format {
    /// Whether PNG files are written.
    pub fn png(self) -> bool {
        matches!(self, Format::Png | Format::Both)
    }
    /// Whether SVG files are written.
    pub fn svg(self) -> bool {
        matches!(self, Format::Svg | Format::Both)
    }
    /// The image formats written, as listed in `index.json`.
    pub fn image_formats(self) -> Vec<ImageFormat> {
        let mut v = Vec::new();
        if self.png() {
            v.push(ImageFormat::Png);
        }
        if self.svg() {
            v.push(ImageFormat::Svg);
        }
        v
    }
}

/// How many pixels a raster (PNG) figure gets. Every figure is laid out at its full size; SVG output always has that
/// size, as a vector image can be zoomed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Resolution {
    /// Sized for a screen (the default): [`SCREEN_SCALE`] of the full size, so a trajectory sheet is 1600 × 1520
    /// pixels — fills a 1440p screen's viewer at its own pixels, and keeps a default run's files small.
    #[default]
    Screen,
    /// The size the figures are laid out at: a trajectory sheet is 2000 × 1900 pixels, the overview 2400 wide.
    Full,
}

/// The scale of [`Resolution::Screen`]: the smallest text (13 px at full size) stays above 10 px.
pub const SCREEN_SCALE: f64 = 0.8;

impl Resolution {
    /// The factor from the full size to this resolution.
    pub fn scale(self) -> f64 {
        match self {
            Resolution::Screen => SCREEN_SCALE,
            Resolution::Full => 1.0,
        }
    }

    /// The pixel size of a figure whose full size is `(width, height)`: each side scaled and rounded, at least 1.
    pub fn pixels(self, (width, height): (u32, u32)) -> (u32, u32) {
        let s = self.scale();
        let side = |v: u32| ((v as f64 * s).round() as u32).max(1);
        (side(width), side(height))
    }
}

macro_rules! names {
    ($t:ty, $what:literal, $($v:path => $n:literal),+) => {
        impl $t {
            /// The command-line name.
            pub fn name(self) -> &'static str {
                match self { $($v => $n),+ }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl FromStr for $t {
            type Err = FigureError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($n => Ok($v),)+
                    _ => Err(FigureError::Invalid(format!(
                        concat!("unknown ", $what, " `{}`; expected one of: {}"),
                        s,
                        [$($n),+].join(", ")
                    ))),
                }
            }
        }
    };
}

names!(FigureSet, "figure set", FigureSet::All => "all", FigureSet::Summary => "summary", FigureSet::None => "none");
names!(Format, "figure format", Format::Png => "png", Format::Svg => "svg", Format::Both => "both");

/// Options of [`render_analysis`](crate::render_analysis).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FigureOptions {
    /// Which figures.
    pub figures: FigureSet,
    /// Which formats.
    pub format: Format,
    /// Display-only moving average of the drawn trajectories (window in checkpoints, "valid" mode); never used
    /// for scores or the flow field. `None` or `Some(1)`: no smoothing.
    pub smooth: Option<usize>,
    /// Worker threads for drawing sheets (0: rayon's default, all cores).
    pub threads: usize,
    /// Pixel size of the PNG files.
    pub resolution: Resolution,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in [FigureSet::All, FigureSet::Summary, FigureSet::None] {
            assert_eq!(f.name().parse::<FigureSet>().unwrap(), f);
        }
        for f in [Format::Png, Format::Svg, Format::Both] {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        let e = "jpg".parse::<Format>().unwrap_err().to_string();
        assert!(e.contains("png, svg, both"), "{e}");
        assert_eq!(Format::Both.image_formats(), vec![ImageFormat::Png, ImageFormat::Svg]);
    }

    #[test]
    fn resolutions() {
        assert_eq!(Resolution::default(), Resolution::Screen);
        assert_eq!(Resolution::Screen.pixels((2000, 1900)), (1600, 1520));
        assert_eq!(Resolution::Full.pixels((2000, 1900)), (2000, 1900));
        assert_eq!(Resolution::Screen.pixels((1, 1)), (1, 1));
    }
}
