//! The moves of the search (docs/search.md §1) and how they are drawn.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::eval::Evaluator;

/// Where a component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// In component group 1 only.
    Grp1,
    /// In component group 2 only.
    Grp2,
    /// In neither group.
    Discarded,
    /// In both groups (only a start point can have this; every move puts a component in one place).
    Both,
}

impl Slot {
    /// `(in grp1, in grp2)`.
    pub fn flags(self) -> (bool, bool) {
        match self {
            Slot::Grp1 => (true, false),
            Slot::Grp2 => (false, true),
            Slot::Discarded => (false, false),
            Slot::Both => (true, true),
        }
    }
}

/// One change of a grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Move {
    /// Put component `k` in `to` (group 1, group 2 or discarded).
    Comp { k: usize, to: Slot },
    /// Exchange the places of two components.
    SwapComps { a: usize, b: usize },
    /// Make `add` an outlier and/or `remove` an inlier again (both: an exchange that keeps the fraction).
    Outlier { add: Option<usize>, remove: Option<usize> },
}

/// The limits a grouping must respect (docs/search.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Fewest components in each group.
    pub min_group: usize,
    /// Most outlier coordinates (the run's ε-constraint, at most the global cap).
    pub max_out: usize,
}

/// Draw a move that keeps the grouping within `limits`, or `None` when the draw found none (try again).
pub(crate) fn draw(
    e: &Evaluator<'_>,
    limits: Limits,
    n_coord: usize,
    n_comp: usize,
    rng: &mut ChaCha8Rng,
) -> Option<Move> {
    let (n1, n2, n_out) = e.sizes();
    let r: f64 = rng.random();
    // Component moves change the channels and are what lowers the irregularity most; outlier moves are cheap
    // (O(T) mostly) and trade fraction for irregularity.
    let p_outlier = if limits.max_out == 0 && n_out == 0 { 0.0 } else { 0.35 };
    if r < p_outlier {
        let pick = |rng: &mut ChaCha8Rng, want_out: bool, count: usize| -> Option<usize> {
            if count == 0 {
                return None;
            }
            let mut i = rng.random_range(0..count);
            (0..n_coord).find(|&c| {
                if e.is_out(c) == want_out {
                    if i == 0 {
                        return true;
                    }
                    i -= 1;
                }
                false
            })
        };
        let n_in = n_coord - n_out;
        let kind: f64 = rng.random();
        return if n_out > limits.max_out {
            Some(Move::Outlier { add: None, remove: pick(rng, true, n_out) })
        } else if kind < 0.5 && n_out > 0 && n_in > 1 {
            // Exchange: keeps the fraction, so it explores the ε level itself.
            Some(Move::Outlier { add: pick(rng, false, n_in), remove: pick(rng, true, n_out) })
        } else if kind < 0.8 && n_out < limits.max_out && n_in > 1 {
            Some(Move::Outlier { add: pick(rng, false, n_in), remove: None })
        } else if n_out > 0 {
            Some(Move::Outlier { add: None, remove: pick(rng, true, n_out) })
        } else {
            None
        };
    }
    let k = rng.random_range(0..n_comp);
    let from = e.slot(k);
    let ok = |g1: usize, g2: usize| g1 >= limits.min_group && g2 >= limits.min_group;
    if r < p_outlier + 0.2 {
        // Swap with a component elsewhere: sizes unchanged, so it moves through groups a single move cannot
        // leave without breaking `min_group`.
        let b = rng.random_range(0..n_comp);
        let to = e.slot(b);
        if b == k || to == from || from == Slot::Both || to == Slot::Both {
            return None;
        }
        return Some(Move::SwapComps { a: k, b });
    }
    let targets: [Slot; 2] = match from {
        Slot::Grp1 => [Slot::Grp2, Slot::Discarded],
        Slot::Grp2 => [Slot::Grp1, Slot::Discarded],
        Slot::Discarded => [Slot::Grp1, Slot::Grp2],
        Slot::Both => [Slot::Grp1, Slot::Grp2],
    };
    let to = targets[rng.random_range(0..2)];
    let (f1, f2) = from.flags();
    let (t1, t2) = to.flags();
    let g1 = n1 + t1 as usize - f1 as usize;
    let g2 = n2 + t2 as usize - f2 as usize;
    ok(g1, g2).then_some(Move::Comp { k, to })
}
