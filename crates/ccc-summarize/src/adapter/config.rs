//! `adapter_config.json` of a PEFT adapter, parsed into a typed config: the adapter type, rank and scaling, and
//! which modules it targets.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::SummarizeError;

/// The adapter types of PEFT's `peft_type`; only [`PeftType::Lora`] is summarized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeftType {
    /// LoRA (`LORA`): `W0 + s·B·A`.
    Lora,
    /// Any other type (`IA3`, `LOHA`, `LOKR`, `ADALORA`, `PREFIX_TUNING`, …), by its name.
    Other(String),
}

/// `target_modules`: a list of module names (a module is targeted when its name is one of them or ends with
/// `.` and one of them), or one regular expression that must match a module's whole name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetModules {
    /// Names or name suffixes.
    List(Vec<String>),
    /// A regular expression over whole module names.
    Regex(String),
}

/// A PEFT adapter's configuration (the keys that change the weights; others are ignored).
#[derive(Debug, Clone)]
pub struct AdapterConfig {
    /// The adapter type.
    pub peft_type: PeftType,
    /// The default rank `r`.
    pub r: usize,
    /// The default `lora_alpha`.
    pub lora_alpha: f64,
    /// Scaling `alpha / sqrt(r)` instead of `alpha / r`.
    pub use_rslora: bool,
    /// The base weights are stored `(in, out)` (GPT-2 `Conv1D`): ΔW is transposed before it is added.
    pub fan_in_fan_out: bool,
    /// Per-module ranks, keyed by a module name or a regular expression of its end.
    pub rank_pattern: BTreeMap<String, usize>,
    /// Per-module alphas, keyed as `rank_pattern`.
    pub alpha_pattern: BTreeMap<String, f64>,
    /// The modules adapted.
    pub target_modules: Option<TargetModules>,
    /// The base model the adapter was trained on, as recorded (informative only).
    pub base_model: Option<String>,
    /// DoRA (`use_dora`): a magnitude vector `m` per adapted `nn.Linear` weight, which becomes
    /// `m · (W0 + ΔW) / ‖W0 + ΔW‖` (row norms of the `(out, in)` weight).
    pub use_dora: bool,
    /// Modules trained and saved whole (`modules_to_save`).
    pub modules_to_save: Vec<String>,
}

#[derive(Deserialize)]
struct Raw {
    peft_type: Option<String>,
    r: Option<usize>,
    lora_alpha: Option<f64>,
    #[serde(default)]
    use_rslora: bool,
    #[serde(default)]
    fan_in_fan_out: bool,
    #[serde(default)]
    rank_pattern: Option<BTreeMap<String, usize>>,
    #[serde(default)]
    alpha_pattern: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    target_modules: Option<RawTargets>,
    base_model_name_or_path: Option<String>,
    #[serde(default)]
    use_dora: bool,
    #[serde(default)]
    modules_to_save: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawTargets {
    List(Vec<String>),
    One(String),
}

impl AdapterConfig {
    /// Read and check `adapter_config.json`: a LoRA adapter (another `peft_type` is an error naming it), DoRA
    /// included, with a positive rank.
    pub fn load(path: &Path) -> Result<AdapterConfig, SummarizeError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| SummarizeError::Io { path: path.to_path_buf(), source })?;
        let c =
            AdapterConfig::parse(&text).map_err(|reason| SummarizeError::BadAdapter { path: path.into(), reason })?;
        let bad = |reason: String| SummarizeError::BadAdapter { path: path.into(), reason };
        if let PeftType::Other(t) = &c.peft_type {
            return Err(bad(format!("peft_type `{t}` is not supported: only LoRA adapters (`LORA`) are summarized")));
        }
        Ok(c)
    }

    /// Parse the JSON text (no checks of the type).
    pub fn parse(text: &str) -> Result<AdapterConfig, String> {
        let raw: Raw = serde_json::from_str(text).map_err(|e| format!("not a valid adapter config: {e}"))?;
        let peft_type = match raw.peft_type.as_deref() {
            Some(t) if t.eq_ignore_ascii_case("lora") => PeftType::Lora,
            Some(t) => PeftType::Other(t.to_string()),
            None => return Err("no `peft_type`".into()),
        };
        let r = raw.r.unwrap_or(8);
        if r == 0 {
            return Err("`r` is 0".into());
        }
        let lora_alpha = raw.lora_alpha.unwrap_or(8.0);
        if !lora_alpha.is_finite() {
            return Err(format!("`lora_alpha` is {lora_alpha}"));
        }
        let target_modules = raw.target_modules.map(|t| match t {
            RawTargets::List(v) => TargetModules::List(v),
            RawTargets::One(s) => TargetModules::Regex(s),
        });
        if let Some(TargetModules::Regex(re)) = &target_modules {
            regex::Regex::new(&format!("^(?:{re})$")).map_err(|e| format!("`target_modules` `{re}`: {e}"))?;
        }
        for key in
            raw.rank_pattern.iter().flatten().map(|(k, _)| k).chain(raw.alpha_pattern.iter().flatten().map(|(k, _)| k))
        {
            pattern_regex(key).map_err(|e| format!("rank/alpha pattern `{key}`: {e}"))?;
        }
        Ok(AdapterConfig {
            peft_type,
            r,
            lora_alpha,
            use_rslora: raw.use_rslora,
            fan_in_fan_out: raw.fan_in_fan_out,
            rank_pattern: raw.rank_pattern.unwrap_or_default(),
            alpha_pattern: raw.alpha_pattern.unwrap_or_default(),
            target_modules,
            base_model: raw.base_model_name_or_path,
            use_dora: raw.use_dora,
            modules_to_save: raw.modules_to_save.unwrap_or_default(),
        })
    }

    /// Whether `target_modules` names the module `module` (a base model's module name, e.g.
    /// `model.layers.0.self_attn.q_proj`); true when there is no `target_modules`.
    pub fn targets(&self, module: &str) -> bool {
        match &self.target_modules {
            None => true,
            Some(TargetModules::List(names)) => {
                names.iter().any(|n| module == n || module.strip_suffix(n.as_str()).is_some_and(|p| p.ends_with('.')))
            }
            Some(TargetModules::Regex(re)) => {
                regex::Regex::new(&format!("^(?:{re})$")).is_ok_and(|r| r.is_match(module))
            }
        }
    }

    /// The rank and alpha of a module: its `rank_pattern` / `alpha_pattern` entry (PEFT's rule: the first key,
    /// in key order, that is the module's name or a regular expression matching its end after a `.`), else `r` /
    /// `lora_alpha`.
    pub fn rank_alpha(&self, module: &str) -> (usize, f64) {
        let r = self.rank_pattern.iter().find(|(k, _)| pattern_matches(k, module)).map_or(self.r, |(_, &v)| v);
        let a =
            self.alpha_pattern.iter().find(|(k, _)| pattern_matches(k, module)).map_or(self.lora_alpha, |(_, &v)| v);
        (r, a)
    }

    /// The scaling `s` of ΔW = s·B·A for a module of rank `r`: `alpha / r`, or `alpha / sqrt(r)` with rsLoRA.
    pub fn scaling(&self, module: &str, r: usize) -> f64 {
        let (_, alpha) = self.rank_alpha(module);
        if self.use_rslora {
            alpha / (r as f64).sqrt()
        } else {
            alpha / r as f64
        }
    }
}

/// PEFT's `rank_pattern` / `alpha_pattern` key as a regular expression over a whole module name.
fn pattern_regex(key: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!(r"^(?:.*\.)?(?:{key})$"))
}

fn pattern_matches(key: &str, module: &str) -> bool {
    key == module || pattern_regex(key).is_ok_and(|r| r.is_match(module))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lora_config() {
        let c = AdapterConfig::parse(
            r#"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "down_proj"],
                "rank_pattern": {"down_proj": 2}, "alpha_pattern": {"layers\\.1\\..*v_proj": 4}}"#,
        )
        .unwrap();
        assert_eq!(c.peft_type, PeftType::Lora);
        assert!(c.targets("model.layers.0.self_attn.q_proj"));
        assert!(!c.targets("model.layers.0.self_attn.xq_proj"));
        assert!(!c.targets("model.layers.0.self_attn.k_proj"));
        assert_eq!(c.rank_alpha("model.layers.0.mlp.down_proj"), (2, 8.0));
        assert_eq!(c.rank_alpha("model.layers.1.self_attn.v_proj"), (4, 4.0));
        assert_eq!(c.rank_alpha("model.layers.0.self_attn.v_proj"), (4, 8.0));
        assert_eq!(c.scaling("model.layers.0.self_attn.q_proj", 4), 2.0);
        let rs = AdapterConfig::parse(
            r#"{"peft_type": "LORA", "r": 16, "lora_alpha": 8, "use_rslora": true,
            "target_modules": ".*\\.(k_proj|up_proj)"}"#,
        )
        .unwrap();
        assert_eq!(rs.scaling("x.k_proj", 16), 2.0);
        assert!(rs.targets("model.layers.3.mlp.up_proj") && !rs.targets("model.layers.3.mlp.up_proj.x"));
    }

    #[test]
    fn other_types_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("adapter_config.json");
        std::fs::write(&p, r#"{"peft_type": "IA3", "target_modules": ["k_proj"]}"#).unwrap();
        let e = AdapterConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("peft_type `IA3` is not supported"), "{e}");
        std::fs::write(&p, r#"{"peft_type": "LORA", "r": 4, "use_dora": true}"#).unwrap();
        assert!(AdapterConfig::load(&p).unwrap().use_dora);
        std::fs::write(&p, r#"{"peft_type": "LORA", "r": 4, "target_modules": "(unclosed"}"#).unwrap();
        assert!(AdapterConfig::load(&p).unwrap_err().to_string().contains("target_modules"));
        assert!(AdapterConfig::parse("[1]").unwrap_err().contains("not a valid adapter config"));
    }
}
