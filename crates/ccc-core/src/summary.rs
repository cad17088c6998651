//! How one weight row is reduced to one number.

use std::fmt;
use std::str::FromStr;

use crate::error::CoreError;

/// The reduction of a matrix row (docs/tensor.md). Norm vectors always use `(w - median)²`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Summary {
    /// Mean of the squared entries (the default).
    #[default]
    MeanSq,
    /// Sum of the squared entries.
    L2Sq,
    /// Euclidean norm.
    L2,
    /// Sum of absolute values.
    L1,
    /// Largest absolute value.
    MaxAbs,
}

impl Summary {
    /// All summaries, in documentation order.
    pub const ALL: [Summary; 5] = [Summary::MeanSq, Summary::L2Sq, Summary::L2, Summary::L1, Summary::MaxAbs];

    /// The name used on the command line and in file metadata.
    pub fn name(self) -> &'static str {
        match self {
            Summary::MeanSq => "mean_sq",
            Summary::L2Sq => "l2sq",
            Summary::L2 => "l2",
            Summary::L1 => "l1",
            Summary::MaxAbs => "max_abs",
        }
    }

    /// Finish a row from its accumulators: `sum_sq` (Σw²), `sum_abs` (Σ|w|), `max_abs` and the row length.
    pub fn finish(self, sum_sq: f64, sum_abs: f64, max_abs: f64, length: usize) -> f64 {
        match self {
            Summary::MeanSq => {
                if length == 0 {
                    0.0
                } else {
                    sum_sq / length as f64
                }
            }
            Summary::L2Sq => sum_sq,
            Summary::L2 => sum_sq.sqrt(),
            Summary::L1 => sum_abs,
            Summary::MaxAbs => max_abs,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Summary {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Summary::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| CoreError::UnknownValue {
            what: "summary",
            value: s.to_string(),
            expected: Summary::ALL.map(|m| m.name()).join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Summary::ALL {
            assert_eq!(s.name().parse::<Summary>().unwrap(), s);
        }
        assert!("mean".parse::<Summary>().is_err());
    }

    #[test]
    fn finish_values() {
        assert_eq!(Summary::MeanSq.finish(8.0, 4.0, 2.0, 2), 4.0);
        assert_eq!(Summary::L2.finish(9.0, 0.0, 0.0, 3), 3.0);
        assert_eq!(Summary::L1.finish(9.0, 5.0, 0.0, 3), 5.0);
        assert_eq!(Summary::MaxAbs.finish(9.0, 5.0, 2.5, 3), 2.5);
    }
}
