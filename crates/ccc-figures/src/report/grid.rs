//! The layer × head grid of the components' consensus: one column per layer, one row per component kind and head
//! (the order of the trajectory sheet's group grid), each cell showing how often its component is in group 1, in
//! group 2, or discarded.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ccc_core::{Component, ComponentKind};

use super::html::escape;
use ccc_analyze::files::summary::CompConsensus;

/// The three shares of one component, normalized to sum to 1 (or all 0 when it was never classified).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    pub name: String,
    pub grp1: f64,
    pub grp2: f64,
    pub discarded: f64,
}

impl Cell {
    fn new(c: &CompConsensus) -> Self {
        let clean = |v: f64| if v.is_finite() && v > 0.0 { v } else { 0.0 };
        let (g1, g2, d) = (clean(c.grp1), clean(c.grp2), clean(c.discarded));
        // Accept fractions (sum 1) as well as counts: normalize by the total.
        let total = g1 + g2 + d;
        let (g1, g2, d) = if total > 0.0 { (g1 / total, g2 / total, d / total) } else { (0.0, 0.0, 0.0) };
        Cell { name: c.name.clone(), grp1: g1, grp2: g2, discarded: d }
    }
}

/// The cells of one row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RowCells {
    /// A component without a layer (`emb_in`, a compact-mode kind, an unparsable name): one cell over all columns.
    Span(Cell),
    /// One cell per layer column (absent where the model has no such component).
    PerLayer(Vec<Option<Cell>>),
}

/// One row of the grid.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub label: String,
    pub cells: RowCells,
}

/// The whole grid.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grid {
    /// The layer of each column.
    pub layers: Vec<usize>,
    pub rows: Vec<Row>,
}

/// Sort key of a row: parsed components by kind then expert and head, unparsable names last in their given order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum RowKey {
    Kind(ComponentKind, Option<usize>, Option<usize>),
    Other(usize),
}

impl Grid {
    /// Lay out the components' consensus.
    pub fn new(comps: &[CompConsensus]) -> Self {
        let mut layered: BTreeMap<RowKey, BTreeMap<usize, Cell>> = BTreeMap::new();
        let mut spans: BTreeMap<RowKey, (String, Cell)> = BTreeMap::new();
        for (i, c) in comps.iter().enumerate() {
            let cell = Cell::new(c);
            match c.name.parse::<Component>() {
                Ok(Component { kind, layer: Some(layer), expert, head }) => {
                    layered.entry(RowKey::Kind(kind, expert, head)).or_default().insert(layer, cell);
                }
                Ok(Component { kind, .. }) => {
                    spans.insert(RowKey::Kind(kind, None, None), (kind.name().to_string(), cell));
                }
                Err(_) => {
                    spans.insert(RowKey::Other(i), (c.name.clone(), cell));
                }
            }
        }
        let mut layers: Vec<usize> = layered.values().flat_map(|m| m.keys().copied()).collect();
        layers.sort_unstable();
        layers.dedup();
        let mut rows: Vec<(RowKey, Row)> = Vec::new();
        for (key, (label, cell)) in spans {
            rows.push((key, Row { label, cells: RowCells::Span(cell) }));
        }
        for (key, by_layer) in layered {
            let label = match &key {
                RowKey::Kind(kind, _, Some(h)) => format!("{} H{h}", kind.name()),
                RowKey::Kind(kind, Some(e), None) => format!("{} E{e}", kind.name()),
                RowKey::Kind(kind, None, None) => kind.name().to_string(),
                RowKey::Other(_) => String::new(),
            };
            let cells = layers.iter().map(|l| by_layer.get(l).cloned()).collect();
            rows.push((key, Row { label, cells: RowCells::PerLayer(cells) }));
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        Grid { layers, rows: rows.into_iter().map(|(_, r)| r).collect() }
    }

    /// The grid as an HTML table.
    pub fn to_html(&self) -> String {
        let mut s = String::new();
        let ncol = self.layers.len().max(1);
        s.push_str("<table class=\"comp-grid\" id=\"comp-grid\">\n<thead><tr><th scope=\"col\">component</th>");
        if self.layers.is_empty() {
            s.push_str("<th scope=\"col\">all layers</th>");
        }
        for l in &self.layers {
            let _ = write!(s, "<th scope=\"col\">L{l}</th>");
        }
        s.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            let _ = write!(s, "<tr><th scope=\"row\">{}</th>", escape(&row.label));
            match &row.cells {
                RowCells::Span(cell) => {
                    let _ = write!(s, "<td colspan=\"{ncol}\">{}</td>", cell_html(cell));
                }
                RowCells::PerLayer(cells) => {
                    for cell in cells {
                        match cell {
                            Some(c) => {
                                let _ = write!(s, "<td>{}</td>", cell_html(c));
                            }
                            None => s.push_str("<td class=\"empty\"></td>"),
                        }
                    }
                }
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody>\n</table>\n");
        s
    }
}

fn pct(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// One cell: a stacked bar (blue group 1 from the left, red group 2 from the right, grey discarded between).
fn cell_html(c: &Cell) -> String {
    let title = format!("{}: group 1 {}, group 2 {}, discarded {}", c.name, pct(c.grp1), pct(c.grp2), pct(c.discarded));
    format!(
        "<div class=\"bar\" data-comp=\"{name}\" data-grp1=\"{g1:.4}\" data-grp2=\"{g2:.4}\" title=\"{title}\" \
         aria-label=\"{title}\" role=\"img\"><span class=\"g1\" style=\"width:{w1:.2}%\"></span>\
         <span class=\"dis\" style=\"width:{wd:.2}%\"></span><span class=\"g2\" style=\"width:{w2:.2}%\"></span></div>",
        name = escape(&c.name),
        title = escape(&title),
        g1 = c.grp1,
        g2 = c.grp2,
        w1 = c.grp1 * 100.0,
        wd = c.discarded * 100.0,
        w2 = c.grp2 * 100.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comp(name: &str, g1: f64, g2: f64, d: f64) -> CompConsensus {
        CompConsensus { name: name.into(), grp1: g1, grp2: g2, discarded: d }
    }

    #[test]
    fn full_mode_layout_follows_the_sheet_order() {
        let comps = vec![
            comp("emb_in", 1.0, 0.0, 0.0),
            comp("L0.H0.Q", 0.5, 0.5, 0.0),
            comp("L1.H0.Q", 0.25, 0.75, 0.0),
            comp("L0.H1.Q", 0.0, 1.0, 0.0),
            comp("L1.mlp_in", 2.0, 1.0, 1.0), // counts, not fractions
            comp("L0.H0.K", 0.0, 0.0, 1.0),
            comp("L1.ln_2", 0.0, 0.0, 0.0),
            comp("weird.thing", 0.1, 0.9, 0.0),
        ];
        let g = Grid::new(&comps);
        assert_eq!(g.layers, vec![0, 1]);
        let labels: Vec<&str> = g.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["emb_in", "Q H0", "Q H1", "mlp_in", "K H0", "ln_2", "weird.thing"]);
        let RowCells::PerLayer(q0) = &g.rows[1].cells else { panic!("Q H0 is per layer") };
        assert_eq!(q0[1].as_ref().unwrap().grp2, 0.75);
        let RowCells::PerLayer(q1) = &g.rows[2].cells else { panic!("Q H1 is per layer") };
        assert!(q1[1].is_none(), "L1.H1.Q does not exist");
        let RowCells::PerLayer(mlp) = &g.rows[3].cells else { panic!("mlp_in is per layer") };
        let c = mlp[1].as_ref().unwrap();
        assert!((c.grp1 - 0.5).abs() < 1e-12 && (c.grp2 - 0.25).abs() < 1e-12 && (c.discarded - 0.25).abs() < 1e-12);
        let html = g.to_html();
        assert_eq!(html.matches("class=\"bar\"").count(), comps.len());
        assert!(html.contains("data-comp=\"L1.H0.Q\" data-grp1=\"0.2500\" data-grp2=\"0.7500\""));
    }

    #[test]
    fn compact_mode_is_one_column() {
        let comps: Vec<_> = ["emb_in", "Q", "V", "mlp_in", "ln_1"].iter().map(|n| comp(n, 0.5, 0.5, 0.0)).collect();
        let g = Grid::new(&comps);
        assert!(g.layers.is_empty());
        assert!(g.rows.iter().all(|r| matches!(r.cells, RowCells::Span(_))));
        assert!(g.to_html().contains("all layers"));
    }

    #[test]
    fn names_are_escaped() {
        let g = Grid::new(&[comp("<b>", 1.0, 0.0, 0.0)]);
        let html = g.to_html();
        assert!(!html.contains("<b>"));
        assert!(html.contains("&lt;b&gt;"));
    }
}
