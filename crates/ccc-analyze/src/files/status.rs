//! The outcome of a pipeline or an experiment, as `experiments.json`, `summary.json` and `scores.csv` spell it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The outcome of a pipeline or an experiment: `ok`, `degenerate` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Computed, nothing unusual.
    Ok,
    /// Computed, but degenerate (an empty group, fewer clusters than asked, undefined irregularity, …).
    Degenerate,
    /// Could not be computed; the reason is recorded.
    Failed,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 3] = [Status::Ok, Status::Degenerate, Status::Failed];

    /// `ok`, `degenerate` or `failed`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Degenerate => "degenerate",
            Status::Failed => "failed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Status {
    type Err = crate::AnalyzeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL.into_iter().find(|x| x.name() == s).ok_or_else(|| {
            crate::AnalyzeError::InvalidOption(format!("unknown status `{s}`; expected ok, degenerate or failed"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_names() {
        for s in Status::ALL {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.name()));
            assert_eq!(serde_json::from_str::<Status>(&format!("\"{s}\"")).unwrap(), s);
            assert_eq!(s.name().parse::<Status>().unwrap(), s);
        }
        let e = serde_json::from_str::<Status>("\"okay\"").unwrap_err().to_string();
        assert!(e.contains("unknown variant `okay`, expected one of `ok`, `degenerate`, `failed`"), "{e}");
    }
}
