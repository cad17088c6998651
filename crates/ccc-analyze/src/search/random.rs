//! The percentile of a front point among random groupings of the same sizes (docs/search.md §4).

use rand::seq::{index, SliceRandom};
use rayon::prelude::*;

use super::cells::Cells;
use super::data::SearchData;
use super::eval::irregularity_of_sums;
use crate::rng::{rng_for, Stream};

/// Sizes and irregularity of a front point.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub n1: usize,
    pub n2: usize,
    pub n_out: usize,
    pub irregularity: f64,
}

/// For every target, the percentage (0–100) of `n` random groupings with its sizes whose irregularity is at most
/// its own. Random grouping `j` of every target draws from stream `j`: a permutation of the components (group 1
/// its first `n1`, group 2 the next `n2`), then the outliers of each target in turn; so the group sums are
/// prefix sums of one permutation, computed once per `j`.
pub(crate) fn percentiles(d: &SearchData, grid: usize, seed: u64, targets: &[Target], n: usize) -> Vec<Option<f64>> {
    if n == 0 || targets.is_empty() {
        return vec![None; targets.len()];
    }
    let k = d.n_comp;
    let ct = d.n_coord * d.n_ckpt;
    // The group-2 block starts after group 1, or earlier when the two (overlapping) groups exceed `K`.
    let span = |t: &Target| {
        let s = t.n1.min(k.saturating_sub(t.n2));
        (s, (s + t.n2).min(k))
    };
    let mut needed: Vec<usize> = targets.iter().flat_map(|t| [t.n1.min(k), span(t).0, span(t).1]).collect();
    needed.sort_unstable();
    needed.dedup();
    let counts: Vec<Vec<bool>> = (0..n)
        .into_par_iter()
        .map(|j| {
            let mut rng = rng_for(seed, Stream::RandomGrouping(j as u64));
            let mut perm: Vec<usize> = (0..k).collect();
            perm.shuffle(&mut rng);
            // Prefix sums of the permuted columns at every needed length.
            let mut prefix: Vec<(Vec<f64>, f64)> = Vec::with_capacity(needed.len());
            let mut s = vec![0.0f64; ct];
            let mut len = 0.0;
            let mut next = 0;
            for m in 0..=k {
                while next < needed.len() && needed[next] == m {
                    prefix.push((s.clone(), len));
                    next += 1;
                }
                if let Some(&c) = perm.get(m) {
                    let w = d.weight[c];
                    for (o, &v) in s.iter_mut().zip(d.col(c)) {
                        *o += w * v as f64;
                    }
                    len += d.lengths[c];
                }
            }
            let at = |m: usize| &prefix[needed.binary_search(&m).unwrap_or(0)];
            let mut cells = Cells::new(grid);
            let mut diff = vec![0.0f64; ct];
            targets
                .iter()
                .map(|t| {
                    let mut out = vec![false; d.n_coord];
                    for c in index::sample(&mut rng, d.n_coord, t.n_out.min(d.n_coord)) {
                        out[c] = true;
                    }
                    let (a, b) = span(t);
                    let (p1, l1) = at(t.n1.min(k));
                    let ((pa, la), (pb, lb)) = (at(a), at(b));
                    for ((o, &x), &y) in diff.iter_mut().zip(pb).zip(pa) {
                        *o = x - y;
                    }
                    irregularity_of_sums(d, &mut cells, (p1, *l1), (&diff, lb - la), &out)
                        .is_some_and(|irr| irr <= t.irregularity)
                })
                .collect()
        })
        .collect();
    (0..targets.len()).map(|i| Some(100.0 * counts.iter().filter(|c| c[i]).count() as f64 / n as f64)).collect()
}
