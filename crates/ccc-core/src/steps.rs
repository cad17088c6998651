//! Selecting training steps: `0,1000,2000`, `1000..5000`, `%1000==0`, and combinations.

use std::str::FromStr;

use crate::error::CoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    One(i64),
    /// Inclusive range; `None` = open end.
    Range(Option<i64>, Option<i64>),
}

/// A set of training steps chosen by the user.
///
/// The syntax is a comma-separated list of items: a step (`1000`), an inclusive range (`1000..5000`,
/// `1000..=5000`, `1000..`, `..5000`), or a modulo filter (`%1000==0`, `%1000` meaning `==0`). A step is
/// selected when it matches one of the steps or ranges (or there are none) and every filter.
/// `all` selects everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepSelection {
    items: Vec<Item>,
    filters: Vec<(i64, i64)>,
}

impl StepSelection {
    /// Every step.
    pub fn all() -> Self {
        StepSelection::default()
    }

    /// Whether every step is selected.
    pub fn is_all(&self) -> bool {
        self.items.is_empty() && self.filters.is_empty()
    }

    /// Whether `step` is selected.
    pub fn contains(&self, step: i64) -> bool {
        let in_items = self.items.is_empty()
            || self.items.iter().any(|it| match *it {
                Item::One(s) => s == step,
                Item::Range(a, b) => a.is_none_or(|a| step >= a) && b.is_none_or(|b| step <= b),
            });
        in_items && self.filters.iter().all(|&(m, r)| step.rem_euclid(m) == r)
    }

    /// The explicitly listed single steps (used to report steps that were asked for but not found).
    pub fn listed_steps(&self) -> Vec<i64> {
        self.items
            .iter()
            .filter_map(|it| match it {
                Item::One(s) => Some(*s),
                Item::Range(..) => None,
            })
            .collect()
    }

    /// Keep the selected steps of `steps`, in their order.
    pub fn filter(&self, steps: &[i64]) -> Vec<i64> {
        steps.iter().copied().filter(|&s| self.contains(s)).collect()
    }
}

impl FromStr for StepSelection {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CoreError::BadStepSelection(s.to_string());
        let mut sel = StepSelection::default();
        if s.trim() == "all" {
            return Ok(sel);
        }
        let num = |t: &str| -> Result<i64, CoreError> { t.trim().replace('_', "").parse::<i64>().map_err(|_| bad()) };
        for part in s.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(bad());
            }
            if let Some(f) = part.strip_prefix('%') {
                let (m, r) = match f.split_once("==") {
                    Some((m, r)) => (num(m)?, num(r)?),
                    None => (num(f)?, 0),
                };
                if m <= 0 || r < 0 || r >= m {
                    return Err(bad());
                }
                sel.filters.push((m, r));
            } else if let Some((a, b)) = part.split_once("..") {
                let b = b.strip_prefix('=').unwrap_or(b);
                let a = if a.trim().is_empty() { None } else { Some(num(a)?) };
                let b = if b.trim().is_empty() { None } else { Some(num(b)?) };
                if let (Some(a), Some(b)) = (a, b) {
                    if a > b {
                        return Err(bad());
                    }
                }
                sel.items.push(Item::Range(a, b));
            } else {
                sel.items.push(Item::One(num(part)?));
            }
        }
        Ok(sel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_selects() {
        let s: StepSelection = "0,1000,2000".parse().unwrap();
        assert_eq!(s.filter(&[0, 500, 1000, 2000, 3000]), vec![0, 1000, 2000]);
        let s: StepSelection = "1000..3000".parse().unwrap();
        assert_eq!(s.filter(&[0, 1000, 2000, 3000, 4000]), vec![1000, 2000, 3000]);
        let s: StepSelection = "..1000,3000..".parse().unwrap();
        assert_eq!(s.filter(&[0, 1000, 2000, 3000, 4000]), vec![0, 1000, 3000, 4000]);
        let s: StepSelection = "%10000==0".parse().unwrap();
        assert_eq!(s.filter(&[0, 5000, 10000, 20000, 25000]), vec![0, 10000, 20000]);
        let s: StepSelection = "1000..,%2000".parse().unwrap();
        assert_eq!(s.filter(&[0, 1000, 2000, 3000, 4000]), vec![2000, 4000]);
        assert!("all".parse::<StepSelection>().unwrap().is_all());
    }

    #[test]
    fn rejects_bad() {
        for bad in ["", "a", "1,,2", "5..1", "%0", "%10==10", "1..x"] {
            assert!(bad.parse::<StepSelection>().is_err(), "{bad}");
        }
    }
}
