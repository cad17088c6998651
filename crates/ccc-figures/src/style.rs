//! Fonts, colours and colour maps shared by every figure.
//!
//! Colour carries meaning in three places, and each uses a colour-blind-safe choice:
//! component groups (Okabe–Ito blue / vermillion / bluish green, keeping the reference tool's
//! blue = group 1, red = group 2), checkpoints along a trajectory (viridis), and signed memberships
//! (ColorBrewer PiYG: green −, white 0, magenta-red +).

use std::sync::Once;

use plotters::style::{FontFamily, FontStyle, IntoFont, RGBColor, TextStyle};

/// The font family name under which the embedded DejaVu Sans is registered.
pub const FONT: &str = "sans-serif";

static FONTS: Once = Once::new();

/// Register the embedded DejaVu Sans (regular and bold) with plotters, once per process. Text therefore never
/// depends on system fonts.
pub fn register_fonts() {
    FONTS.call_once(|| {
        // The bytes are valid TrueType shipped by the `dejavu` crate; a failure would only lose text.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Regular text of `size` pixels.
pub fn text(size: f64) -> TextStyle<'static> {
    (FontFamily::SansSerif, size).into_font().into()
}

/// Bold text of `size` pixels.
pub fn bold(size: f64) -> TextStyle<'static> {
    (FontFamily::SansSerif, size).into_font().style(FontStyle::Bold).into()
}

/// Group 1 (Okabe–Ito blue).
pub const GROUP1: RGBColor = RGBColor(0, 114, 178);
/// Group 2 (Okabe–Ito vermillion).
pub const GROUP2: RGBColor = RGBColor(213, 94, 0);
/// Components in both groups (Okabe–Ito bluish green).
pub const BOTH: RGBColor = RGBColor(0, 158, 115);
/// Discarded components: white cell…
pub const DISCARDED: RGBColor = RGBColor(255, 255, 255);
/// …with a grey cross.
pub const CROSS: RGBColor = RGBColor(110, 110, 110);
/// Thin inlier trajectories.
pub const INLIER: RGBColor = RGBColor(70, 90, 120);
/// Axis and frame colour.
pub const INK: RGBColor = RGBColor(30, 30, 30);
/// Light grid lines.
pub const GRID: RGBColor = RGBColor(228, 228, 228);
/// Secondary text.
pub const MUTED: RGBColor = RGBColor(90, 90, 90);

/// Paul Tol's "bright" qualitative palette (colour-blind safe), for sources and outlier trajectories.
pub const QUALITATIVE: [RGBColor; 7] = [
    RGBColor(68, 119, 170),
    RGBColor(238, 102, 119),
    RGBColor(34, 136, 51),
    RGBColor(204, 187, 68),
    RGBColor(102, 204, 238),
    RGBColor(170, 51, 119),
    RGBColor(120, 120, 120),
];

/// Viridis, 9 stops (matplotlib's values at 0, 1/8, …, 1).
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// ColorBrewer PiYG, 11 stops, reversed so that low = green, high = magenta-red.
const PIYG: [(u8, u8, u8); 11] = [
    (39, 100, 25),
    (77, 146, 33),
    (127, 188, 65),
    (184, 225, 134),
    (230, 245, 208),
    (247, 247, 247),
    (253, 224, 239),
    (241, 182, 218),
    (222, 119, 174),
    (197, 27, 125),
    (142, 1, 82),
];

fn interpolate(stops: &[(u8, u8, u8)], v: f64) -> RGBColor {
    let v = if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
    let n = stops.len() - 1;
    let x = v * n as f64;
    let i = (x.floor() as usize).min(n - 1);
    let f = x - i as f64;
    let (a, b) = (stops[i], stops[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A continuous colour map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMap {
    /// Sequential, perceptually uniform (checkpoints, magnitudes).
    Viridis,
    /// Diverging green − / white 0 / magenta-red + (signed memberships).
    Diverging,
}

impl ColorMap {
    /// The colour at `v` ∈ [0, 1] (clamped).
    pub fn at(self, v: f64) -> RGBColor {
        match self {
            ColorMap::Viridis => interpolate(&VIRIDIS, v),
            ColorMap::Diverging => interpolate(&PIYG, v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_maps_hit_their_stops() {
        assert_eq!(ColorMap::Viridis.at(0.0), RGBColor(68, 1, 84));
        assert_eq!(ColorMap::Viridis.at(1.0), RGBColor(253, 231, 37));
        assert_eq!(ColorMap::Diverging.at(0.5), RGBColor(247, 247, 247));
        assert_eq!(ColorMap::Diverging.at(-3.0), RGBColor(39, 100, 25));
        assert_eq!(ColorMap::Viridis.at(f64::NAN), RGBColor(68, 1, 84));
    }
}
