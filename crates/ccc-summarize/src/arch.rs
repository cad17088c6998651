//! Architecture mapping files: which tensors of a checkpoint are which components, and how their rows are laid
//! out. The built-in architectures are mapping files too (`arch/*.toml`, embedded in the binary), so a user's
//! `--arch FILE` and the built-ins are one mechanism.
//!
//! A mapping file (TOML):
//!
//! ```toml
//! name = "gpt_neox"                      # stored as the `architecture` metadata
//! model_types = ["gpt_neox"]             # config.json `model_type` values it handles
//! architectures = ["GPTNeoXForCausalLM"] # or config.json `architectures` entries
//!
//! [config]                               # config.json keys; the first one present wins
//! hidden = ["hidden_size"]
//! layers = ["num_hidden_layers"]
//! heads = ["num_attention_heads"]
//! kv_heads = ["num_key_value_heads"]     # default: heads
//! head_dim = ["head_dim"]                # default: hidden / heads
//! vocab = ["vocab_size"]                 # optional: checked against the embeddings
//! tied = ["tie_word_embeddings"]         # true: no emb_out component
//! tied_default = false                   # when no `tied` key is present
//! norm_affine = []                       # a boolean key; false: no ln_1/ln_2 components
//!
//! [[tensors]]
//! pattern = "gpt_neox.layers.{layer}.attention.query_key_value.weight"
//! kind = "qkv"                           # emb_in emb_out q k v qkv o mlp_in mlp_out ln_1 ln_2 router
//! layout = "fused_qkv_interleaved"       # see `Layout`
//! ```
//!
//! Mixture-of-experts layers: `experts = ["num_local_experts"]` under `[config]`, an `{expert}` placeholder in the
//! patterns of the experts' `mlp_in`/`mlp_out` rules (components `L{l}.E{e}.mlp_in`), and a `router` rule
//! (`linear_in`, the gate `(E, C)`). `extra_layers = ["num_nextn_predict_layers"]` ignores the multi-token
//! prediction layers some checkpoints store after the model's own.

use std::path::Path;

use serde::Deserialize;

use crate::error::SummarizeError;

/// What a tensor is, in a mapping file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Input embedding `(V, C)`.
    EmbIn,
    /// Output embedding `(V, C)`.
    EmbOut,
    /// Query projection.
    Q,
    /// Key projection.
    K,
    /// Value projection.
    V,
    /// Fused query/key/value projection (split by the layout).
    Qkv,
    /// Attention output projection.
    O,
    /// An MLP matrix reading the residual stream (up, gate, or fused up+gate).
    MlpIn,
    /// The MLP matrix writing the residual stream.
    MlpOut,
    /// Pre-attention norm gain.
    #[serde(rename = "ln_1")]
    Ln1,
    /// Pre-MLP norm gain.
    #[serde(rename = "ln_2")]
    Ln2,
    /// A mixture-of-experts router (gate) `(E, C)`.
    Router,
}

/// How a tensor is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// `(V, C)`: token vectors as rows; the coordinate is the column.
    Embedding,
    /// `nn.Linear` reading the residual, `(out, C)`: the coordinate is the column.
    LinearIn,
    /// `nn.Linear` writing the residual, `(C, in)`: the coordinate is the row.
    LinearOut,
    /// Fused `(3·H·r, C)` with rows `[3rh, 3rh+r)` = Q of head h, then its K, then its V (GPT-NeoX).
    FusedQkvInterleaved,
    /// Fused `(H·r + 2·Hkv·r, C)`: all Q rows, then all K, then all V, heads contiguous (OLMo `att_proj`).
    FusedQkvContiguous,
    /// GPT-2 `Conv1D`, stored `(in, out)`: `(C, out)` for matrices reading the residual (a fused qkv is split
    /// contiguously along `out`), `(in, C)` for those writing it.
    Conv1d,
    /// A norm gain vector `(C,)`.
    Norm,
    /// A layer's experts in one 3-D tensor, each an `nn.Linear` weight `(out, in)`: `[E, out, in]` — `[E, 2F, C]`
    /// for `mlp_in` (gate and up), `[E, C, F]` for `mlp_out` (GraniteMoE, JetMoE).
    Experts,
    /// A layer's experts in one 3-D tensor stored `(in, out)`: `[E, C, 2F]` for `mlp_in`, `[E, F, C]` for
    /// `mlp_out` (gpt-oss, Llama 4).
    ExpertsTransposed,
}

impl Layout {
    /// Whether a tensor of this layout holds every expert of a layer.
    pub fn is_experts(self) -> bool {
        matches!(self, Layout::Experts | Layout::ExpertsTransposed)
    }
}

/// Config keys of a mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigKeys {
    /// Hidden size keys.
    pub hidden: Vec<String>,
    /// Layer count keys.
    pub layers: Vec<String>,
    /// Attention head count keys.
    pub heads: Vec<String>,
    /// Key/value head count keys (default: heads).
    #[serde(default)]
    pub kv_heads: Vec<String>,
    /// Head dimension keys (default: hidden / heads).
    #[serde(default)]
    pub head_dim: Vec<String>,
    /// Vocabulary size keys (optional, checked against embeddings).
    #[serde(default)]
    pub vocab: Vec<String>,
    /// Tied-embeddings flag keys.
    #[serde(default)]
    pub tied: Vec<String>,
    /// Whether embeddings are tied when no `tied` key is present.
    #[serde(default)]
    pub tied_default: bool,
    /// A boolean key saying whether norms have gains (default: they do when their tensors exist).
    #[serde(default)]
    pub norm_affine: Vec<String>,
    /// Number-of-experts keys of a mixture-of-experts model (needed when a pattern has `{expert}`).
    #[serde(default)]
    pub experts: Vec<String>,
    /// Keys giving a number of layers stored after the model's own (multi-token prediction modules, as in
    /// GLM-4.5 and DeepSeek-V3 checkpoints): tensors there are not part of the model's residual stream and are
    /// ignored.
    #[serde(default)]
    pub extra_layers: Vec<String>,
}

/// One tensor rule of a mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorRule {
    /// Tensor name patterns (a string or a list); `{layer}` stands for the layer number, `{expert}` for the
    /// expert number (mixture-of-experts MLP matrices).
    #[serde(deserialize_with = "one_or_many")]
    pub pattern: Vec<String>,
    /// What the tensor is.
    pub kind: RuleKind,
    /// How it is stored.
    pub layout: Layout,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// An architecture mapping (a parsed mapping file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The architecture name stored in the output.
    pub name: String,
    /// `model_type` values handled.
    #[serde(default)]
    pub model_types: Vec<String>,
    /// `architectures` entries handled.
    #[serde(default)]
    pub architectures: Vec<String>,
    /// Config keys.
    pub config: ConfigKeys,
    /// Tensor rules.
    pub tensors: Vec<TensorRule>,
}

/// The built-in mapping files, embedded.
pub const BUILTIN: [(&str, &str); 18] = [
    ("gpt_neox", include_str!("../arch/gpt_neox.toml")),
    ("gpt2", include_str!("../arch/gpt2.toml")),
    ("llama", include_str!("../arch/llama.toml")),
    ("mistral", include_str!("../arch/mistral.toml")),
    ("qwen2", include_str!("../arch/qwen2.toml")),
    ("olmo", include_str!("../arch/olmo.toml")),
    ("olmo2", include_str!("../arch/olmo2.toml")),
    ("hf_olmo", include_str!("../arch/hf_olmo.toml")),
    ("mixtral", include_str!("../arch/mixtral.toml")),
    ("olmoe", include_str!("../arch/olmoe.toml")),
    ("qwen2_moe", include_str!("../arch/qwen2_moe.toml")),
    ("qwen3", include_str!("../arch/qwen3.toml")),
    ("qwen3_moe", include_str!("../arch/qwen3_moe.toml")),
    ("phimoe", include_str!("../arch/phimoe.toml")),
    ("glm4_moe", include_str!("../arch/glm4_moe.toml")),
    ("ernie4_5_moe", include_str!("../arch/ernie4_5_moe.toml")),
    ("granitemoe", include_str!("../arch/granitemoe.toml")),
    ("gpt_oss", include_str!("../arch/gpt_oss.toml")),
];

/// A short mapping-file example shown when an architecture is unknown.
pub const EXAMPLE: &str = r#"name = "my_arch"
model_types = ["my_arch"]
[config]
hidden = ["hidden_size"]
layers = ["num_hidden_layers"]
heads = ["num_attention_heads"]
kv_heads = ["num_key_value_heads"]
tied = ["tie_word_embeddings"]
[[tensors]]
pattern = "model.embed_tokens.weight"
kind = "emb_in"
layout = "embedding"
[[tensors]]
pattern = "model.layers.{layer}.self_attn.q_proj.weight"
kind = "q"
layout = "linear_in"
# … k, v (linear_in), o (linear_out), mlp_in (linear_in), mlp_out (linear_out), ln_1/ln_2 (norm), emb_out"#;

impl Mapping {
    /// Parse a mapping file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Self, SummarizeError> {
        let bad = |reason: String| SummarizeError::BadMapping { path: origin.to_path_buf(), reason };
        let m: Mapping = toml::from_str(text).map_err(|e| bad(e.to_string().trim().replace('\n', " ")))?;
        for r in &m.tensors {
            use Layout::*;
            use RuleKind::*;
            let ok = match r.layout {
                Embedding => matches!(r.kind, EmbIn | EmbOut),
                Norm => matches!(r.kind, Ln1 | Ln2),
                LinearIn => matches!(r.kind, Q | K | V | MlpIn | Router),
                LinearOut => matches!(r.kind, O | MlpOut),
                FusedQkvInterleaved | FusedQkvContiguous => r.kind == Qkv,
                Conv1d => !matches!(r.kind, EmbIn | EmbOut | Ln1 | Ln2 | Router),
                Experts | ExpertsTransposed => matches!(r.kind, MlpIn | MlpOut),
            };
            if !ok {
                return Err(bad(format!("kind `{:?}` cannot have layout `{:?}`", r.kind, r.layout)));
            }
            if r.pattern.is_empty() {
                return Err(bad("a tensor rule has no pattern".into()));
            }
            for p in &r.pattern {
                if p.matches(LAYER).count() > 1 {
                    return Err(bad(format!("pattern `{p}` has more than one {{layer}}")));
                }
                let per_layer = !matches!(r.kind, EmbIn | EmbOut);
                if per_layer != p.contains(LAYER) {
                    return Err(bad(format!(
                        "pattern `{p}`: {} needs {}",
                        format!("{:?}", r.kind).to_lowercase(),
                        if per_layer { "a {layer} placeholder" } else { "no {layer} placeholder" }
                    )));
                }
                if r.layout.is_experts() && (p.contains(EXPERT) || m.config.experts.is_empty()) {
                    return Err(bad(format!(
                        "pattern `{p}`: a tensor of all experts (layout {:?}) needs an `experts` key under [config] \
                         and no {{expert}} placeholder",
                        r.layout
                    )));
                }
                match p.matches(EXPERT).count() {
                    0 => {}
                    1 if matches!(r.kind, MlpIn | MlpOut) => {
                        if m.config.experts.is_empty() {
                            return Err(bad(format!(
                                "pattern `{p}` has an {{expert}} placeholder, but [config] names no `experts` key"
                            )));
                        }
                    }
                    1 => {
                        return Err(bad(format!(
                            "pattern `{p}`: only mlp_in and mlp_out rules may have an {{expert}} placeholder"
                        )))
                    }
                    _ => return Err(bad(format!("pattern `{p}` has more than one {{expert}}"))),
                }
            }
        }
        Ok(m)
    }

    /// Read a mapping file.
    pub fn load(path: &Path) -> Result<Self, SummarizeError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| SummarizeError::Io { path: path.to_path_buf(), source })?;
        Self::parse(&text, path)
    }

    /// The built-in mappings.
    pub fn builtins() -> Vec<Mapping> {
        BUILTIN
            .iter()
            // The embedded files are tested; a broken one would be a build defect, skipped rather than panicking.
            .filter_map(|(name, text)| Mapping::parse(text, Path::new(&format!("<built-in {name}.toml>"))).ok())
            .collect()
    }

    /// Whether this mapping handles a config (by `model_type`, else by `architectures`).
    pub fn handles(&self, config: &serde_json::Value) -> bool {
        if let Some(mt) = config.get("model_type").and_then(|v| v.as_str()) {
            if self.model_types.iter().any(|m| m == mt) {
                return true;
            }
        }
        config
            .get("architectures")
            .and_then(|a| a.as_array())
            .is_some_and(|a| a.iter().filter_map(|v| v.as_str()).any(|a| self.architectures.iter().any(|x| x == a)))
    }

    /// The built-in mapping for a config, or an error naming its `model_type` and showing how to write a mapping.
    pub fn detect(config: &serde_json::Value) -> Result<Mapping, SummarizeError> {
        let all = Self::builtins();
        if let Some(mt) = config.get("model_type").and_then(|v| v.as_str()) {
            if let Some(m) = all.iter().find(|m| m.model_types.iter().any(|x| x == mt)) {
                return Ok(m.clone());
            }
        }
        if let Some(m) = all.iter().find(|m| m.handles(config)) {
            return Ok(m.clone());
        }
        let mt = config.get("model_type").and_then(|v| v.as_str()).unwrap_or("<none>");
        let known: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
        Err(SummarizeError::UnknownArchitecture(format!(
            "unknown architecture: config.json has model_type `{mt}` (built-in: {}); describe it in a mapping file \
             and pass --arch FILE, e.g.:\n{EXAMPLE}",
            known.join(", ")
        )))
    }
}

/// The placeholder of a pattern for the layer number.
const LAYER: &str = "{layer}";
/// The placeholder of a pattern for the expert number.
const EXPERT: &str = "{expert}";

/// Where a tensor name matched a pattern: the numbers its placeholders stood for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PatternMatch {
    /// The `{layer}` number, if the pattern has one.
    pub(crate) layer: Option<usize>,
    /// The `{expert}` number, if the pattern has one.
    pub(crate) expert: Option<usize>,
}

/// Match a tensor name against a pattern, reading the numbers of its `{layer}` and `{expert}` placeholders.
pub(crate) fn match_pattern(pattern: &str, name: &str) -> Option<PatternMatch> {
    // Placeholders are found through their `{` (a byte search): a plan matches every tensor against every pattern.
    let mut out = PatternMatch::default();
    let (mut pat, mut rest) = (pattern, name);
    loop {
        let next = pat.match_indices('{').find_map(|(i, _)| {
            let tail = &pat[i..];
            if tail.starts_with(LAYER) {
                Some((i, LAYER.len(), true))
            } else if tail.starts_with(EXPERT) {
                Some((i, EXPERT.len(), false))
            } else {
                None
            }
        });
        let Some((i, len, is_layer)) = next else {
            return (pat == rest).then_some(out);
        };
        rest = rest.strip_prefix(&pat[..i])?;
        pat = &pat[i + len..];
        // The number: its digits (greedy), no leading zeros.
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let num = &rest[..digits];
        if num.is_empty() || (num.len() > 1 && num.starts_with('0')) {
            return None;
        }
        let n: usize = num.parse().ok()?;
        if is_layer {
            out.layer = Some(n);
        } else {
            out.expert = Some(n);
        }
        rest = &rest[digits..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse() {
        for (name, text) in BUILTIN {
            let m = Mapping::parse(text, Path::new(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(m.name, name);
        }
        assert_eq!(Mapping::builtins().len(), BUILTIN.len());
    }

    #[test]
    fn patterns() {
        let layer = |l| Some(PatternMatch { layer: Some(l), expert: None });
        let none = Some(PatternMatch::default());
        assert_eq!(match_pattern("a.{layer}.b", "a.12.b"), layer(12));
        assert_eq!(match_pattern("a.{layer}.b", "a..b"), None);
        assert_eq!(match_pattern("a.{layer}.b", "a.01.b"), None);
        assert_eq!(match_pattern("a.{layer}.b", "a.1x.b"), None);
        assert_eq!(match_pattern("x.weight", "x.weight"), none);
        assert_eq!(match_pattern("x.weight", "x.bias"), None);
        // A `{` that is not the placeholder is matched as itself.
        assert_eq!(match_pattern("a{b}.{layer}.c", "a{b}.3.c"), layer(3));
        assert_eq!(match_pattern("a{b}.{layer}.c", "a.3.c"), None);
        assert_eq!(match_pattern("a{b}.c", "a{b}.c"), none);
        let moe = "m.layers.{layer}.experts.{expert}.w1.weight";
        assert_eq!(
            match_pattern(moe, "m.layers.10.experts.7.w1.weight"),
            Some(PatternMatch { layer: Some(10), expert: Some(7) })
        );
        assert_eq!(match_pattern(moe, "m.layers.10.experts.07.w1.weight"), None);
        assert_eq!(match_pattern(moe, "m.layers.10.experts.7.w2.weight"), None);
        assert_eq!(match_pattern(moe, "m.layers.1.experts..w1.weight"), None);
    }

    #[test]
    fn unknown_architecture_names_model_type() {
        let err = Mapping::detect(&serde_json::json!({"model_type": "mamba"})).unwrap_err().to_string();
        assert!(err.contains("`mamba`") && err.contains("--arch") && err.contains("[[tensors]]"), "{err}");
    }

    #[test]
    fn fused_expert_layouts_are_checked() {
        let text = |kind: &str, pattern: &str, experts: bool| {
            format!(
                "name=\"x\"\n[config]\nhidden=[\"h\"]\nlayers=[\"l\"]\nheads=[\"n\"]\n{}\n[[tensors]]\npattern=\"{pattern}\"\n\
                 kind=\"{kind}\"\nlayout=\"experts\"",
                if experts { "experts=[\"e\"]" } else { "" }
            )
        };
        let parse = |t: String| Mapping::parse(&t, Path::new("m.toml")).map(|_| ()).map_err(|e| e.to_string());
        assert!(parse(text("mlp_in", "a.{layer}.w", true)).is_ok());
        assert!(parse(text("q", "a.{layer}.w", true)).unwrap_err().contains("cannot have layout"));
        assert!(parse(text("mlp_in", "a.{layer}.{expert}.w", true)).unwrap_err().contains("no {expert}"));
        assert!(parse(text("mlp_out", "a.{layer}.w", false)).unwrap_err().contains("`experts` key"));
    }

    #[test]
    fn rejects_bad_mapping() {
        let bad = r#"name="x"
[config]
hidden=["h"]
layers=["l"]
heads=["n"]
[[tensors]]
pattern="a.weight"
kind="q"
layout="norm""#;
        assert!(Mapping::parse(bad, Path::new("m.toml")).unwrap_err().to_string().contains("cannot have layout"));
        let bad2 = bad.replace("layout=\"norm\"", "layout=\"linear_in\"");
        assert!(Mapping::parse(&bad2, Path::new("m.toml")).unwrap_err().to_string().contains("{layer}"));
        let bad3 = bad2.replace("a.weight", "a.{layer}.{expert}.weight");
        assert!(Mapping::parse(&bad3, Path::new("m.toml")).unwrap_err().to_string().contains("only mlp_in"));
        let bad4 = bad3.replace("kind=\"q\"", "kind=\"mlp_in\"");
        assert!(Mapping::parse(&bad4, Path::new("m.toml")).unwrap_err().to_string().contains("`experts` key"));
        let ok = bad4.replace("heads=[\"n\"]", "heads=[\"n\"]\nexperts=[\"e\"]");
        assert!(Mapping::parse(&ok, Path::new("m.toml")).is_ok());
    }
}
