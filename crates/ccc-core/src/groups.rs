//! A groups record: a split of the coordinates and two groups of components (docs/analysis.md).

use serde::{Deserialize, Serialize};

/// Up to four sorted index lists: `coords_in`/`coords_out` partition the coordinates; `comps_grp1`/`comps_grp2`
/// are two disjoint or overlapping subsets of the components (those in neither are discarded).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Groups {
    /// Inlier coordinates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coords_in: Option<Vec<usize>>,
    /// Outlier coordinates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coords_out: Option<Vec<usize>>,
    /// Component group 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comps_grp1: Option<Vec<usize>>,
    /// Component group 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comps_grp2: Option<Vec<usize>>,
}

impl Groups {
    /// Whether both coordinate lists and both component groups are present.
    pub fn is_complete(&self) -> bool {
        self.coords_in.is_some() && self.coords_out.is_some() && self.comps_grp1.is_some() && self.comps_grp2.is_some()
    }

    /// Whether a coordinate split is present.
    pub fn has_coords(&self) -> bool {
        self.coords_in.is_some() && self.coords_out.is_some()
    }

    /// Whether component groups are present.
    pub fn has_comps(&self) -> bool {
        self.comps_grp1.is_some() && self.comps_grp2.is_some()
    }

    /// A coordinate split from the outlier indices (sorted, deduplicated); the inliers are the rest of `0..n`.
    pub fn coords_from_outliers(n_coord: usize, outliers: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let mut is_out = vec![false; n_coord];
        for &c in outliers {
            if c < n_coord {
                is_out[c] = true;
            }
        }
        let out: Vec<usize> = (0..n_coord).filter(|&c| is_out[c]).collect();
        let inl: Vec<usize> = (0..n_coord).filter(|&c| !is_out[c]).collect();
        (inl, out)
    }

    /// Check indices against the tensor's shape; returns the reason when out of range.
    pub fn validate(&self, n_coord: usize, n_comp: usize) -> Result<(), String> {
        let check = |name: &str, v: &Option<Vec<usize>>, n: usize| -> Result<(), String> {
            if let Some(v) = v {
                if let Some(&bad) = v.iter().find(|&&i| i >= n) {
                    return Err(format!("`{name}` has index {bad}, but there are only {n}"));
                }
            }
            Ok(())
        };
        check("coords_in", &self.coords_in, n_coord)?;
        check("coords_out", &self.coords_out, n_coord)?;
        check("comps_grp1", &self.comps_grp1, n_comp)?;
        check("comps_grp2", &self.comps_grp2, n_comp)
    }
}
