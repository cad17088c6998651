//! A summarizing plan: a mapping applied to one checkpoint's config and tensor list. It says, for every weight
//! tensor used, which axis is the residual coordinate and which runs of the other axis belong to which
//! component (a [`TensorPlan`]), and lists the tensors ignored and why. Its public face is what `ccc inspect`
//! shows: the architecture, the dimensions, the components of both modes, the tensors used and those ignored.

use std::collections::{BTreeMap, HashMap};

use ccc_core::{Component, ComponentKind, Mode};

use crate::arch::{match_pattern, Layout, Mapping, PatternMatch, RuleKind};
use crate::error::SummarizeError;
use crate::tensor::TensorInfo;
use crate::tensor_plan::{CoordAxis, Segment, TensorPlan};

/// Model dimensions read from config.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Hidden size `C` (the number of coordinates).
    pub hidden: usize,
    /// Layers.
    pub layers: usize,
    /// Attention heads `H`.
    pub heads: usize,
    /// Key/value heads `Hkv`.
    pub kv_heads: usize,
    /// Head dimension `r`.
    pub head_dim: usize,
    /// Vocabulary size, when the config gives it.
    pub vocab: Option<usize>,
    /// Whether the output embedding is tied to the input embedding.
    pub tied: bool,
    /// Whether norms have gains (false: no ln components).
    pub norm_affine: bool,
    /// Experts per mixture-of-experts layer (`None`: a dense model).
    pub experts: Option<usize>,
    /// Layers stored after the model's own (multi-token prediction), whose tensors are ignored.
    pub extra_layers: usize,
}

impl Dims {
    /// Read the dimensions a mapping names from a config.
    pub(crate) fn from_config(m: &Mapping, config: &serde_json::Value) -> Result<Dims, SummarizeError> {
        let get = |keys: &[String]| -> Result<Option<usize>, SummarizeError> {
            for k in keys {
                match config.get(k) {
                    None | Some(serde_json::Value::Null) => continue,
                    Some(v) => {
                        return v
                            .as_u64()
                            .and_then(|n| usize::try_from(n).ok())
                            .filter(|&n| n > 0)
                            .map(Some)
                            .ok_or_else(|| {
                                SummarizeError::Shape(format!("config.json `{k}` is {v}, expected a positive integer"))
                            })
                    }
                }
            }
            Ok(None)
        };
        let need = |keys: &[String], what: &str| -> Result<usize, SummarizeError> {
            get(keys)?.ok_or_else(|| {
                SummarizeError::Shape(format!(
                    "config.json has none of the keys {keys:?} that give the {what} (architecture `{}`)",
                    m.name
                ))
            })
        };
        let flag = |keys: &[String], default: bool| -> Result<bool, SummarizeError> {
            for k in keys {
                match config.get(k) {
                    None | Some(serde_json::Value::Null) => continue,
                    Some(serde_json::Value::Bool(b)) => return Ok(*b),
                    Some(v) => {
                        return Err(SummarizeError::Shape(format!("config.json `{k}` is {v}, expected true or false")))
                    }
                }
            }
            Ok(default)
        };
        let hidden = need(&m.config.hidden, "hidden size")?;
        let layers = need(&m.config.layers, "number of layers")?;
        let heads = need(&m.config.heads, "number of attention heads")?;
        let kv_heads = get(&m.config.kv_heads)?.unwrap_or(heads);
        let head_dim = match get(&m.config.head_dim)? {
            Some(r) => r,
            None if hidden % heads == 0 => hidden / heads,
            None => {
                return Err(SummarizeError::Shape(format!(
                    "config.json: hidden size {hidden} is not a multiple of {heads} heads, and no head_dim is given"
                )))
            }
        };
        if heads % kv_heads != 0 {
            return Err(SummarizeError::Shape(format!(
                "config.json: {heads} attention heads is not a multiple of {kv_heads} key/value heads"
            )));
        }
        Ok(Dims {
            hidden,
            layers,
            heads,
            kv_heads,
            head_dim,
            vocab: get(&m.config.vocab)?,
            tied: flag(&m.config.tied, m.config.tied_default)?,
            norm_affine: flag(&m.config.norm_affine, true)?,
            experts: get(&m.config.experts)?,
            extra_layers: get(&m.config.extra_layers)?.unwrap_or(0),
        })
    }
}

/// A tensor of the checkpoint that is not summarized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The tensor name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// Everything needed to summarize checkpoints of one model (see the module docs).
#[derive(Debug, Clone)]
pub struct Plan {
    /// Architecture name (the mapping's).
    pub(crate) architecture: String,
    /// Dimensions.
    pub(crate) dims: Dims,
    /// Full-mode components, in canonical order.
    pub(crate) components: Vec<Component>,
    /// Their row lengths.
    pub(crate) lengths: Vec<i64>,
    /// Compact-mode components.
    pub(crate) compact: Vec<Component>,
    /// Their row lengths (sums of the full lengths).
    pub(crate) compact_lengths: Vec<i64>,
    /// For every full component, its compact component's index.
    pub(crate) compact_of: Vec<usize>,
    /// The summarized tensors, by name.
    pub(crate) tensors: HashMap<String, TensorPlan>,
    /// The tensors not summarized, with reasons, in storage order.
    pub(crate) ignored: Vec<Ignored>,
}

struct Found<'a> {
    info: &'a TensorInfo,
    kind: RuleKind,
    layout: Layout,
    layer: Option<usize>,
    expert: Option<usize>,
}

fn kind_of(k: RuleKind) -> Option<ComponentKind> {
    Some(match k {
        RuleKind::EmbIn => ComponentKind::EmbIn,
        RuleKind::EmbOut => ComponentKind::EmbOut,
        RuleKind::Q => ComponentKind::Q,
        RuleKind::K => ComponentKind::K,
        RuleKind::V => ComponentKind::V,
        RuleKind::O => ComponentKind::O,
        RuleKind::MlpIn => ComponentKind::MlpIn,
        RuleKind::MlpOut => ComponentKind::MlpOut,
        RuleKind::Ln1 => ComponentKind::Ln1,
        RuleKind::Ln2 => ComponentKind::Ln2,
        RuleKind::Router => ComponentKind::Router,
        RuleKind::Qkv => return None,
    })
}

impl Plan {
    /// Apply `mapping` to a checkpoint's `config` and `tensors`. `norms = false` leaves the norm gains out.
    ///
    /// Errors: config keys missing, a tensor shape that contradicts the config, a component without its tensor,
    /// two tensors for the same slot, a layer number beyond the config's layer count.
    pub fn new(
        mapping: &Mapping,
        config: &serde_json::Value,
        tensors: &[TensorInfo],
        norms: bool,
    ) -> Result<Plan, SummarizeError> {
        Plan::build(mapping, config, tensors, norms, false)
    }

    /// A plan of only the components that `tensors` feed (e.g. the adapted weights of a LoRA adapter): no error
    /// for a component without a tensor, it is left out.
    pub(crate) fn partial(
        mapping: &Mapping,
        config: &serde_json::Value,
        tensors: &[TensorInfo],
        norms: bool,
    ) -> Result<Plan, SummarizeError> {
        Plan::build(mapping, config, tensors, norms, true)
    }

    fn build(
        mapping: &Mapping,
        config: &serde_json::Value,
        tensors: &[TensorInfo],
        norms: bool,
        partial: bool,
    ) -> Result<Plan, SummarizeError> {
        let dims = Dims::from_config(mapping, config)?;
        let moe = mapping.tensors.iter().any(|r| {
            r.kind == RuleKind::Router || r.layout.is_experts() || r.pattern.iter().any(|p| p.contains("{expert}"))
        });
        let mut ignored = Vec::new();
        let mut found: Vec<Found> = Vec::new();
        let mut claimed: HashMap<(usize, Option<usize>, Option<usize>), &str> = HashMap::new();
        for info in tensors {
            let mut hit = None;
            'rules: for (ri, rule) in mapping.tensors.iter().enumerate() {
                for p in &rule.pattern {
                    if let Some(m) = match_pattern(p, &info.name) {
                        hit = Some((ri, rule, m));
                        break 'rules;
                    }
                }
            }
            let Some((ri, rule, PatternMatch { layer, expert })) = hit else {
                ignored.push(Ignored { name: info.name.clone(), reason: "not a component weight".into() });
                continue;
            };
            if !info.dtype.is_float() {
                ignored
                    .push(Ignored { name: info.name.clone(), reason: format!("not a float tensor ({})", info.dtype) });
                continue;
            }
            if let Some(l) = layer {
                if l >= dims.layers && l < dims.layers + dims.extra_layers {
                    ignored.push(Ignored {
                        name: info.name.clone(),
                        reason: "a multi-token prediction layer (after the model's own)".into(),
                    });
                    continue;
                }
                if l >= dims.layers {
                    return Err(SummarizeError::Shape(format!(
                        "tensor `{}` is in layer {l}, but config.json says {} layers",
                        info.name, dims.layers
                    )));
                }
            }
            if let Some(e) = expert {
                match dims.experts {
                    Some(n) if e < n => {}
                    Some(n) => {
                        return Err(SummarizeError::Shape(format!(
                            "tensor `{}` is expert {e}, but config.json says {n} experts",
                            info.name
                        )))
                    }
                    None => {
                        return Err(SummarizeError::Shape(format!(
                            "tensor `{}` is an expert's, but config.json has none of the keys {:?} that give the \
                             number of experts",
                            info.name, mapping.config.experts
                        )))
                    }
                }
            }
            let skip = match rule.kind {
                RuleKind::EmbOut if dims.tied => Some("output embedding tied to the input embedding"),
                RuleKind::Ln1 | RuleKind::Ln2 if !norms => Some("norm gain left out (--no-norms)"),
                RuleKind::Ln1 | RuleKind::Ln2 if !dims.norm_affine => Some("norms without gains in config.json"),
                _ => None,
            };
            if let Some(reason) = skip {
                ignored.push(Ignored { name: info.name.clone(), reason: reason.into() });
                continue;
            }
            if let Some(other) = claimed.insert((ri, layer, expert), &info.name) {
                return Err(SummarizeError::Shape(format!(
                    "tensors `{other}` and `{}` both match the same mapping rule ({:?})",
                    info.name, rule.pattern
                )));
            }
            found.push(Found { info, kind: rule.kind, layout: rule.layout, layer, expert });
        }

        // Which component kinds the model has.
        let mut kinds = vec![
            ComponentKind::EmbIn,
            ComponentKind::Q,
            ComponentKind::K,
            ComponentKind::V,
            ComponentKind::O,
            ComponentKind::MlpIn,
            ComponentKind::MlpOut,
        ];
        if !dims.tied {
            kinds.push(ComponentKind::EmbOut);
        }
        for (rk, ck) in [(RuleKind::Ln1, ComponentKind::Ln1), (RuleKind::Ln2, ComponentKind::Ln2)] {
            if found.iter().any(|f| f.kind == rk) {
                kinds.push(ck);
            }
        }
        let mut components = if moe {
            // A mixture-of-experts model's MLP components are per layer what it has: a dense (or shared-expert)
            // MLP, experts, a router. The other kinds are as in a dense model.
            let dense: Vec<ComponentKind> =
                kinds.iter().copied().filter(|k| !matches!(k, ComponentKind::MlpIn | ComponentKind::MlpOut)).collect();
            let mut list = Component::full_list(dims.layers, dims.heads, dims.kv_heads, &dense);
            list.extend(moe_components(&found, &dims, mapping, partial)?);
            list.sort_unstable();
            list
        } else {
            Component::full_list(dims.layers, dims.heads, dims.kv_heads, &kinds)
        };
        // The list is in canonical order, which is `Component`'s order: a slot is found by bisection (hashing
        // thousands of components took a third of the plan's time).
        let slot = |c: Component| -> Result<usize, SummarizeError> {
            components.binary_search(&c).map_err(|_| SummarizeError::Shape(format!("no component `{c}` in this model")))
        };

        let mut lengths = vec![0i64; components.len()];
        let mut plans = HashMap::new();
        let (c_n, h_n, kv_n, r) = (dims.hidden, dims.heads, dims.kv_heads, dims.head_dim);
        for f in &found {
            let name = &f.info.name;
            let shape = &f.info.shape;
            let shape_err = |expected: String| {
                SummarizeError::Shape(format!(
                    "tensor `{name}` has shape {shape:?}, but config.json implies {expected} (hidden {c_n}, heads \
                     {h_n}, kv heads {kv_n}, head dim {r})"
                ))
            };
            let layer = f.layer.unwrap_or(0);
            let heads = |kind: ComponentKind, n: usize, base: usize| -> Result<Vec<Segment>, SummarizeError> {
                (0..n)
                    .map(|h| {
                        Ok(Segment {
                            start: base + h * r,
                            end: base + (h + 1) * r,
                            slot: slot(Component::head(kind, layer, h))?,
                        })
                    })
                    .collect()
            };
            if f.layout == Layout::Norm {
                if shape.as_slice() != [c_n] {
                    return Err(shape_err(format!("[{c_n}]")));
                }
                let ck = kind_of(f.kind).unwrap_or(ComponentKind::Ln1);
                let s = slot(Component::layer(ck, layer))?;
                lengths[s] += 1;
                plans.insert(name.clone(), TensorPlan::Norm { slot: s });
                continue;
            }
            if f.layout.is_experts() {
                let (axis, segments) = expert_stack(f, &dims, &slot).map_err(shape_err)?;
                for s in &segments {
                    lengths[s.slot] += (s.end - s.start) as i64;
                }
                plans.insert(name.clone(), TensorPlan::Matrix { axis, segments });
                continue;
            }
            if shape.len() != 2 {
                return Err(shape_err("a matrix".into()));
            }
            let (d0, d1) = (shape[0], shape[1]);
            let writes = matches!(f.kind, RuleKind::O | RuleKind::MlpOut);
            let axis = match f.layout {
                Layout::LinearOut => CoordAxis::Rows,
                Layout::Conv1d if !writes => CoordAxis::Rows,
                _ => CoordAxis::Cols,
            };
            let (coords, entries) = match axis {
                CoordAxis::Rows | CoordAxis::StackedRows => (d0, d1),
                CoordAxis::Cols => (d1, d0),
            };
            let entries_name = if axis == CoordAxis::Rows { "columns" } else { "rows" };
            if coords != c_n {
                return Err(shape_err(format!(
                    "{c_n} {} (the hidden size)",
                    if axis == CoordAxis::Rows { "rows" } else { "columns" }
                )));
            }
            let need = |n: usize| -> Result<(), SummarizeError> {
                if entries != n {
                    return Err(shape_err(format!("{n} {entries_name}")));
                }
                Ok(())
            };
            let segments = match f.kind {
                RuleKind::EmbIn | RuleKind::EmbOut => {
                    if let Some(v) = dims.vocab {
                        if entries < v {
                            return Err(shape_err(format!("at least {v} rows (the vocabulary)")));
                        }
                    }
                    let ck = kind_of(f.kind).unwrap_or(ComponentKind::EmbIn);
                    vec![Segment { start: 0, end: entries, slot: slot(Component::kind_only(ck))? }]
                }
                RuleKind::Q => {
                    need(h_n * r)?;
                    heads(ComponentKind::Q, h_n, 0)?
                }
                RuleKind::K | RuleKind::V => {
                    need(kv_n * r)?;
                    heads(kind_of(f.kind).unwrap_or(ComponentKind::K), kv_n, 0)?
                }
                RuleKind::O => {
                    need(h_n * r)?;
                    heads(ComponentKind::O, h_n, 0)?
                }
                RuleKind::MlpIn | RuleKind::MlpOut | RuleKind::Router => {
                    let ck = kind_of(f.kind).unwrap_or(ComponentKind::MlpIn);
                    let c = match f.expert {
                        Some(e) => Component::expert(ck, layer, e),
                        None => Component::layer(ck, layer),
                    };
                    vec![Segment { start: 0, end: entries, slot: slot(c)? }]
                }
                RuleKind::Qkv if f.layout == Layout::FusedQkvInterleaved => {
                    if h_n != kv_n {
                        return Err(SummarizeError::Shape(format!(
                            "tensor `{name}`: an interleaved fused qkv needs as many key/value heads as heads \
                             ({kv_n} vs {h_n})"
                        )));
                    }
                    need(3 * h_n * r)?;
                    let mut segs = Vec::with_capacity(3 * h_n);
                    for h in 0..h_n {
                        for (i, k) in [ComponentKind::Q, ComponentKind::K, ComponentKind::V].into_iter().enumerate() {
                            let start = (3 * h + i) * r;
                            segs.push(Segment { start, end: start + r, slot: slot(Component::head(k, layer, h))? });
                        }
                    }
                    segs
                }
                RuleKind::Qkv => {
                    need((h_n + 2 * kv_n) * r)?;
                    let mut segs = heads(ComponentKind::Q, h_n, 0)?;
                    segs.extend(heads(ComponentKind::K, kv_n, h_n * r)?);
                    segs.extend(heads(ComponentKind::V, kv_n, (h_n + kv_n) * r)?);
                    segs
                }
                RuleKind::Ln1 | RuleKind::Ln2 => return Err(shape_err("a vector".into())),
            };
            for s in &segments {
                lengths[s.slot] += (s.end - s.start) as i64;
            }
            plans.insert(name.clone(), TensorPlan::Matrix { axis, segments });
        }

        for (i, c) in components.iter().enumerate() {
            let expected_one = c.kind.is_norm() || c.kind.is_per_head();
            let want = if c.kind.is_norm() { 1 } else { r as i64 };
            if lengths[i] == 0 && partial {
                continue;
            }
            if lengths[i] == 0 {
                let patterns: Vec<&String> = mapping
                    .tensors
                    .iter()
                    .filter(|t| {
                        kind_of(t.kind) == Some(c.kind)
                            || (t.kind == RuleKind::Qkv && c.kind.is_per_head() && c.kind != ComponentKind::O)
                    })
                    .flat_map(|t| t.pattern.iter())
                    .collect();
                let hint = if c.kind == ComponentKind::EmbOut {
                    " (config.json says the embeddings are not tied)"
                } else {
                    ""
                };
                return Err(SummarizeError::Shape(format!(
                    "component `{c}` has no tensor{hint}: expected one named like {patterns:?}"
                )));
            }
            if expected_one && lengths[i] != want {
                return Err(SummarizeError::Shape(format!(
                    "component `{c}` gets {} entries per row from several tensors, expected {want}",
                    lengths[i]
                )));
            }
        }

        if partial {
            // Leave out the components no tensor feeds, and renumber the slots of the others.
            let mut new_slot = vec![usize::MAX; components.len()];
            let mut kept = Vec::new();
            for (i, c) in components.iter().enumerate() {
                if lengths[i] > 0 {
                    new_slot[i] = kept.len();
                    kept.push(*c);
                }
            }
            for p in plans.values_mut() {
                match p {
                    TensorPlan::Matrix { segments, .. } => segments.iter_mut().for_each(|s| s.slot = new_slot[s.slot]),
                    TensorPlan::Norm { slot } => *slot = new_slot[*slot],
                }
            }
            lengths.retain(|&n| n > 0);
            components = kept;
            if components.is_empty() {
                return Err(SummarizeError::Shape(format!(
                    "none of the tensors is a component weight of architecture `{}`",
                    mapping.name
                )));
            }
        }
        let present: Vec<ComponentKind> =
            ComponentKind::ALL.into_iter().filter(|k| components.iter().any(|c| c.kind == *k)).collect();
        let compact = Component::compact_list(&present);
        let cidx: BTreeMap<ComponentKind, usize> = compact.iter().enumerate().map(|(i, c)| (c.kind, i)).collect();
        let compact_of: Vec<usize> = components.iter().map(|c| cidx.get(&c.kind).copied().unwrap_or(0)).collect();
        let mut compact_lengths = vec![0i64; compact.len()];
        for (i, &k) in compact_of.iter().enumerate() {
            compact_lengths[k] += lengths[i];
        }
        Ok(Plan {
            architecture: mapping.name.clone(),
            dims,
            components,
            lengths,
            compact,
            compact_lengths,
            compact_of,
            tensors: plans,
            ignored,
        })
    }

    /// The plan of a checkpoint with this `config` and these `tensors`: by `mapping`, or by the built-in mapping
    /// that handles the config (see [`Mapping::detect`]). `norms = false` leaves the norm gains out.
    pub fn for_checkpoint(
        config: &serde_json::Value,
        tensors: &[TensorInfo],
        mapping: Option<&Mapping>,
        norms: bool,
    ) -> Result<Plan, SummarizeError> {
        let detected;
        let m = match mapping {
            Some(m) => m,
            None => {
                detected = Mapping::detect(config)?;
                &detected
            }
        };
        Plan::new(m, config, tensors, norms)
    }

    /// The architecture's name (the mapping's), stored as the `architecture` metadata.
    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    /// The model's dimensions, read from config.json.
    pub fn dims(&self) -> Dims {
        self.dims
    }

    /// The number of coordinates (the hidden size).
    pub fn n_coord(&self) -> usize {
        self.dims.hidden
    }

    /// The components of a `mode` file, in canonical order.
    pub fn components(&self, mode: Mode) -> &[Component] {
        match mode {
            Mode::Full => &self.components,
            Mode::Compact => &self.compact,
        }
    }

    /// The row lengths of the components of a `mode` file (a compact component's is the sum of its members').
    pub fn lengths(&self, mode: Mode) -> &[i64] {
        match mode {
            Mode::Full => &self.lengths,
            Mode::Compact => &self.compact_lengths,
        }
    }

    /// The names of the tensors summarized, sorted.
    pub fn tensors_used(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The tensors not summarized, with the reason, in storage order.
    pub fn ignored(&self) -> &[Ignored] {
        &self.ignored
    }

    /// Whether another checkpoint's plan produces the same tensor layout (components, lengths, coordinates).
    pub(crate) fn same_layout(&self, other: &Plan) -> bool {
        self.components == other.components && self.lengths == other.lengths && self.dims == other.dims
    }
}

/// How a tensor holding all of a layer's experts (`[E, a, b]`, layout `experts` or `experts_transposed`) is read:
/// when the residual is its last axis (`mlp_in` stored `(out, in)`, `mlp_out` stored `(in, out)`), as a matrix of
/// `E·a` rows whose columns are coordinates, expert `e` owning rows `[e·a, (e+1)·a)`; when it is the middle axis,
/// as `E` stacked matrices of `C` rows that are coordinates. Errors are the expected shape, for the caller's message.
fn expert_stack(
    f: &Found,
    dims: &Dims,
    slot: &dyn Fn(Component) -> Result<usize, SummarizeError>,
) -> Result<(CoordAxis, Vec<Segment>), String> {
    let n_e = dims.experts.unwrap_or(0);
    let c_n = dims.hidden;
    let &[e_n, a, b] = f.info.shape.as_slice() else {
        return Err(format!("[{n_e}, …, …] (all experts of a layer, 3-D)"));
    };
    let writes = f.kind == RuleKind::MlpOut;
    let ck = if writes { ComponentKind::MlpOut } else { ComponentKind::MlpIn };
    let layer = f.layer.unwrap_or(0);
    let coord_last = (f.layout == Layout::Experts) != writes;
    let expected = if coord_last { format!("[{n_e}, …, {c_n}]") } else { format!("[{n_e}, {c_n}, …]") };
    if e_n != n_e || (coord_last && b != c_n) || (!coord_last && a != c_n) {
        return Err(format!(
            "{expected} (experts, then the residual as its {} axis)",
            if coord_last { "last" } else { "middle" }
        ));
    }
    let mut segments = Vec::with_capacity(n_e);
    for e in 0..n_e {
        let s = slot(Component::expert(ck, layer, e)).map_err(|err| err.to_string())?;
        segments.push(if coord_last {
            Segment { start: e * a, end: (e + 1) * a, slot: s }
        } else {
            Segment { start: 0, end: b, slot: s }
        });
    }
    Ok((if coord_last { CoordAxis::Cols } else { CoordAxis::StackedRows }, segments))
}

/// The MLP components of a mixture-of-experts model, per layer: a dense (or shared-expert) MLP where its tensors
/// are, every expert and the router where expert tensors are. A partial plan takes them all (the unfed ones are
/// left out later).
fn moe_components(
    found: &[Found],
    dims: &Dims,
    mapping: &Mapping,
    partial: bool,
) -> Result<Vec<Component>, SummarizeError> {
    let n_experts = dims.experts.unwrap_or(0);
    let router_rule = mapping.tensors.iter().any(|r| r.kind == RuleKind::Router);
    let mut out = Vec::new();
    let mut has = vec![(false, false, false); dims.layers];
    for f in found {
        if let Some(l) = f.layer {
            let h = &mut has[l];
            match (f.kind, f.expert) {
                (RuleKind::MlpIn | RuleKind::MlpOut, Some(_)) => h.1 = true,
                (RuleKind::MlpIn | RuleKind::MlpOut, None) if f.layout.is_experts() => h.1 = true,
                (RuleKind::MlpIn | RuleKind::MlpOut, None) => h.0 = true,
                (RuleKind::Router, _) => h.2 = true,
                _ => {}
            }
        }
    }
    for (l, &(dense, experts, router)) in has.iter().enumerate() {
        if partial || dense {
            out.extend([Component::layer(ComponentKind::MlpIn, l), Component::layer(ComponentKind::MlpOut, l)]);
        }
        if partial || experts {
            for e in 0..n_experts {
                out.extend([
                    Component::expert(ComponentKind::MlpIn, l, e),
                    Component::expert(ComponentKind::MlpOut, l, e),
                ]);
            }
        }
        if partial || router || (experts && router_rule) {
            out.push(Component::layer(ComponentKind::Router, l));
        }
        if !partial && !dense && !experts {
            let patterns: Vec<&String> = mapping
                .tensors
                .iter()
                .filter(|t| matches!(t.kind, RuleKind::MlpIn | RuleKind::MlpOut))
                .flat_map(|t| t.pattern.iter())
                .collect();
            return Err(SummarizeError::Shape(format!(
                "layer {l} has neither experts nor an MLP: expected tensors named like {patterns:?}"
            )));
        }
    }
    Ok(out)
}

/// Tensor lists of model shapes, for the unit tests that need a plan.
#[cfg(test)]
pub(crate) mod test_models {
    use crate::tensor::{DType, TensorInfo};

    /// The weight tensors of a Llama-family checkpoint (GQA, gate + up, norm gains, untied `lm_head`), in
    /// canonical order, with the config they come with.
    pub(crate) fn llama_tensors(
        layers: usize,
        heads: usize,
        kv: usize,
        c: usize,
        f: usize,
        vocab: usize,
        dtype: DType,
    ) -> (serde_json::Value, Vec<TensorInfo>) {
        let cfg = serde_json::json!({"model_type": "llama", "hidden_size": c, "num_attention_heads": heads,
            "num_key_value_heads": kv, "num_hidden_layers": layers, "intermediate_size": f, "vocab_size": vocab,
            "tie_word_embeddings": false});
        let r = c / heads;
        let t = |name: String, shape: Vec<usize>| TensorInfo { name, dtype, shape };
        let mut tensors = vec![t("model.embed_tokens.weight".into(), vec![vocab, c])];
        for l in 0..layers {
            let p = format!("model.layers.{l}");
            tensors.extend([
                t(format!("{p}.self_attn.q_proj.weight"), vec![heads * r, c]),
                t(format!("{p}.self_attn.k_proj.weight"), vec![kv * r, c]),
                t(format!("{p}.self_attn.v_proj.weight"), vec![kv * r, c]),
                t(format!("{p}.self_attn.o_proj.weight"), vec![c, heads * r]),
                t(format!("{p}.mlp.gate_proj.weight"), vec![f, c]),
                t(format!("{p}.mlp.up_proj.weight"), vec![f, c]),
                t(format!("{p}.mlp.down_proj.weight"), vec![c, f]),
                t(format!("{p}.input_layernorm.weight"), vec![c]),
                t(format!("{p}.post_attention_layernorm.weight"), vec![c]),
            ]);
        }
        tensors.push(t("model.norm.weight".into(), vec![c]));
        tensors.push(t("lm_head.weight".into(), vec![vocab, c]));
        (cfg, tensors)
    }
}
