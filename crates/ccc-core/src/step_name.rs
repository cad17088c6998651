//! Training steps in checkpoint names: one parser for local checkpoint directories and hub revisions (branches
//! and tags), the series a name belongs to, and the choice of names by glob.
//!
//! Open training runs name their checkpoints in a handful of ways, all read by [`StepName::parse`]:
//!
//! | convention | example | used by |
//! |---|---|---|
//! | `step{N}` | `step143000` | Pythia |
//! | `step{N}-tokens{T}` | `step20000-tokens84B`, `step…-tokens15T` | OLMo 1, OLMoE, Apertus |
//! | `stage{S}-[ingredient{I}-]step{N}-tokens{T}` | `stage2-ingredient3-step11931-tokens50B` | OLMo 2, OLMoE-0125 |
//! | `stage{S}-step-{N}` | `stage1-step-40000` | SmolLM3 |
//! | `step-{N}` | `step-125000` | SmolLM2 |
//! | `step-{N}k-token-{T}` | `step-480k-token-1007B` (`k` = ×1000) | TinyLlama |
//! | `ckpt_{N}` | `ckpt_356` | LLM360 Amber, K2 |
//! | `{run}_phase{P}_checkpoint_{N}` | `CrystalCoder_phase2_checkpoint_214387` | LLM360 CrystalCoder |
//! | `global_step{N}` | `global_step1000` | BLOOM (tags), DeepSpeed |
//! | `iter_{N}`, `iter{N}` | `iter_0002048`, `iter2500` | Megatron, Zyphra |
//! | `checkpoint-{N}` | `checkpoint-1000` | Hugging Face Trainer |
//! | `{N}` | `1000` | plain numbered folders |
//!
//! In general: a keyword (`global_step`, `checkpoint`, `step`, `ckpt`, `iter`, any case) at the start of the name
//! or after a non-alphanumeric character, an optional `-` or `_`, the step (digits, optionally `k`), then the end of
//! the name or `-`, `_`, `.` and anything; an optional token count (`-tokens84B`, `-token-1007B`; units K, M, B, T)
//! right after the step. Text before the keyword names the series; a `stage{S}` or `phase{P}` in it orders the
//! series.
//!
//! **Series.** A name's series is the name with its step and token count replaced by `*` (`stage2-ingredient1-
//! step*-tokens*`): a glob that matches every name of the series. Where step numbers repeat or restart (OLMo 2's
//! annealing "ingredients", CrystalCoder's phases, a `longctx-step50` continuation), names of several series can
//! only be summarized together when their steps do not overlap ([`check_series`]); otherwise one series is chosen
//! by a [`NameFilter`] such as `stage2-ingredient1-*`.

use std::fmt;
use std::str::FromStr;

use crate::component::glob_match;
use crate::error::CoreError;

/// The keywords that introduce a step number, longest first where one starts another.
const KEYWORDS: [&[u8]; 5] = [b"global_step", b"checkpoint", b"step", b"ckpt", b"iter"];

/// What a checkpoint's name says about it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StepName {
    /// The training step.
    pub step: i64,
    /// The stage or phase (`stage2`, `phase2`) before the step, which orders series whose steps restart; 0 when
    /// the name has none.
    pub stage: u32,
    /// The tokens seen, when the name says (`tokens84B` → 84·10⁹).
    pub tokens: Option<u64>,
    /// The series: the name with its step and token count replaced by `*`, e.g. `stage1-step*-tokens*`.
    pub series: String,
}

impl StepName {
    /// Read the step (and series, stage, tokens) of a checkpoint directory's or revision's name, for the
    /// conventions listed in the [module documentation](self). `None` for a name without a step (`main`, `fp32`,
    /// `it-SFT`, `tokenizer`, `step`, `tokens5B`).
    pub fn parse(name: &str) -> Option<StepName> {
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            return Some(StepName { step: name.parse().ok()?, stage: 0, tokens: None, series: "*".into() });
        }
        // Keywords are matched on a lowercased copy: ASCII lowercasing keeps every byte offset, so the offsets
        // found index `name` too (and fall on ASCII bytes, hence on character boundaries).
        let lower = name.to_ascii_lowercase();
        let b = lower.as_bytes();
        for i in 0..b.len() {
            if i > 0 && b[i - 1].is_ascii_alphanumeric() {
                continue;
            }
            for key in KEYWORDS {
                if b[i..].starts_with(key) {
                    if let Some(found) = parse_at(name, b, i, key.len()) {
                        return Some(found);
                    }
                }
            }
        }
        None
    }

    /// The order of checkpoints across series: by stage (or phase), then step.
    pub fn order(&self) -> (u32, i64) {
        (self.stage, self.step)
    }
}

/// A separator between the parts of a name.
fn is_sep(c: u8) -> bool {
    matches!(c, b'-' | b'_' | b'.')
}

/// Whether position `i` of `b` ends a part: the end of the name or a separator.
fn ends_part(b: &[u8], i: usize) -> bool {
    i == b.len() || is_sep(b[i])
}

/// The name parsed with the keyword at `key..key + len`, if a step follows it.
fn parse_at(name: &str, b: &[u8], key: usize, len: usize) -> Option<StepName> {
    let mut start = key + len;
    if start < b.len() && matches!(b[start], b'-' | b'_') {
        start += 1;
    }
    let digits = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut end = start + digits;
    let mut step: i64 = name[start..end].parse().ok()?;
    // TinyLlama counts in thousands: `step-480k`.
    if end < b.len() && b[end] == b'k' && ends_part(b, end + 1) {
        step = step.checked_mul(1000)?;
        end += 1;
    }
    if !ends_part(b, end) {
        return None;
    }
    let mut series = format!("{}*", &name[..start]);
    let mut tokens = None;
    let mut rest = end;
    if let Some((count, from, to)) = token_count(b, end) {
        tokens = count;
        series.push_str(&name[end..from]);
        series.push('*');
        rest = to;
    }
    series.push_str(&name[rest..]);
    Some(StepName { step, stage: stage_of(&b[..key]), tokens, series })
}

/// A token count right after the step at `at` (`-tokens84B`, `_tokens1.5T`, `-token-1007B`): the count (`None`
/// if it overflows), and where its number starts and ends.
fn token_count(b: &[u8], at: usize) -> Option<(Option<u64>, usize, usize)> {
    if at >= b.len() || !matches!(b[at], b'-' | b'_') {
        return None;
    }
    let word = [&b"tokens"[..], b"token"].into_iter().find(|w| b[at + 1..].starts_with(w))?;
    let mut from = at + 1 + word.len();
    if from < b.len() && matches!(b[from], b'-' | b'_') {
        from += 1;
    }
    let int = b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    if int == 0 {
        return None;
    }
    let mut i = from + int;
    let mut frac = 0;
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        frac = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += 1 + frac;
    }
    let unit: u128 = match b.get(i) {
        Some(b'k') => 1_000,
        Some(b'm') => 1_000_000,
        Some(b'b') => 1_000_000_000,
        Some(b't') => 1_000_000_000_000,
        _ => return None,
    };
    if !ends_part(b, i + 1) {
        return None;
    }
    let count = || -> Option<u64> {
        let digits: String = b[from..i].iter().filter(|c| c.is_ascii_digit()).map(|&c| c as char).collect();
        let scaled = digits.parse::<u128>().ok()?.checked_mul(unit)? / 10u128.checked_pow(u32::try_from(frac).ok()?)?;
        u64::try_from(scaled).ok()
    };
    Some((count(), from, i + 1))
}

/// The number after `stage` or `phase` in the text before the step keyword; 0 without one.
fn stage_of(prefix: &[u8]) -> u32 {
    for i in 0..prefix.len() {
        if i > 0 && prefix[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        for word in [&b"stage"[..], b"phase"] {
            if prefix[i..].starts_with(word) {
                let at = i + word.len();
                let digits = prefix[at..].iter().take_while(|c| c.is_ascii_digit()).count();
                if let Some(n) = std::str::from_utf8(&prefix[at..at + digits]).ok().and_then(|s| s.parse().ok()) {
                    return n;
                }
            }
        }
    }
    0
}

/// Why a subdirectory of a run directory, or a hub revision, is not used as a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Its name carries no step number (`main`, `fp32`, `it-SFT`, `tokenizer`).
    NoStep,
    /// It has no `config.json`.
    NoConfig,
    /// It has no weight file ccc can read (e.g. only optimizer states, or a sharded training format).
    NoWeights,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkipReason::NoStep => "no step number in its name",
            SkipReason::NoConfig => "no config.json",
            SkipReason::NoWeights => "no weights ccc can read",
        })
    }
}

/// The names of one series among those to be combined: what [`check_series`] compares, and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesSpan {
    /// The series (a glob matching its names).
    pub series: String,
    /// Its stage or phase.
    pub stage: u32,
    /// How many names it has.
    pub count: usize,
    /// Its first step.
    pub first: i64,
    /// Its last step.
    pub last: i64,
}

impl fmt::Display for SeriesSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = if self.count == 1 { "name" } else { "names" };
        write!(f, "`{}` ({} {names}, ", self.series, self.count)?;
        if self.first == self.last {
            write!(f, "step {})", self.first)
        } else {
            write!(f, "steps {}..{})", self.first, self.last)
        }
    }
}

/// The series of `names`, in (stage, first step) order.
pub fn series_spans<'a>(names: impl IntoIterator<Item = &'a StepName>) -> Vec<SeriesSpan> {
    let mut spans: Vec<SeriesSpan> = Vec::new();
    for n in names {
        match spans.iter_mut().find(|s| s.series == n.series) {
            Some(s) => {
                s.count += 1;
                s.first = s.first.min(n.step);
                s.last = s.last.max(n.step);
                s.stage = s.stage.min(n.stage);
            }
            None => spans.push(SeriesSpan {
                series: n.series.clone(),
                stage: n.stage,
                count: 1,
                first: n.step,
                last: n.step,
            }),
        }
    }
    spans.sort_by(|a, b| (a.stage, a.first, &a.series).cmp(&(b.stage, b.first, &b.series)));
    spans
}

/// Check that the checkpoints named `names` can go into one file, whose steps strictly increase: names of one
/// series always can (two names with the same step are the caller's duplicates); names of several series can when
/// their steps do not overlap — taken in (stage, first step) order, each series starts after the previous one's
/// last step. Otherwise the series repeat steps (the same step in two series, or interleaved ranges, as OLMo 2's
/// ingredients or a `longctx-step50` continuation beside the main run) or restart them (a later stage or phase
/// starting at or below an earlier one's last step), and the error names every series and how to choose one.
pub fn check_series<'a>(names: impl IntoIterator<Item = &'a StepName>) -> Result<(), CoreError> {
    let spans = series_spans(names);
    if spans.windows(2).all(|w| w[1].first > w[0].last) {
        return Ok(());
    }
    Err(CoreError::MixedSeries { spans })
}

/// Names chosen by comma-separated globs (`*` any text, `?` one character), or all of them: the `--revisions`
/// selection, for hub revisions and local step directories alike.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameFilter {
    /// Empty: every name.
    globs: Vec<String>,
}

impl NameFilter {
    /// Every name.
    pub fn all() -> Self {
        NameFilter::default()
    }

    /// Whether every name is chosen.
    pub fn is_all(&self) -> bool {
        self.globs.is_empty()
    }

    /// Whether `name` is chosen.
    pub fn matches(&self, name: &str) -> bool {
        self.is_all() || self.globs.iter().any(|g| glob_match(g.as_bytes(), name.as_bytes()))
    }

    /// The names themselves when the filter is a plain list (no `*` or `?`), which needs no listing to resolve.
    pub fn literal_names(&self) -> Option<&[String]> {
        let literal = !self.is_all() && self.globs.iter().all(|g| !g.contains(['*', '?']));
        literal.then_some(&self.globs[..])
    }
}

impl FromStr for NameFilter {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        if s.trim() == "all" {
            return Ok(NameFilter::all());
        }
        let globs: Vec<String> = s.split(',').map(|g| g.trim().to_string()).filter(|g| !g.is_empty()).collect();
        if globs.is_empty() {
            return Err(CoreError::UnknownValue {
                what: "revision selection",
                value: s.to_string(),
                expected: "`all`, or names and globs separated by commas, e.g. `stage2-ingredient1-*`".into(),
            });
        }
        Ok(NameFilter { globs })
    }
}

impl fmt::Display for NameFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            f.write_str("all")
        } else {
            f.write_str(&self.globs.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const B: u64 = 1_000_000_000;

    #[test]
    fn every_convention_of_open_runs() {
        // (name, step, stage, tokens, series)
        let cases: [(&str, i64, u32, Option<u64>, &str); 22] = [
            ("step143000", 143000, 0, None, "step*"),
            ("step0", 0, 0, None, "step*"),
            ("Step0", 0, 0, None, "Step*"),
            ("step20000-tokens84B", 20000, 0, Some(84 * B), "step*-tokens*"),
            ("step1907359-tokens15T", 1907359, 0, Some(15_000 * B), "step*-tokens*"),
            ("stage1-step928646-tokens3896B", 928646, 1, Some(3896 * B), "stage1-step*-tokens*"),
            ("stage2-ingredient3-step11931-tokens50B", 11931, 2, Some(50 * B), "stage2-ingredient3-step*-tokens*"),
            ("stage1-step-40000", 40000, 1, None, "stage1-step-*"),
            ("step-125000", 125000, 0, None, "step-*"),
            ("step-480k-token-1007B", 480000, 0, Some(1007 * B), "step-*-token-*"),
            ("ckpt_356", 356, 0, None, "ckpt_*"),
            ("ckpt_042", 42, 0, None, "ckpt_*"),
            ("CrystalCoder_phase2_checkpoint_214387", 214387, 2, None, "CrystalCoder_phase2_checkpoint_*"),
            ("global_step1000", 1000, 0, None, "global_step*"),
            ("iter_0002048", 2048, 0, None, "iter_*"),
            ("iter2500", 2500, 0, None, "iter*"),
            ("checkpoint-1000", 1000, 0, None, "checkpoint-*"),
            ("1500", 1500, 0, None, "*"),
            ("longctx-step50", 50, 0, None, "longctx-step*"),
            ("step1000-unsharded", 1000, 0, None, "step*-unsharded"),
            ("step1000-tokens4B-unsharded", 1000, 0, Some(4 * B), "step*-tokens*-unsharded"),
            ("step100-tokens1.5T", 100, 0, Some(1500 * B), "step*-tokens*"),
        ];
        for (name, step, stage, tokens, series) in cases {
            let want = StepName { step, stage, tokens, series: series.to_string() };
            assert_eq!(StepName::parse(name), Some(want), "{name}");
            assert!(glob_match(series.as_bytes(), name.as_bytes()), "the series {series} matches {name}");
        }
    }

    #[test]
    fn names_without_a_step_are_refused() {
        for name in [
            "main",
            "fp32",
            "it-SFT",
            "step",
            "step-",
            "steps",
            "tokens5B",
            "stage1",
            "tokenizer",
            "mystep100",
            "stepx1",
            "step1000x",
            "step12abc",
            "step1e5",
            "checkpoint-best",
            "ckpt_",
            "iter_x",
            "refs/pr/1",
            "v1.0",
            "",
            "step99999999999999999999",
            "step-480kb",
            "1500-foo",
            "schritt1000",
            "ステップ1000",
        ] {
            assert_eq!(StepName::parse(name), None, "{name}");
        }
        // Non-ASCII text around a step is kept in the series, not cut inside a character.
        let n = StepName::parse("éto-step5-ü").unwrap();
        assert_eq!((n.step, n.series.as_str()), (5, "éto-step*-ü"));
        // A token count that does not parse is part of the series' text.
        assert_eq!(StepName::parse("step5-tokensX").unwrap().series, "step*-tokensX");
    }

    fn names(list: &[&str]) -> Vec<StepName> {
        list.iter().map(|n| StepName::parse(n).unwrap()).collect()
    }

    #[test]
    fn series_that_repeat_or_restart_are_refused() {
        // One series, or several that follow each other: fine.
        check_series(&names(&["step0", "step1000", "step2000"])).unwrap();
        check_series(&names(&["step0", "step1000-tokens4B", "step2000-tokens8B"])).unwrap();
        check_series(&names(&["checkpoint-500", "step1000"])).unwrap();
        check_series(&names(&["stage1-step100-tokens1B", "stage2-step200-tokens2B"])).unwrap();
        // The same step in two series.
        let err = check_series(&names(&["step0", "step1000", "step1000-unsharded"])).unwrap_err().to_string();
        assert!(
            err.contains("`step*` (2 names, steps 0..1000)") && err.contains("`step*-unsharded` (1 name, step 1000)")
        );
        assert!(err.contains("--revisions 'step*'"), "{err}");
        // OLMo 2's ingredients repeat each other's steps.
        let err = check_series(&names(&[
            "stage2-ingredient1-step1000-tokens5B",
            "stage2-ingredient2-step1000-tokens5B",
            "stage2-ingredient1-step2000-tokens10B",
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("`stage2-ingredient1-step*-tokens*` (2 names"), "{err}");
        // A later stage restarting its steps.
        let olmo2 =
            names(&["stage1-step0-tokens0B", "stage1-step928646-tokens3896B", "stage2-ingredient1-step0-tokens0B"]);
        assert!(matches!(check_series(&olmo2), Err(CoreError::MixedSeries { .. })));
        // Interleaved ranges: a continuation beside the main run.
        assert!(check_series(&names(&["step0", "step100", "longctx-step50"])).is_err());
        // CrystalCoder's phases restart.
        assert!(
            check_series(&names(&["CrystalCoder_phase1_checkpoint_5", "CrystalCoder_phase2_checkpoint_3"])).is_err()
        );
        let spans = series_spans(&olmo2);
        assert_eq!(
            spans.iter().map(|s| s.series.as_str()).collect::<Vec<_>>(),
            ["stage1-step*-tokens*", "stage2-ingredient1-step*-tokens*"]
        );
    }

    #[test]
    fn filters_pick_names_by_glob() {
        let f: NameFilter = "stage2-ingredient1-*".parse().unwrap();
        assert!(f.matches("stage2-ingredient1-step1000-tokens5B"));
        assert!(!f.matches("stage2-ingredient2-step1000-tokens5B") && !f.matches("stage1-step1000-tokens5B"));
        assert_eq!(f.literal_names(), None);
        let f: NameFilter = "step1000, step2000".parse().unwrap();
        assert_eq!(f.literal_names().unwrap(), ["step1000", "step2000"]);
        assert!(f.matches("step2000") && !f.matches("step20000"));
        assert_eq!(f.to_string(), "step1000,step2000");
        let all: NameFilter = "all".parse().unwrap();
        assert!(all.is_all() && all.matches("anything") && all.literal_names().is_none());
        assert!(" , ".parse::<NameFilter>().is_err());
    }

    /// A name in convention `which` (of 11).
    fn name_of(which: usize, step: i64, tokens: u64) -> String {
        match which {
            0 => format!("step{step}"),
            1 => format!("step{step}-tokens{tokens}B"),
            2 => format!("stage2-ingredient3-step{step}-tokens{tokens}B"),
            3 => format!("stage1-step-{step}"),
            4 => format!("step-{step}"),
            5 => format!("ckpt_{step:03}"),
            6 => format!("CrystalCoder_phase2_checkpoint_{step}"),
            7 => format!("global_step{step}"),
            8 => format!("iter_{step:07}"),
            9 => format!("checkpoint-{step}"),
            _ => format!("{step}"),
        }
    }

    proptest! {
        /// Any step written in any convention reads back, and the series does not depend on the step or tokens.
        #[test]
        fn steps_round_trip_through_every_convention(
            step in 0i64..10_000_000_000,
            tokens in 0u64..100_000,
            which in 0usize..11,
        ) {
            let name = name_of(which, step, tokens);
            let n = StepName::parse(&name).unwrap();
            prop_assert_eq!(n.step, step);
            prop_assert!(glob_match(n.series.as_bytes(), name.as_bytes()));
            let other = StepName::parse(&name_of(which, step + 1, tokens / 2)).unwrap();
            prop_assert_eq!(other.series, n.series);
        }
    }
}
