//! What most experiments agree on, and what changed between two analyses of a growing run: the alerts of
//! `ccc watch` and the scalars the Python training callback logs.
//!
//! A coordinate is a **consensus outlier** when more than a threshold (by default half) of the experiments with
//! a coordinate split call it an outlier ([`Analysis::coord_consensus`]). A component's **majority group** is the
//! one of group 1, group 2 and neither that most experiments with component groups put it in
//! ([`Analysis::comp_consensus`]; ties go to the first of that order). A component **switches** when its majority
//! group differs from the previous analysis'.

use crate::analysis::Analysis;

/// The default share of experiments above which a coordinate is a consensus outlier.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// Where most experiments put a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompGroup {
    /// Group 1.
    Grp1,
    /// Group 2.
    Grp2,
    /// Neither group.
    Discarded,
}

impl CompGroup {
    /// `grp1`, `grp2` or `discarded` (the keys of `summary.json`'s `consensus.comps`).
    pub fn name(self) -> &'static str {
        match self {
            CompGroup::Grp1 => "grp1",
            CompGroup::Grp2 => "grp2",
            CompGroup::Discarded => "discarded",
        }
    }
}

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
    /// For every component, its majority group.
    pub comp_groups: Vec<CompGroup>,
    /// The component names, in order.
    pub components: Vec<String>,
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
    /// The consensus of `a`.
    pub fn of(a: &Analysis) -> Consensus {
        let comp_groups = a
            .comp_consensus()
            .into_iter()
            .map(|(g1, g2, none)| {
                if g1 >= g2 && g1 >= none {
                    CompGroup::Grp1
                } else if g2 >= none {
                    CompGroup::Grp2
                } else {
                    CompGroup::Discarded
                }
            })
            .collect();
        Consensus { coord_fraction: a.coord_consensus(), comp_groups, components: a.components.clone() }
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
        if prev.coord_fraction.len() == self.coord_fraction.len() {
            let (now, before) = (self.outliers(threshold), prev.outliers(threshold));
            ch.new_outliers = now.iter().copied().filter(|c| before.binary_search(c).is_err()).collect();
            ch.dropped_outliers = before.iter().copied().filter(|c| now.binary_search(c).is_err()).collect();
        }
        if prev.components == self.components {
            for (k, (&from, &to)) in prev.comp_groups.iter().zip(&self.comp_groups).enumerate() {
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

    fn consensus(fr: &[f64], groups: &[CompGroup]) -> Consensus {
        Consensus {
            coord_fraction: fr.to_vec(),
            comp_groups: groups.to_vec(),
            components: (0..groups.len()).map(|k| format!("c{k}")).collect(),
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
        let before = consensus(&[0.9, 0.2, 0.6], &[Grp1, Grp2, Discarded]);
        let now = consensus(&[0.9, 0.8, 0.1], &[Grp1, Grp1, Discarded]);
        let ch = now.changes_since(&before, 0.5);
        assert_eq!(ch.new_outliers, vec![1]);
        assert_eq!(ch.dropped_outliers, vec![2]);
        assert_eq!(ch.switched, vec![Switch { component: 1, name: "c1".into(), from: Grp2, to: Grp1 }]);
        assert_eq!(now.changes_since(&now, 0.5), Changes::default());
        // Another tensor's consensus is not compared.
        let other = consensus(&[0.9], &[Grp2]);
        assert_eq!(now.changes_since(&other, 0.5), Changes::default());
    }
}
