//! The Pareto archive (docs/search.md §1). The fraction is a count of outliers over `C`, so the archive keeps the
//! best grouping found at every outlier count; the front is the counts whose best beats every smaller count.

/// A grouping found by the search: memberships and outliers as sorted index lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub grp1: Vec<usize>,
    pub grp2: Vec<usize>,
    pub coords_out: Vec<usize>,
    /// Index of the start point the run that found it began from.
    pub start: usize,
}

impl Found {
    /// The lists of the memberships and flags.
    pub fn of(in1: &[bool], in2: &[bool], out: &[bool], start: usize) -> Found {
        let idx = |v: &[bool]| (0..v.len()).filter(|&i| v[i]).collect();
        Found { grp1: idx(in1), grp2: idx(in2), coords_out: idx(out), start }
    }
}

/// The best `(irregularity, grouping)` per outlier count.
#[derive(Debug, Clone)]
pub(crate) struct Archive {
    best: Vec<Option<(f64, Found)>>,
}

impl Archive {
    /// An empty archive for outlier counts `0 ..= max_out`.
    pub fn new(max_out: usize) -> Archive {
        Archive { best: vec![None; max_out + 1] }
    }

    /// The best irregularity at `n_out` so far.
    pub fn best_at(&self, n_out: usize) -> Option<f64> {
        self.best.get(n_out).and_then(|b| b.as_ref().map(|(irr, _)| *irr))
    }

    /// Whether `irr` at `n_out` would improve the archive.
    pub fn improves(&self, n_out: usize, irr: f64) -> bool {
        n_out < self.best.len() && self.best_at(n_out).is_none_or(|b| irr < b)
    }

    /// Offer a grouping; `found` is only built when it improves its count.
    pub fn offer(&mut self, n_out: usize, irr: f64, found: impl FnOnce() -> Found) {
        if self.improves(n_out, irr) {
            self.best[n_out] = Some((irr, found()));
        }
    }

    /// Fold another archive in (ties keep this one's: merging in a fixed order is deterministic).
    pub fn merge(&mut self, other: Archive) {
        for (n, b) in other.best.into_iter().enumerate() {
            if let Some((irr, f)) = b {
                if self.improves(n, irr) {
                    self.best[n] = Some((irr, f));
                }
            }
        }
    }

    /// The non-dominated entries, by increasing outlier count (strictly decreasing irregularity).
    pub fn front(&self) -> Vec<(usize, f64, &Found)> {
        let mut v = Vec::new();
        let mut best = f64::INFINITY;
        for (n, b) in self.best.iter().enumerate() {
            if let Some((irr, f)) = b {
                if *irr < best {
                    best = *irr;
                    v.push((n, *irr, f));
                }
            }
        }
        v
    }
}

/// The non-dominated points of `(fraction, irregularity)` pairs (lower is better for both), as indices sorted by
/// fraction; among equal points the first is kept.
pub(crate) fn pareto_indices(points: &[(f64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        points[a].0.total_cmp(&points[b].0).then(points[a].1.total_cmp(&points[b].1)).then(a.cmp(&b))
    });
    let mut keep = Vec::new();
    let mut best = f64::INFINITY;
    for i in order {
        if points[i].1 < best {
            best = points[i].1;
            keep.push(i);
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(start: usize) -> Found {
        Found { grp1: vec![0], grp2: vec![1], coords_out: vec![], start }
    }

    #[test]
    fn front_keeps_what_no_smaller_count_beats() {
        let mut a = Archive::new(4);
        a.offer(0, 0.5, || f(0));
        a.offer(2, 0.6, || f(1)); // dominated by count 0
        a.offer(3, 0.2, || f(2));
        a.offer(3, 0.3, || f(3)); // worse at its count
        let mut b = Archive::new(4);
        b.offer(1, 0.4, || f(4));
        b.offer(3, 0.2, || f(5)); // a tie keeps the first
        a.merge(b);
        let front: Vec<(usize, f64, usize)> = a.front().into_iter().map(|(n, i, f)| (n, i, f.start)).collect();
        assert_eq!(front, vec![(0, 0.5, 0), (1, 0.4, 4), (3, 0.2, 2)]);
    }

    #[test]
    fn pareto_of_points() {
        let p = [(0.1, 0.5), (0.0, 0.6), (0.1, 0.4), (0.2, 0.4), (0.3, 0.1)];
        assert_eq!(pareto_indices(&p), vec![1, 2, 4]);
    }
}
