//! Where an experiment's groups come from: a pipeline's kind or a pipeline-free component grouping,
//! then the steps that made the experiment from it.

use std::fmt;
use std::str::FromStr;

use crate::error::AnalyzeError;

/// Suffix of the source of a copy that keeps only the component groups.
pub const KEEP_COMPS_SUFFIX: &str = ":keeping_comps_grps";
/// Suffix of the source of an experiment completed by a trajectory outlier method.
pub const COMPLETED_SUFFIX: &str = "|find_outliers_traj2d";

/// What a source starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// `TCI-comps-coords`: a pipeline that splits both the coordinates and the components.
    TciCompsCoords,
    /// `TCI-comps`: a pipeline that gives component groups only.
    TciComps,
    /// `TCI-coords`: a pipeline that splits the coordinates only (it reaches no experiment, only `summary.json`).
    TciCoords,
    /// `comps_grps:wte`: component 0 against the rest, no pipeline.
    CompsGrpsWte,
    /// `comps_grps:random`: a seeded random half of the components against the rest, no pipeline.
    CompsGrpsRandom,
}

impl Origin {
    /// Every origin.
    pub const ALL: [Origin; 5] =
        [Origin::TciCompsCoords, Origin::TciComps, Origin::TciCoords, Origin::CompsGrpsWte, Origin::CompsGrpsRandom];

    /// The reference tool's name, e.g. `TCI-comps-coords`.
    pub fn name(self) -> &'static str {
        match self {
            Origin::TciCompsCoords => "TCI-comps-coords",
            Origin::TciComps => "TCI-comps",
            Origin::TciCoords => "TCI-coords",
            Origin::CompsGrpsWte => "comps_grps:wte",
            Origin::CompsGrpsRandom => "comps_grps:random",
        }
    }
}

/// The source of an experiment or pipeline: an [`Origin`], then `:keeping_comps_grps` when only the component
/// groups were kept, then `|find_outliers_traj2d` when a trajectory outlier method completed the coordinate split.
/// Written as the reference tool's string, e.g. `TCI-comps-coords:keeping_comps_grps|find_outliers_traj2d`.
///
/// Every pipeline, built-in or from `--pipelines-file`, has one of the three `TCI-*` origins (by what its chain
/// gives), so extra pipelines add no new source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source {
    /// What it starts from.
    pub origin: Origin,
    /// Only the component groups of the origin were kept.
    pub keeping_comps: bool,
    /// A trajectory outlier method completed the coordinate split.
    pub completed: bool,
}

impl Source {
    /// The source of an origin itself (no copy, no completion).
    pub fn new(origin: Origin) -> Source {
        Source { origin, keeping_comps: false, completed: false }
    }

    /// This source with only its component groups kept.
    pub fn keeping_comps(self) -> Source {
        Source { keeping_comps: true, ..self }
    }

    /// This source completed by a trajectory outlier method.
    pub fn completed(self) -> Source {
        Source { completed: true, ..self }
    }
}

impl From<Origin> for Source {
    fn from(origin: Origin) -> Source {
        Source::new(origin)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.origin.name())?;
        if self.keeping_comps {
            f.write_str(KEEP_COMPS_SUFFIX)?;
        }
        if self.completed {
            f.write_str(COMPLETED_SUFFIX)?;
        }
        Ok(())
    }
}

impl FromStr for Source {
    type Err = AnalyzeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (rest, completed) = match s.strip_suffix(COMPLETED_SUFFIX) {
            Some(r) => (r, true),
            None => (s, false),
        };
        let (base, keeping_comps) = match rest.strip_suffix(KEEP_COMPS_SUFFIX) {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let origin = Origin::ALL.into_iter().find(|o| o.name() == base).ok_or_else(|| {
            AnalyzeError::InvalidOption(format!(
                "unknown source `{s}`: expected one of {}, optionally followed by `{KEEP_COMPS_SUFFIX}` and then \
                 `{COMPLETED_SUFFIX}`",
                Origin::ALL.map(Origin::name).join(", ")
            ))
        })?;
        Ok(Source { origin, keeping_comps, completed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_round_trips_through_its_string() {
        for origin in Origin::ALL {
            for keeping_comps in [false, true] {
                for completed in [false, true] {
                    let s = Source { origin, keeping_comps, completed };
                    let text = s.to_string();
                    assert_eq!(text.parse::<Source>().unwrap(), s, "{text}");
                    assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{text}\""));
                    assert_eq!(serde_json::from_str::<Source>(&format!("\"{text}\"")).unwrap(), s);
                }
            }
        }
    }

    #[test]
    fn the_reference_strings() {
        let s = Source::new(Origin::TciCompsCoords).keeping_comps().completed();
        assert_eq!(s.to_string(), "TCI-comps-coords:keeping_comps_grps|find_outliers_traj2d");
        assert_eq!(Source::new(Origin::CompsGrpsWte).completed().to_string(), "comps_grps:wte|find_outliers_traj2d");
        for bad in ["", "TCI", "TCI-comps|find_outliers_traj2d:keeping_comps_grps", "tci-comps", "TCI-comps "] {
            let e = bad.parse::<Source>().unwrap_err().to_string();
            assert!(e.contains("unknown source") && e.contains("TCI-comps-coords"), "{bad}: {e}");
        }
    }
}
