//! What most experiments agree on, and what changed between two analyses of a growing run: the alerts of
//! `ccc watch` and the scalars the Python training callback logs.
//!
//! A coordinate is a **consensus outlier** when more than a threshold (by default half) of the experiments with
//! a coordinate split call it an outlier ([`Analysis::coord_consensus`]). Which of an experiment's two component
//! groups is "1" is arbitrary (a sign), so a component's **majority group** is read from the component indicator
//! ([`Analysis::component_indicator`], docs/analysis.md §8), which names the groups by component 0: the group of
//! component 0, the other group, or neither — whichever more than the threshold (by default half) of the
//! experiments with component groups put it in; a component without such a majority has none. A component
//! **switches** when it has a majority group in both analyses and they differ. Analyses of fewer than 3 checkpoints (no irregularity, no meaningful consensus) are not compared.

use crate::analysis::Analysis;

/// The default share of experiments above which a coordinate is a consensus outlier.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// Where most experiments put a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompGroup {
    /// The group of component 0 (`emb_in`).
    WithFirst,
    /// The other group.
    Other,
    /// Neither group.
    Discarded,
}

impl CompGroup {
    /// `with_first`, `other` or `discarded`.
    pub fn name(self) -> &'static str {
        match self {
            CompGroup::WithFirst => "with_first",
            CompGroup::Other => "other",
            CompGroup::Discarded => "discarded",
        }
    }
}

/// The fewest checkpoints an analysis must have to be compared with another.
pub const MIN_CHECKPOINTS: usize = 3;

impl std::fmt::Display for CompGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The consensus of one analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Consensus {
    /// For every coordinate, the share of experiments that call it an outlier.
    pub coord_fraction: Vec<f64>,
    /// For every component, its majority group (`None`: no group has more than the threshold).
    pub comp_groups: Vec<Option<CompGroup>>,
    /// The component names, in order.
    pub components: Vec<String>,
    /// Checkpoints analyzed.
    pub checkpoints: usize,
}

/// A component whose majority group changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    /// The component's index.
    pub component: usize,
    /// Its name.
    pub name: String,
    /// Its majority group before.
    pub from: CompGroup,
    /// Its majority group now.
    pub to: CompGroup,
}

/// What changed since a previous analysis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Coordinates that are consensus outliers now and were not before.
    pub new_outliers: Vec<usize>,
    /// Coordinates that were consensus outliers and are not any more.
    pub dropped_outliers: Vec<usize>,
    /// Components whose majority group changed.
    pub switched: Vec<Switch>,
}

impl Consensus {
    /// The consensus of `a`, with majorities of more than `threshold` of the experiments.
    pub fn of(a: &Analysis, threshold: f64) -> Consensus {
        let (_, rows) = a.component_indicator();
        // Votes per component: the group of component 0 (−1), the other (+1), neither (0).
        let mut votes = vec![[0usize; 3]; a.shape[2]];
        for r in &rows {
            for (v, &x) in votes.iter_mut().zip(r) {
                v[usize::from(x >= 0) + usize::from(x > 0)] += 1;
            }
        }
        let n = rows.len().max(1) as f64;
        let comp_groups = votes
            .iter()
            .map(|&[first, none, other]| {
                [(first, CompGroup::WithFirst), (other, CompGroup::Other), (none, CompGroup::Discarded)]
                    .into_iter()
                    .find(|&(v, _)| v as f64 / n > threshold)
                    .map(|(_, g)| g)
            })
            .collect();
        Consensus {
            coord_fraction: a.coord_consensus(),
            comp_groups,
            components: a.components.clone(),
            checkpoints: a.shape[1],
        }
    }

    /// The consensus outliers: coordinates that more than `threshold` of the experiments call outliers.
    pub fn outliers(&self, threshold: f64) -> Vec<usize> {
        (0..self.coord_fraction.len()).filter(|&c| self.coord_fraction[c] > threshold).collect()
    }

    /// The `n` coordinates most often called outliers, most often first (ties by index).
    pub fn top_outliers(&self, n: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.coord_fraction.len()).collect();
        idx.sort_by(|&a, &b| self.coord_fraction[b].total_cmp(&self.coord_fraction[a]).then(a.cmp(&b)));
        idx.truncate(n);
        idx
    }

    /// What changed since `prev` (nothing is compared when the two have other coordinates or components).
    pub fn changes_since(&self, prev: &Consensus, threshold: f64) -> Changes {
        let mut ch = Changes::default();
        if self.checkpoints < MIN_CHECKPOINTS || prev.checkpoints < MIN_CHECKPOINTS {
            return ch;
        }
        if prev.coord_fraction.len() == self.coord_fraction.len() {
            let (now, before) = (self.outliers(threshold), prev.outliers(threshold));
            ch.new_outliers = now.iter().copied().filter(|c| before.binary_search(c).is_err()).collect();
            ch.dropped_outliers = before.iter().copied().filter(|c| now.binary_search(c).is_err()).collect();
        }
        if prev.components == self.components {
            for (k, (&from, &to)) in prev.comp_groups.iter().zip(&self.comp_groups).enumerate() {
                let (Some(from), Some(to)) = (from, to) else { continue };
                if from != to {
                    ch.switched.push(Switch { component: k, name: self.components[k].clone(), from, to });
                }
            }
        }
        ch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consensus(fr: &[f64], groups: &[Option<CompGroup>]) -> Consensus {
        Consensus {
            coord_fraction: fr.to_vec(),
            comp_groups: groups.to_vec(),
            components: (0..groups.len()).map(|k| format!("c{k}")).collect(),
            checkpoints: 5,
        }
    }

    #[test]
    fn outliers_above_the_threshold_and_the_top_ones_in_order() {
        let c = consensus(&[0.1, 0.9, 0.5, 0.7, 0.9], &[]);
        assert_eq!(c.outliers(0.5), vec![1, 3, 4]);
        assert_eq!(c.top_outliers(3), vec![1, 4, 3]);
        assert_eq!(c.top_outliers(10).len(), 5);
    }

    #[test]
    fn changes_name_new_and_dropped_outliers_and_switched_components() {
        use CompGroup::*;
        let before = consensus(&[0.9, 0.2, 0.6], &[Some(WithFirst), Some(Other), Some(Discarded), None]);
        let now = consensus(&[0.9, 0.8, 0.1], &[Some(WithFirst), Some(WithFirst), None, Some(Other)]);
        let ch = now.changes_since(&before, 0.5);
        assert_eq!(ch.new_outliers, vec![1]);
        assert_eq!(ch.dropped_outliers, vec![2]);
        assert_eq!(ch.switched, vec![Switch { component: 1, name: "c1".into(), from: Other, to: WithFirst }]);
        assert_eq!(now.changes_since(&now, 0.5), Changes::default());
        // Another tensor's consensus is not compared.
        let other = consensus(&[0.9], &[Some(Other)]);
        assert_eq!(now.changes_since(&other, 0.5), Changes::default());
        // Nor one of fewer than 3 checkpoints.
        let early = Consensus { checkpoints: 2, ..before };
        assert_eq!(now.changes_since(&early, 0.5), Changes::default());
    }
}
