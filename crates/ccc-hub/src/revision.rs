//! `hf:ORG/NAME[@REV]` inputs, step numbers in revision names, and revision-name templates.

use std::fmt;
use std::str::FromStr;

use crate::error::HubError;

/// A parsed `hf:ORG/NAME[@REV]` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSpec {
    /// `ORG/NAME`.
    pub repo: String,
    /// The revision after `@`, if any.
    pub revision: Option<String>,
}

impl RepoSpec {
    /// Whether a command-line input names a hub repository (starts with `hf:`).
    pub fn is_hub(input: &str) -> bool {
        input.starts_with("hf:")
    }
}

impl FromStr for RepoSpec {
    type Err = HubError;
    fn from_str(s: &str) -> Result<Self, HubError> {
        let bad = |why: &str| {
            HubError::Invalid(format!(
                "`{s}` is not a hub input ({why}); write `hf:ORG/NAME` or `hf:ORG/NAME@REVISION`"
            ))
        };
        let rest = s.strip_prefix("hf:").ok_or_else(|| bad("no `hf:` prefix"))?;
        let (repo, revision) = match rest.split_once('@') {
            Some((r, rev)) if !rev.is_empty() => (r, Some(rev.to_string())),
            Some(_) => return Err(bad("empty revision after `@`")),
            None => (rest, None),
        };
        let mut parts = repo.split('/');
        let ok_part = |p: &str| {
            !p.is_empty() && p != "." && p != ".." && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        match (parts.next(), parts.next(), parts.next()) {
            (Some(o), Some(n), None) if ok_part(o) && ok_part(n) => {}
            _ => return Err(bad("the repository must be `ORG/NAME`")),
        }
        if let Some(rev) = &revision {
            if rev.chars().any(|c| c.is_control() || c == ' ') || rev.contains("..") {
                return Err(bad("the revision has invalid characters"));
            }
        }
        Ok(RepoSpec { repo: repo.to_string(), revision })
    }
}

impl fmt::Display for RepoSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.revision {
            Some(r) => write!(f, "hf:{}@{r}", self.repo),
            None => write!(f, "hf:{}", self.repo),
        }
    }
}

/// The training step a revision name carries, by the one parser of local directories and hub revisions
/// ([`ccc_core::StepName::parse`]: Pythia `step1000`, OLMo `step20000-tokens84B` and OLMo 2
/// `stage1-step140000-tokens294B`, LLM360 `ckpt_042`, `global_step1000`, `checkpoint-1000`, `iter_0001000`, …).
/// `None` for names without one (`main`).
pub fn step_of(name: &str) -> Option<i64> {
    ccc_core::StepName::parse(name).map(|n| n.step)
}

/// A revision-name template such as `iter_{step:07}` or `step{step}`: maps a step to a name and back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionTemplate {
    prefix: String,
    width: usize,
    suffix: String,
}

impl FromStr for RevisionTemplate {
    type Err = HubError;
    fn from_str(s: &str) -> Result<Self, HubError> {
        let bad = || {
            HubError::Invalid(format!(
                "revision template `{s}` must contain `{{step}}` or `{{step:0W}}` once, e.g. `iter_{{step:07}}`"
            ))
        };
        let open = s.find('{').ok_or_else(bad)?;
        let close = s[open..].find('}').map(|c| c + open).ok_or_else(bad)?;
        let field = &s[open + 1..close];
        let width = match field.strip_prefix("step") {
            Some("") => 0,
            Some(w) => {
                let w = w.strip_prefix(":0").or_else(|| w.strip_prefix(':')).ok_or_else(bad)?;
                w.parse::<usize>().map_err(|_| bad())?.min(20)
            }
            None => return Err(bad()),
        };
        let (prefix, suffix) = (s[..open].to_string(), s[close + 1..].to_string());
        if prefix.contains(['{', '}']) || suffix.contains(['{', '}']) {
            return Err(bad());
        }
        Ok(RevisionTemplate { prefix, width, suffix })
    }
}

impl RevisionTemplate {
    /// The revision name of `step`.
    pub fn name(&self, step: i64) -> String {
        format!("{}{:0w$}{}", self.prefix, step, self.suffix, w = self.width)
    }

    /// The glob of the names the template makes (`iter_{step:07}` → `iter_*`): the series of its names.
    pub fn glob(&self) -> String {
        format!("{}*{}", self.prefix, self.suffix)
    }

    /// The step of a revision name that fits the template.
    pub fn step(&self, name: &str) -> Option<i64> {
        let mid = name.strip_prefix(&self.prefix)?.strip_suffix(&self.suffix)?;
        if mid.is_empty() || !mid.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        mid.parse().ok()
    }
}

/// Known checkpoint families: how a repository names its step revisions when the names are not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// EleutherAI Pythia: `step{N}`.
    Pythia,
    /// LLM360 Amber: `ckpt_{N:03}`.
    Amber,
    /// AllenAI OLMo: `step{N}-tokens{T}B`; the token count is only known by listing the branches.
    Olmo,
}

impl Family {
    /// The family of a repository, from its name.
    pub fn of(repo: &str) -> Option<Family> {
        let lower = repo.to_ascii_lowercase();
        let (org, name) = lower.split_once('/')?;
        match org {
            "eleutherai" if name.starts_with("pythia") => Some(Family::Pythia),
            "llm360" if name.starts_with("amber") => Some(Family::Amber),
            "allenai" if name.starts_with("olmo") => Some(Family::Olmo),
            _ => None,
        }
    }

    /// The template that names a step's revision, when the name follows from the step alone.
    pub fn template(self) -> Option<RevisionTemplate> {
        let t = match self {
            Family::Pythia => "step{step}",
            Family::Amber => "ckpt_{step:03}",
            Family::Olmo => return None,
        };
        t.parse().ok()
    }
}

/// Up to `n` of `names` closest to `wanted`: by step when both carry one, else by edit distance.
pub fn near_names(wanted: &str, names: &[String], n: usize) -> Vec<String> {
    let ws = step_of(wanted);
    let mut scored: Vec<(u64, &String)> = names
        .iter()
        .map(|name| {
            let score = match (ws, step_of(name)) {
                (Some(a), Some(b)) => a.abs_diff(b),
                _ => (1u64 << 40) + edit_distance(wanted, name) as u64,
            };
            (score, name)
        })
        .collect();
    scored.sort();
    scored.into_iter().take(n).map(|(_, s)| s.clone()).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        let s: RepoSpec = "hf:EleutherAI/pythia-160m@step1000".parse().unwrap();
        assert_eq!(s.repo, "EleutherAI/pythia-160m");
        assert_eq!(s.revision.as_deref(), Some("step1000"));
        assert_eq!(s.to_string(), "hf:EleutherAI/pythia-160m@step1000");
        let s: RepoSpec = "hf:allenai/OLMo-1B-hf".parse().unwrap();
        assert_eq!(s.revision, None);
        for bad in ["EleutherAI/pythia", "hf:pythia", "hf:a/b/c", "hf:a/..", "hf:a/b@", "hf:/b", "hf:a/b@x y"] {
            assert!(bad.parse::<RepoSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn steps_of_public_series() {
        let cases = [
            ("step0", Some(0)),
            ("step143000", Some(143000)),
            ("step20000-tokens84B", Some(20000)),
            ("stage1-step140000-tokens294B", Some(140000)),
            ("ckpt_042", Some(42)),
            ("global_step1000", Some(1000)),
            ("checkpoint-1500", Some(1500)),
            ("iter_0001000", Some(1000)),
            ("stage2-ingredient1-step1000-tokens5B", Some(1000)),
            ("step-480k-token-1007B", Some(480_000)),
            ("main", None),
            ("steps", None),
            ("mystep100", None),
            ("step12abc", None),
            ("refs/pr/1", None),
        ];
        for (name, want) in cases {
            assert_eq!(step_of(name), want, "{name}");
        }
    }

    #[test]
    fn templates_round_trip() {
        let t: RevisionTemplate = "iter_{step:07}".parse().unwrap();
        assert_eq!(t.name(1000), "iter_0001000");
        assert_eq!(t.step("iter_0001000"), Some(1000));
        assert_eq!(t.step("iter_x"), None);
        let t: RevisionTemplate = "step{step}-final".parse().unwrap();
        assert_eq!(t.name(5), "step5-final");
        assert_eq!(t.step("step5-final"), Some(5));
        assert_eq!(t.glob(), "step*-final");
        for bad in ["iter", "{stp}", "{step:x}", "{step}{step}"] {
            assert!(bad.parse::<RevisionTemplate>().is_err(), "{bad}");
        }
        assert_eq!(Family::of("EleutherAI/pythia-160m-deduped"), Some(Family::Pythia));
        assert_eq!(
            Family::of("LLM360/Amber").and_then(Family::template).map(|t| t.name(7)).as_deref(),
            Some("ckpt_007")
        );
        assert_eq!(Family::of("allenai/OLMo-1B-hf"), Some(Family::Olmo));
        assert_eq!(Family::of("gpt2/x"), None);
    }

    #[test]
    fn near_names_by_step_then_spelling() {
        let names: Vec<String> = ["step0", "step1000", "step2000", "main"].iter().map(|s| s.to_string()).collect();
        assert_eq!(near_names("step1100", &names, 2), vec!["step1000", "step2000"]);
        assert_eq!(near_names("mian", &names, 1), vec!["main"]);
    }
}
