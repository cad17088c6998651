//! The component-group grid of a trajectory sheet: where each component's cell is, and what colour it gets.
//!
//! Full mode: one column per layer (plus an `emb` column on the left when the model has embeddings), one row per
//! component kind and head, in the canonical order `emb_in`, `emb_out`, `Q` heads, `V` heads, `O` heads, `mlp_in`,
//! `mlp_out`, `K` heads, `ln_1`, `ln_2` (only the rows that exist: GQA models get fewer `K`/`V` rows). Compact mode:
//! a single column with one row per kind.

use ccc_core::{Component, ComponentKind};

/// Membership of one component in a pair of groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Membership {
    /// Only in group 1.
    Group1,
    /// Only in group 2.
    Group2,
    /// In both groups.
    Both,
    /// In neither group.
    Discarded,
}

impl Membership {
    /// The membership of component `k`.
    pub fn of(k: usize, grp1: &[usize], grp2: &[usize]) -> Membership {
        match (grp1.contains(&k), grp2.contains(&k)) {
            (true, false) => Membership::Group1,
            (false, true) => Membership::Group2,
            (true, true) => Membership::Both,
            (false, false) => Membership::Discarded,
        }
    }
}

/// Rows, columns and the cell of each component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridLayout {
    /// Row labels, top to bottom (`emb_in`, `Q 0`, …, `mlp_in`, …).
    pub rows: Vec<String>,
    /// The kind of each row (for separators between kinds).
    pub row_kinds: Vec<ComponentKind>,
    /// Column labels, left to right (`emb`, `0`, `1`, … layers).
    pub cols: Vec<String>,
    /// `(row, col)` of each component, in component order.
    pub cells: Vec<(usize, usize)>,
    /// Whether the columns are layers (full mode) rather than a single compact column.
    pub by_layer: bool,
}

impl GridLayout {
    /// The layout for a list of components.
    pub fn new(components: &[Component]) -> GridLayout {
        let by_layer = components.iter().any(|c| c.layer.is_some());
        let has_emb = components.iter().any(|c| c.layer.is_none());
        let n_layer = components.iter().filter_map(|c| c.layer).max().map_or(0, |l| l + 1);
        let emb_cols = usize::from(by_layer && has_emb);
        // Experts (mixture-of-experts MLPs) get a row each, like heads.
        let key_of = |c: &Component| if by_layer { (c.kind, c.expert, c.head) } else { (c.kind, None, None) };
        let mut keys: Vec<(ComponentKind, Option<usize>, Option<usize>)> = components.iter().map(key_of).collect();
        keys.sort();
        keys.dedup();
        let row_of = |c: &Component| keys.binary_search(&key_of(c)).unwrap_or(0);
        let cells = components
            .iter()
            .map(|c| {
                let col = match (by_layer, c.layer) {
                    (true, Some(l)) => emb_cols + l,
                    _ => 0,
                };
                (row_of(c), col)
            })
            .collect();
        let rows = keys
            .iter()
            .map(|(k, e, h)| match (e, h) {
                (_, Some(h)) => format!("{} {h}", k.name()),
                (Some(e), None) => format!("{} E{e}", k.name()),
                (None, None) => k.name().to_string(),
            })
            .collect();
        let cols = if by_layer {
            let mut v: Vec<String> = if has_emb { vec!["emb".into()] } else { vec![] };
            v.extend((0..n_layer).map(|l| l.to_string()));
            v
        } else {
            vec![String::new()]
        };
        GridLayout { rows, row_kinds: keys.iter().map(|k| k.0).collect(), cols, cells, by_layer }
    }
}

/// The pixel geometry of a drawn grid (relative to the figure's top-left corner).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridGeometry {
    /// x of the left edge of column 0.
    pub left: f64,
    /// y of the top edge of row 0.
    pub top: f64,
    /// Cell width.
    pub cell_w: f64,
    /// Cell height.
    pub cell_h: f64,
}

impl GridGeometry {
    /// The rectangle `(x0, y0, x1, y1)` of cell `(row, col)`.
    pub fn cell_rect(&self, row: usize, col: usize) -> (f64, f64, f64, f64) {
        let x0 = self.left + col as f64 * self.cell_w;
        let y0 = self.top + row as f64 * self.cell_h;
        (x0, y0, x0 + self.cell_w, y0 + self.cell_h)
    }

    /// The centre of cell `(row, col)`.
    pub fn cell_center(&self, row: usize, col: usize) -> (f64, f64) {
        let (x0, y0, x1, y1) = self.cell_rect(row, col);
        ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentKind::*;

    #[test]
    fn full_gqa_layout() {
        let comps = Component::full_list(3, 4, 2, &[EmbIn, EmbOut, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2]);
        let g = GridLayout::new(&comps);
        assert_eq!(g.cols, vec!["emb", "0", "1", "2"]);
        // emb_in, emb_out, Q×4, V×2, O×4, mlp_in, mlp_out, K×2, ln_1, ln_2
        assert_eq!(g.rows.len(), 2 + 4 + 2 + 4 + 2 + 2 + 2);
        assert_eq!(g.rows[0], "emb_in");
        assert_eq!(g.rows[2], "Q 0");
        assert_eq!(g.rows[6], "V 0");
        assert_eq!(g.rows[14], "K 0");
        assert_eq!(g.rows.last().unwrap(), "ln_2");
        let idx = |name: &str| comps.iter().position(|c| c.name() == name).unwrap();
        assert_eq!(g.cells[idx("emb_out")], (1, 0));
        assert_eq!(g.cells[idx("L2.H3.Q")], (5, 3));
        assert_eq!(g.cells[idx("L0.H1.K")], (15, 1));
        assert_eq!(g.cells[idx("L1.ln_1")], (16, 2));
        // Every component has its own cell.
        let mut cells = g.cells.clone();
        cells.sort();
        cells.dedup();
        assert_eq!(cells.len(), comps.len());
    }

    #[test]
    fn compact_is_one_column() {
        let comps = Component::compact_list(&[EmbIn, Q, K, V, O, MlpIn, MlpOut]);
        let g = GridLayout::new(&comps);
        assert_eq!(g.cols.len(), 1);
        assert_eq!(g.rows, vec!["emb_in", "Q", "V", "O", "mlp_in", "mlp_out", "K"]);
        assert_eq!(g.cells[6], (6, 0)); // K comes after mlp_out in the canonical order
    }

    #[test]
    fn memberships() {
        assert_eq!(Membership::of(0, &[0], &[1]), Membership::Group1);
        assert_eq!(Membership::of(1, &[0], &[1]), Membership::Group2);
        assert_eq!(Membership::of(1, &[0, 1], &[1]), Membership::Both);
        assert_eq!(Membership::of(2, &[0], &[1]), Membership::Discarded);
    }
}
