//! Windows of checkpoints (docs/timeline.md §1): the `--windows` specification and its resolution against a
//! tensor's steps.

use std::fmt;
use std::str::FromStr;

use crate::error::AnalyzeError;

/// The fewest checkpoints a window may hold: the irregularity score needs two steps after the first (§7 of
/// docs/analysis.md), so a shorter window has no score.
pub const MIN_WINDOW_CKPTS: usize = 3;

/// How the checkpoints are cut into windows, as given by `--windows`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowSpec {
    /// `N`: `N` contiguous windows of (nearly) equal numbers of checkpoints.
    Count(usize),
    /// `A..B,B..C,C..`: explicit half-open step ranges `[A, B)`; an open end takes every later step.
    Ranges(Vec<StepRange>),
    /// `size=S,stride=D`: sliding windows of `S` checkpoints, one every `D` checkpoints; a last window is added
    /// at the end when the stride does not land there, so the end of training is always covered.
    Sliding {
        /// Checkpoints per window.
        size: usize,
        /// Checkpoints between the starts of consecutive windows.
        stride: usize,
    },
}

/// A half-open range of training steps `[start, end)`; `None` is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepRange {
    /// First step included (`None`: from the first checkpoint).
    pub start: Option<i64>,
    /// First step excluded (`None`: to the last checkpoint).
    pub end: Option<i64>,
}

impl StepRange {
    fn contains(&self, step: i64) -> bool {
        self.start.is_none_or(|s| step >= s) && self.end.is_none_or(|e| step < e)
    }
}

impl fmt::Display for StepRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.start {
            write!(f, "{s}")?;
        }
        f.write_str("..")?;
        if let Some(e) = self.end {
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl fmt::Display for WindowSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowSpec::Count(n) => write!(f, "{n}"),
            WindowSpec::Ranges(r) => {
                let parts: Vec<String> = r.iter().map(|r| r.to_string()).collect();
                f.write_str(&parts.join(","))
            }
            WindowSpec::Sliding { size, stride } => write!(f, "size={size},stride={stride}"),
        }
    }
}

fn bad(s: &str, why: &str) -> AnalyzeError {
    AnalyzeError::InvalidOption(format!(
        "bad window specification `{s}`: {why} (expected a count such as `4`, step ranges such as \
         `0..2000,2000..20000,20000..`, or sliding windows such as `size=10,stride=5`)"
    ))
}

impl FromStr for WindowSpec {
    type Err = AnalyzeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text.is_empty() {
            return Err(bad(s, "it is empty"));
        }
        if let Ok(n) = text.parse::<usize>() {
            if n == 0 {
                return Err(bad(s, "0 windows"));
            }
            return Ok(WindowSpec::Count(n));
        }
        if text.contains('=') {
            let (mut size, mut stride) = (None, None);
            for part in text.split(',') {
                let (k, v) = part.split_once('=').ok_or_else(|| bad(s, &format!("`{part}` is not `key=value`")))?;
                let v: usize =
                    v.trim().parse().map_err(|_| bad(s, &format!("`{}` is not a whole number", v.trim())))?;
                match k.trim() {
                    "size" => size = Some(v),
                    "stride" => stride = Some(v),
                    other => return Err(bad(s, &format!("unknown key `{other}` (use `size` and `stride`)"))),
                }
            }
            let size = size.ok_or_else(|| bad(s, "`size` is missing"))?;
            let stride = stride.unwrap_or(size);
            if size < MIN_WINDOW_CKPTS {
                return Err(bad(s, &format!("a window needs at least {MIN_WINDOW_CKPTS} checkpoints")));
            }
            if stride == 0 {
                return Err(bad(s, "the stride must be at least 1"));
            }
            return Ok(WindowSpec::Sliding { size, stride });
        }
        let mut ranges = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let (a, b) = part.split_once("..").ok_or_else(|| bad(s, &format!("`{part}` is not a range `A..B`")))?;
            let num = |x: &str| -> Result<Option<i64>, AnalyzeError> {
                let x = x.trim();
                if x.is_empty() {
                    return Ok(None);
                }
                x.parse::<i64>().map(Some).map_err(|_| bad(s, &format!("`{x}` is not a step")))
            };
            let r = StepRange { start: num(a)?, end: num(b)? };
            if let (Some(a), Some(b)) = (r.start, r.end) {
                if b <= a {
                    return Err(bad(s, &format!("`{part}` is empty (the end is excluded)")));
                }
            }
            ranges.push(r);
        }
        // Overlap is checked on the ranges themselves, so that it does not depend on which steps exist.
        let mut sorted = ranges.clone();
        sorted.sort_by_key(|r| r.start.unwrap_or(i64::MIN));
        for w in sorted.windows(2) {
            let end = w[0].end.unwrap_or(i64::MAX);
            if w[1].start.unwrap_or(i64::MIN) < end {
                return Err(bad(s, &format!("the windows `{}` and `{}` overlap", w[0], w[1])));
            }
        }
        Ok(WindowSpec::Ranges(sorted))
    }
}

/// One window: a contiguous run of the analyzed checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Position of the window (0-based, in order of first step).
    pub index: usize,
    /// First checkpoint (position in the analyzed tensor).
    pub start: usize,
    /// One past the last checkpoint.
    pub end: usize,
    /// The steps of its checkpoints.
    pub steps: Vec<i64>,
}

impl Window {
    /// Number of checkpoints.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the window holds no checkpoint (never, for a resolved window).
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The checkpoint positions of the window.
    pub fn ckpts(&self) -> Vec<usize> {
        (self.start..self.end).collect()
    }
}

impl WindowSpec {
    /// Cut the checkpoints with `steps` (strictly increasing) into windows. Errors name the window that is empty or
    /// has fewer than [`MIN_WINDOW_CKPTS`] checkpoints, and say how to fix it.
    pub fn resolve(&self, steps: &[i64]) -> Result<Vec<Window>, AnalyzeError> {
        let n = steps.len();
        let mk =
            |index: usize, start: usize, end: usize| Window { index, start, end, steps: steps[start..end].to_vec() };
        let windows: Vec<Window> = match self {
            WindowSpec::Count(w) => {
                let w = *w;
                if n / w < MIN_WINDOW_CKPTS {
                    return Err(AnalyzeError::InvalidOption(format!(
                        "{w} windows of {n} checkpoints would hold {} or fewer each; a window needs at least \
                         {MIN_WINDOW_CKPTS}: use at most {} windows",
                        n / w,
                        (n / MIN_WINDOW_CKPTS).max(1)
                    )));
                }
                (0..w).map(|i| mk(i, i * n / w, (i + 1) * n / w)).collect()
            }
            WindowSpec::Sliding { size, stride } => {
                let (size, stride) = (*size, *stride);
                if size > n {
                    return Err(AnalyzeError::InvalidOption(format!(
                        "sliding windows of {size} checkpoints do not fit in the {n} checkpoints analyzed"
                    )));
                }
                let mut starts: Vec<usize> = (0..=n - size).step_by(stride).collect();
                if starts.last() != Some(&(n - size)) {
                    starts.push(n - size);
                }
                starts.into_iter().enumerate().map(|(i, s)| mk(i, s, s + size)).collect()
            }
            WindowSpec::Ranges(ranges) => {
                let mut out = Vec::new();
                for (i, r) in ranges.iter().enumerate() {
                    let idx: Vec<usize> = (0..n).filter(|&t| r.contains(steps[t])).collect();
                    let (Some(&a), Some(&b)) = (idx.first(), idx.last()) else {
                        return Err(AnalyzeError::InvalidOption(format!(
                            "window `{r}` holds no checkpoint (the steps analyzed run from {} to {})",
                            steps.first().copied().unwrap_or(0),
                            steps.last().copied().unwrap_or(0)
                        )));
                    };
                    if idx.len() < MIN_WINDOW_CKPTS {
                        return Err(AnalyzeError::InvalidOption(format!(
                            "window `{r}` holds {} checkpoint(s) (steps {:?}); a window needs at least \
                             {MIN_WINDOW_CKPTS}: widen it or merge it with a neighbour",
                            idx.len(),
                            &steps[a..=b]
                        )));
                    }
                    out.push(mk(i, a, b + 1));
                }
                out
            }
        };
        Ok(windows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> WindowSpec {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(spec("4"), WindowSpec::Count(4));
        assert_eq!(spec("size=10,stride=5"), WindowSpec::Sliding { size: 10, stride: 5 });
        assert_eq!(spec("size=10"), WindowSpec::Sliding { size: 10, stride: 10 });
        let r = spec("0..2000, 2000..20000,20000..");
        assert_eq!(
            r,
            WindowSpec::Ranges(vec![
                StepRange { start: Some(0), end: Some(2000) },
                StepRange { start: Some(2000), end: Some(20000) },
                StepRange { start: Some(20000), end: None },
            ])
        );
        assert_eq!(r.to_string(), "0..2000,2000..20000,20000..");
    }

    #[test]
    fn rejects_bad_specs_with_a_reason() {
        for (s, why) in [
            ("0", "0 windows"),
            ("", "empty"),
            ("size=2", "at least 3"),
            ("size=4,stride=0", "stride"),
            ("size=4,step=2", "unknown key `step`"),
            ("0..100,50..200", "overlap"),
            ("0..,100..", "overlap"),
            ("100..100", "empty"),
            ("a..b", "not a step"),
            ("abc", "not a range"),
        ] {
            let e = s.parse::<WindowSpec>().unwrap_err().to_string();
            assert!(e.contains(why), "{s}: {e}");
        }
    }

    #[test]
    fn count_windows_partition_the_checkpoints() {
        let steps: Vec<i64> = (0..14).map(|i| i * 10).collect();
        let w = spec("4").resolve(&steps).unwrap();
        assert_eq!(w.iter().map(|w| (w.start, w.end)).collect::<Vec<_>>(), [(0, 3), (3, 7), (7, 10), (10, 14)]);
        assert_eq!(w[1].steps, [30, 40, 50, 60]);
        let e = spec("5").resolve(&steps).unwrap_err().to_string();
        assert!(e.contains("at most 4 windows"), "{e}");
    }

    #[test]
    fn sliding_windows_cover_the_end() {
        let steps: Vec<i64> = (0..12).collect();
        let w = spec("size=5,stride=3").resolve(&steps).unwrap();
        assert_eq!(w.iter().map(|w| (w.start, w.end)).collect::<Vec<_>>(), [(0, 5), (3, 8), (6, 11), (7, 12)]);
        assert!(spec("size=13").resolve(&steps).is_err());
    }

    #[test]
    fn ranges_select_steps_and_refuse_thin_windows() {
        let steps = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256];
        let w = spec("..8,8..100,100..").resolve(&[0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]).unwrap();
        assert_eq!(w[0].steps, [0, 1, 2, 4]);
        assert_eq!(w[1].steps, [8, 16, 32, 64]);
        let e = spec("0..8,128..").resolve(&steps).unwrap_err().to_string();
        assert!(e.contains("`128..` holds 2 checkpoint(s)"), "{e}");
        let e = spec("1000..").resolve(&steps).unwrap_err().to_string();
        assert!(e.contains("holds no checkpoint"), "{e}");
    }
}
