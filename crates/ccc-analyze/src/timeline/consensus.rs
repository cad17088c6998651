//! The consensus of one analysis over its experiments (docs/timeline.md §2): each coordinate's outlier share and
//! each component's group-1 / group-2 / discarded shares, with the two component groups of every experiment
//! aligned first (which group is "1" is arbitrary, docs/analysis.md §3.6).

use crate::analysis::Analysis;
use crate::files::Status;

/// A component's place in a consensus: the shares of experiments that put it in group 1, group 2, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CompShare {
    /// Share of the experiments with component groups that put it in (aligned) group 1.
    pub grp1: f64,
    /// In group 2.
    pub grp2: f64,
    /// In neither.
    pub discarded: f64,
}

/// A component's majority place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CompLabel {
    /// Mostly in group 1.
    Grp1,
    /// Mostly in group 2.
    Grp2,
    /// Mostly discarded.
    Discarded,
}

impl CompLabel {
    /// The name written in the files.
    pub fn name(self) -> &'static str {
        match self {
            CompLabel::Grp1 => "grp1",
            CompLabel::Grp2 => "grp2",
            CompLabel::Discarded => "discarded",
        }
    }
}

impl std::fmt::Display for CompLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for CompLabel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [CompLabel::Grp1, CompLabel::Grp2, CompLabel::Discarded]
            .into_iter()
            .find(|l| l.name() == s)
            .ok_or_else(|| format!("unknown component label `{s}` (expected grp1, grp2 or discarded)"))
    }
}

impl CompShare {
    /// The largest share (ties: group 1, then group 2).
    pub fn label(&self) -> CompLabel {
        if self.grp1 >= self.grp2 && self.grp1 >= self.discarded {
            CompLabel::Grp1
        } else if self.grp2 >= self.discarded {
            CompLabel::Grp2
        } else {
            CompLabel::Discarded
        }
    }

    /// The same place with the groups swapped.
    pub fn swapped(self) -> CompShare {
        CompShare { grp1: self.grp2, grp2: self.grp1, discarded: self.discarded }
    }
}

/// The consensus of one analysis.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shares {
    /// Experiments with a coordinate split (not failed).
    pub n_coord_experiments: usize,
    /// Per coordinate, the share of those that call it an outlier.
    pub coords: Vec<f64>,
    /// Experiments with component groups (not failed).
    pub n_comp_experiments: usize,
    /// Per component, its aligned shares.
    pub comps: Vec<CompShare>,
}

/// `+1` group 2, `-1` group 1, `0` neither or both: an experiment's component groups as one vector.
fn side_vector(g1: &[usize], g2: &[usize], n_k: usize) -> Vec<i8> {
    let mut v = vec![0i8; n_k];
    for &k in g1.iter().filter(|&&k| k < n_k) {
        v[k] -= 1;
    }
    for &k in g2.iter().filter(|&&k| k < n_k) {
        v[k] += 1;
    }
    v
}

fn dot(a: &[i64], b: &[i8]) -> i64 {
    a.iter().zip(b).map(|(&x, &y)| x * y as i64).sum()
}

/// The consensus of an analysis. Component groups are aligned by sign agreement: each experiment's groups are
/// swapped when that makes its side vector agree better with the running sum of the others (one pass in
/// experiment order, then one pass against the total), and the result is oriented so that component 0 is not
/// mostly in group 2.
pub fn shares(a: &Analysis) -> Shares {
    let n_c = a.shape[0];
    let n_k = a.shape[2];
    let mut count = vec![0usize; n_c];
    let mut n_coord_experiments = 0;
    for e in a.experiments.iter().filter(|e| e.status != Status::Failed && e.groups.has_coords()) {
        n_coord_experiments += 1;
        for &c in e.groups.coords_out.as_deref().unwrap_or(&[]) {
            if c < n_c {
                count[c] += 1;
            }
        }
    }
    let frac = |k: usize, n: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    let coords = count.iter().map(|&k| frac(k, n_coord_experiments)).collect();

    let exps: Vec<(&[usize], &[usize])> = a
        .experiments
        .iter()
        .filter(|e| e.status != Status::Failed && e.groups.has_comps())
        .map(|e| (e.groups.comps_grp1.as_deref().unwrap_or(&[]), e.groups.comps_grp2.as_deref().unwrap_or(&[])))
        .collect();
    let sides: Vec<Vec<i8>> = exps.iter().map(|(g1, g2)| side_vector(g1, g2, n_k)).collect();
    let mut total = vec![0i64; n_k];
    let mut flip = vec![false; sides.len()];
    for (i, s) in sides.iter().enumerate() {
        flip[i] = dot(&total, s) < 0;
        let sign = if flip[i] { -1 } else { 1 };
        total.iter_mut().zip(s).for_each(|(t, &v)| *t += sign * v as i64);
    }
    for (i, s) in sides.iter().enumerate() {
        let d = dot(&total, s);
        // Against the total without this experiment's own contribution.
        let own: i64 = s.iter().map(|&v| (v as i64) * (v as i64)).sum::<i64>() * if flip[i] { -1 } else { 1 };
        let d_rest = d - own;
        if d_rest != 0 {
            flip[i] = d_rest < 0;
        }
    }
    let mut c = vec![(0usize, 0usize, 0usize); n_k];
    for (i, (g1, g2)) in exps.iter().enumerate() {
        let (g1, g2) = if flip[i] { (*g2, *g1) } else { (*g1, *g2) };
        let mut in1 = vec![false; n_k];
        let mut in2 = vec![false; n_k];
        g1.iter().filter(|&&k| k < n_k).for_each(|&k| in1[k] = true);
        g2.iter().filter(|&&k| k < n_k).for_each(|&k| in2[k] = true);
        for k in 0..n_k {
            c[k].0 += in1[k] as usize;
            c[k].1 += in2[k] as usize;
            c[k].2 += (!in1[k] && !in2[k]) as usize;
        }
    }
    let n = exps.len();
    let mut comps: Vec<CompShare> =
        c.iter().map(|&(a, b, d)| CompShare { grp1: frac(a, n), grp2: frac(b, n), discarded: frac(d, n) }).collect();
    if comps.first().is_some_and(|s| s.grp2 > s.grp1) {
        comps.iter_mut().for_each(|s| *s = s.swapped());
    }
    Shares { n_coord_experiments, coords, n_comp_experiments: n, comps }
}

/// Align each consensus's groups with the previous one (swap when the `grp2 − grp1` vectors disagree), so that a
/// switch means a component changed sides, not that the arbitrary names did.
pub fn align_sequence(seq: &mut [Shares]) {
    for i in 1..seq.len() {
        let (prev, cur) = seq.split_at_mut(i);
        let p = &prev[i - 1].comps;
        let c = &mut cur[0].comps;
        let agree: f64 = p.iter().zip(c.iter()).map(|(a, b)| (a.grp2 - a.grp1) * (b.grp2 - b.grp1)).sum();
        if agree < 0.0 {
            c.iter_mut().for_each(|s| *s = s.swapped());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(g1: f64, g2: f64) -> CompShare {
        CompShare { grp1: g1, grp2: g2, discarded: 1.0 - g1 - g2 }
    }

    #[test]
    fn labels_take_the_largest_share() {
        assert_eq!(cs(0.6, 0.3).label(), CompLabel::Grp1);
        assert_eq!(cs(0.2, 0.5).label(), CompLabel::Grp2);
        assert_eq!(cs(0.1, 0.2).label(), CompLabel::Discarded);
        assert_eq!("grp2".parse::<CompLabel>().unwrap(), CompLabel::Grp2);
    }

    #[test]
    fn sequences_are_aligned_to_the_previous_window() {
        let a = Shares { comps: vec![cs(1.0, 0.0), cs(0.0, 1.0), cs(0.0, 1.0)], ..Shares::default() };
        // The same partition with the names swapped, and one component moved.
        let b = Shares { comps: vec![cs(0.0, 1.0), cs(1.0, 0.0), cs(0.0, 1.0)], ..Shares::default() };
        let mut seq = vec![a, b];
        align_sequence(&mut seq);
        let labels: Vec<CompLabel> = seq[1].comps.iter().map(|s| s.label()).collect();
        assert_eq!(labels, [CompLabel::Grp1, CompLabel::Grp2, CompLabel::Grp1]);
    }
}
