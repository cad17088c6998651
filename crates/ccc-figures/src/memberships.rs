//! Membership heatmaps (docs/analysis.md §8): an indicator matrix (experiments × coordinates or components) and its two Gram
//! products `I Iᵀ` (experiments × experiments) and `Iᵀ I` (columns × columns).
//!
//! The Gram products are drawn at screen resolution without forming the full matrices: the mean of `I Iᵀ` over a
//! block of rows `P × Q` is `(Σ_{p∈P} I_p) · (Σ_{q∈Q} I_q) / (|P| |Q|)`, so only the block sums are multiplied.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use rayon::prelude::*;

use crate::axis::{checkpoint_ticks, format_tick, nice_ticks};
use crate::error::FigureError;
use crate::output::Figure;
use crate::panel::{self, text, text_width, vtext, Rect};
use crate::style::{self, ColorMap};

/// A dense row-major matrix with row and column labels.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledMatrix {
    /// Number of rows.
    pub n_rows: usize,
    /// Number of columns.
    pub n_cols: usize,
    /// `n_rows × n_cols` values.
    pub values: Vec<f64>,
    /// A label per row.
    pub row_labels: Vec<String>,
    /// A label per column.
    pub col_labels: Vec<String>,
}

impl LabelledMatrix {
    fn at(&self, r: usize, c: usize) -> f64 {
        self.values[r * self.n_cols + c]
    }

    fn transposed(&self) -> LabelledMatrix {
        let mut values = vec![0.0; self.values.len()];
        for r in 0..self.n_rows {
            for c in 0..self.n_cols {
                values[c * self.n_rows + r] = self.at(r, c);
            }
        }
        LabelledMatrix {
            n_rows: self.n_cols,
            n_cols: self.n_rows,
            values,
            row_labels: self.col_labels.clone(),
            col_labels: self.row_labels.clone(),
        }
    }
}

/// Block means of `M Mᵀ` for `nb` row blocks (block `i` = rows `i·n/nb .. (i+1)·n/nb`), and the largest
/// absolute entry of `M Mᵀ` (its diagonal maximum, by Cauchy–Schwarz).
pub fn gram_blocks(m: &LabelledMatrix, nb: usize) -> (Vec<f64>, f64) {
    let (n, p) = (m.n_rows, m.n_cols);
    let nb = nb.clamp(1, n.max(1));
    let sums: Vec<Vec<f64>> = (0..nb)
        .map(|i| {
            let (a, b) = (i * n / nb, ((i + 1) * n / nb).max(i * n / nb + 1).min(n));
            let mut s = vec![0.0; p];
            for r in a..b {
                for (c, v) in s.iter_mut().enumerate() {
                    *v += m.at(r, c);
                }
            }
            let k = (b - a).max(1) as f64;
            s.iter_mut().for_each(|v| *v /= k);
            s
        })
        .collect();
    let out: Vec<f64> = (0..nb * nb)
        .into_par_iter()
        .map(|ij| {
            let (i, j) = (ij / nb, ij % nb);
            sums[i].iter().zip(&sums[j]).map(|(a, b)| a * b).sum()
        })
        .collect();
    let diag_max = (0..n).map(|r| (0..p).map(|c| m.at(r, c) * m.at(r, c)).sum::<f64>()).fold(0.0, f64::max);
    (out, diag_max)
}

/// Indicator heatmap with its two Gram products.
#[derive(Debug, Clone)]
pub struct MembershipFigure {
    title: String,
    subtitle: String,
    row_name: String,
    col_name: String,
    legend: String,
    m: LabelledMatrix,
}

const W: u32 = 2000;
const H: u32 = 1760;

impl MembershipFigure {
    /// A figure for indicator `m` whose rows are `row_name` (e.g. "experiment") and columns `col_name`; `legend`
    /// says what +1 and −1 mean.
    pub fn new(
        title: String,
        subtitle: String,
        row_name: &str,
        col_name: &str,
        legend: &str,
        m: LabelledMatrix,
    ) -> Self {
        MembershipFigure {
            title,
            subtitle,
            row_name: row_name.into(),
            col_name: col_name.into(),
            legend: legend.into(),
            m,
        }
    }

    /// The pixel rectangles of the indicator and the two Gram heatmaps.
    pub fn rects(&self) -> [Rect; 3] {
        [
            Rect::new(170.0, 170.0, 1790.0, 700.0),
            Rect::new(170.0, 900.0, 830.0, 1560.0),
            Rect::new(1090.0, 900.0, 1750.0, 1560.0),
        ]
    }
}

fn symmetric_ticks(m: f64) -> Vec<(f64, String)> {
    let t = nice_ticks(-m, m, 6);
    let sp = if t.len() > 1 { t[1] - t[0] } else { 1.0 };
    t.iter().map(|&v| ((v + m) / (2.0 * m), format_tick(v, sp))).collect()
}

#[allow(clippy::too_many_arguments)]
fn heat_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rect: Rect,
    n_rows: usize,
    n_cols: usize,
    value: impl Fn(usize, usize) -> f64,
    range: f64,
    row_labels: &[String],
    col_labels: &[String],
    titles: (&str, &str, &str),
) -> Result<(), FigureError> {
    let range = if range > 0.0 { range } else { 1.0 };
    panel::heatmap(root, rect, n_rows, n_cols, value, |v| ColorMap::Diverging.at((v + range) / (2.0 * range)))?;
    let fs = 15.0;
    let ts = style::text(fs).color(&style::INK);
    // Column labels at non-overlapping positions.
    let nr = row_labels.len().max(1);
    let nc = col_labels.len().max(1);
    let cw = rect.w() / nc as f64;
    let ticks = checkpoint_ticks(nc, cw, |i| text_width(&col_labels[i], fs));
    for i in ticks {
        let x = rect.x0 + (i as f64 + 0.5) * cw;
        text(root, &col_labels[i], (x, rect.y1 + 6.0), &ts, HPos::Center, VPos::Top)?;
    }
    let rh = rect.h() / nr as f64;
    let widest = row_labels.iter().map(|l| text_width(l, fs)).fold(0.0, f64::max);
    for i in checkpoint_ticks(nr, rh, |_| fs * 1.3) {
        let y = rect.y0 + (i as f64 + 0.5) * rh;
        text(root, &row_labels[i], (rect.x0 - 6.0, y), &ts, HPos::Right, VPos::Center)?;
    }
    let ls = style::text(18.0).color(&style::INK);
    text(root, titles.1, ((rect.x0 + rect.x1) / 2.0, rect.y1 + 30.0), &ls, HPos::Center, VPos::Top)?;
    vtext(root, titles.2, (rect.x0 - 18.0 - widest - 9.0, (rect.y0 + rect.y1) / 2.0), &ls)?;
    text(
        root,
        titles.0,
        ((rect.x0 + rect.x1) / 2.0, rect.y0 - 12.0),
        &style::bold(20.0).color(&style::INK),
        HPos::Center,
        VPos::Bottom,
    )?;
    let bar = Rect::new(rect.x1 + 25.0, rect.y0, rect.x1 + 49.0, rect.y1);
    panel::colorbar(root, bar, ColorMap::Diverging, &symmetric_ticks(range), "", 15.0)
}

impl Figure for MembershipFigure {
    fn size(&self) -> (u32, u32) {
        (W, H)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), FigureError> {
        let cx = W as f64 / 2.0;
        text(root, &self.title, (cx, 22.0), &style::bold(28.0).color(&style::INK), HPos::Center, VPos::Top)?;
        text(root, &self.subtitle, (cx, 62.0), &style::text(18.0).color(&style::MUTED), HPos::Center, VPos::Top)?;
        let [r0, r1, r2] = self.rects();
        let m = &self.m;
        if m.n_rows == 0 || m.n_cols == 0 {
            let msg = "no experiments with this kind of group";
            return text(root, msg, (cx, 300.0), &style::text(22.0).color(&style::MUTED), HPos::Center, VPos::Top);
        }
        let row_t = format!("{} ({})", self.row_name, m.n_rows);
        let col_t = format!("{} ({})", self.col_name, m.n_cols);
        heat_panel(
            root,
            r0,
            m.n_rows,
            m.n_cols,
            |r, c| m.at(r, c),
            1.0,
            &m.row_labels,
            &m.col_labels,
            (&format!("indicator I: {}", self.legend), &col_t, &row_t),
        )?;
        let nb_rows = (r1.h().round() as usize).min(m.n_rows);
        let (g, gmax) = gram_blocks(m, nb_rows);
        let title = format!("I Iᵀ: agreement between {}s", self.row_name);
        heat_panel(
            root,
            r1,
            nb_rows,
            nb_rows,
            |r, c| g[r * nb_rows + c],
            gmax,
            &m.row_labels,
            &m.row_labels,
            (&title, &row_t, &row_t),
        )?;
        let t = m.transposed();
        let nb_cols = (r2.h().round() as usize).min(t.n_rows);
        let (g2, gmax2) = gram_blocks(&t, nb_cols);
        let title = format!("Iᵀ I: co-membership of {}s", self.col_name.split(' ').next().unwrap_or("column"));
        heat_panel(
            root,
            r2,
            nb_cols,
            nb_cols,
            |r, c| g2[r * nb_cols + c],
            gmax2,
            &t.row_labels,
            &t.row_labels,
            (&title, &col_t, &col_t),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gram_blocks_average_the_full_product() {
        let m = LabelledMatrix {
            n_rows: 4,
            n_cols: 3,
            values: vec![1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0],
            row_labels: vec![String::new(); 4],
            col_labels: vec![String::new(); 3],
        };
        let full = |a: usize, b: usize| (0..3).map(|k| m.at(a, k) * m.at(b, k)).sum::<f64>();
        let (g, mx) = gram_blocks(&m, 4);
        for a in 0..4 {
            for b in 0..4 {
                assert!((g[a * 4 + b] - full(a, b)).abs() < 1e-12);
            }
        }
        assert_eq!(mx, 3.0);
        let (g2, _) = gram_blocks(&m, 2);
        let want = (full(0, 2) + full(0, 3) + full(1, 2) + full(1, 3)) / 4.0;
        assert!((g2[1] - want).abs() < 1e-12);
        let t = m.transposed();
        assert_eq!(t.at(2, 1), m.at(1, 2));
    }
}
