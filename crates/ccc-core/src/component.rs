//! Components: the weight matrices (or slices of them) whose rows are summarized, their names and order.

use std::fmt;
use std::str::FromStr;

use crate::error::CoreError;

/// The kind of a component, declared in the canonical component order of docs/tensor.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComponentKind {
    /// Input embedding, transposed.
    EmbIn,
    /// Output embedding (unembedding), transposed; absent when tied.
    EmbOut,
    /// One query head.
    Q,
    /// One value head.
    V,
    /// The input columns of one head in the attention output projection.
    O,
    /// The MLP matrices that read the residual stream.
    MlpIn,
    /// The MLP matrix that writes the residual stream.
    MlpOut,
    /// One key head.
    K,
    /// The pre-attention norm gain.
    Ln1,
    /// The pre-MLP norm gain.
    Ln2,
    /// A mixture-of-experts router (gate): `(E, C)`, reading the residual stream.
    Router,
}

impl ComponentKind {
    /// All kinds in canonical order.
    pub const ALL: [ComponentKind; 11] = [
        ComponentKind::EmbIn,
        ComponentKind::EmbOut,
        ComponentKind::Q,
        ComponentKind::V,
        ComponentKind::O,
        ComponentKind::MlpIn,
        ComponentKind::MlpOut,
        ComponentKind::K,
        ComponentKind::Ln1,
        ComponentKind::Ln2,
        // Last, so that the order of every dense model's components is unchanged.
        ComponentKind::Router,
    ];

    /// The name of the kind (`emb_in`, `Q`, `mlp_in`, `ln_1`, …), which is also its compact-mode component name.
    pub fn name(self) -> &'static str {
        match self {
            ComponentKind::EmbIn => "emb_in",
            ComponentKind::EmbOut => "emb_out",
            ComponentKind::Q => "Q",
            ComponentKind::V => "V",
            ComponentKind::O => "O",
            ComponentKind::MlpIn => "mlp_in",
            ComponentKind::MlpOut => "mlp_out",
            ComponentKind::K => "K",
            ComponentKind::Ln1 => "ln_1",
            ComponentKind::Ln2 => "ln_2",
            ComponentKind::Router => "router",
        }
    }

    /// Whether components of this kind exist once per attention head.
    pub fn is_per_head(self) -> bool {
        matches!(self, ComponentKind::Q | ComponentKind::K | ComponentKind::V | ComponentKind::O)
    }

    /// Whether components of this kind exist once per layer.
    pub fn is_per_layer(self) -> bool {
        !matches!(self, ComponentKind::EmbIn | ComponentKind::EmbOut)
    }

    /// Whether this kind is a norm gain vector (summarized as `(w - median)²`).
    pub fn is_norm(self) -> bool {
        matches!(self, ComponentKind::Ln1 | ComponentKind::Ln2)
    }

    /// Whether components of this kind may exist once per expert of a mixture-of-experts layer.
    pub fn is_per_expert(self) -> bool {
        matches!(self, ComponentKind::MlpIn | ComponentKind::MlpOut)
    }
}

impl fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ComponentKind {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ComponentKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| CoreError::BadComponentName(s.to_string()))
    }
}

/// Full (per layer, per head) or compact (one component per kind) tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// One component per head, per layer.
    #[default]
    Full,
    /// One component per kind, summed over layers and heads.
    Compact,
}

impl Mode {
    /// Both modes.
    pub const ALL: [Mode; 2] = [Mode::Full, Mode::Compact];

    /// `full` or `compact`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Compact => "compact",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| CoreError::UnknownValue {
            what: "mode",
            value: s.to_string(),
            expected: "full, compact".into(),
        })
    }
}

/// One component: a kind, and for full mode its layer, its expert (mixture-of-experts MLPs) and its head.
///
/// Ordering (`Ord`) is the canonical component order of docs/tensor.md: kind, then layer, then expert (a dense
/// or shared MLP before the experts), then head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Component {
    /// What the component is.
    pub kind: ComponentKind,
    /// Its layer (full mode, per-layer kinds).
    pub layer: Option<usize>,
    /// Its expert (full mode, the MLP matrices of one expert of a mixture-of-experts layer).
    pub expert: Option<usize>,
    /// Its head (full mode, per-head kinds).
    pub head: Option<usize>,
}

impl Component {
    /// A compact-mode component, or an embedding.
    pub fn kind_only(kind: ComponentKind) -> Self {
        Component { kind, layer: None, expert: None, head: None }
    }

    /// A per-layer component (`L{l}.mlp_in`, `L{l}.ln_1`).
    pub fn layer(kind: ComponentKind, layer: usize) -> Self {
        Component { kind, layer: Some(layer), expert: None, head: None }
    }

    /// One expert's MLP matrix of a mixture-of-experts layer (`L{l}.E{e}.mlp_in`).
    pub fn expert(kind: ComponentKind, layer: usize, expert: usize) -> Self {
        Component { kind, layer: Some(layer), expert: Some(expert), head: None }
    }

    /// A per-head component (`L{l}.H{h}.Q`).
    pub fn head(kind: ComponentKind, layer: usize, head: usize) -> Self {
        Component { kind, layer: Some(layer), expert: None, head: Some(head) }
    }

    /// The component's name as stored in the file metadata.
    pub fn name(&self) -> String {
        match (self.layer, self.head) {
            (Some(l), Some(h)) => format!("L{l}.H{h}.{}", self.kind.name()),
            (Some(l), None) if self.expert.is_some() => {
                format!("L{l}.E{}.{}", self.expert.unwrap_or_default(), self.kind.name())
            }
            (Some(l), None) => format!("L{l}.{}", self.kind.name()),
            _ => self.kind.name().to_string(),
        }
    }

    /// The full-mode list of components of a model, in canonical order.
    ///
    /// `kinds` says which kinds the model has (e.g. no `EmbOut` when tied, no norms when the norms have no gain).
    pub fn full_list(n_layer: usize, n_head: usize, n_kv_head: usize, kinds: &[ComponentKind]) -> Vec<Component> {
        let mut out = Vec::new();
        for kind in ComponentKind::ALL {
            if !kinds.contains(&kind) {
                continue;
            }
            if !kind.is_per_layer() {
                out.push(Component::kind_only(kind));
                continue;
            }
            for l in 0..n_layer {
                if kind.is_per_head() {
                    let heads = if matches!(kind, ComponentKind::K | ComponentKind::V) { n_kv_head } else { n_head };
                    for h in 0..heads {
                        out.push(Component::head(kind, l, h));
                    }
                } else {
                    out.push(Component::layer(kind, l));
                }
            }
        }
        out
    }

    /// The compact-mode list of components, in canonical order.
    pub fn compact_list(kinds: &[ComponentKind]) -> Vec<Component> {
        ComponentKind::ALL.into_iter().filter(|k| kinds.contains(k)).map(Component::kind_only).collect()
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Component {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CoreError::BadComponentName(s.to_string());
        let parts: Vec<&str> = s.split('.').collect();
        let num = |p: &str, prefix: char| -> Result<usize, CoreError> {
            p.strip_prefix(prefix).and_then(|n| n.parse().ok()).ok_or_else(bad)
        };
        let c = match parts.as_slice() {
            [k] => Component::kind_only(k.parse().map_err(|_| bad())?),
            [l, k] => {
                let kind: ComponentKind = k.parse().map_err(|_| bad())?;
                if !kind.is_per_layer() || kind.is_per_head() {
                    return Err(bad());
                }
                Component::layer(kind, num(l, 'L')?)
            }
            [l, e, k] if e.starts_with('E') => {
                let kind: ComponentKind = k.parse().map_err(|_| bad())?;
                if !kind.is_per_expert() {
                    return Err(bad());
                }
                Component::expert(kind, num(l, 'L')?, num(e, 'E')?)
            }
            [l, h, k] => {
                let kind: ComponentKind = k.parse().map_err(|_| bad())?;
                if !kind.is_per_head() {
                    return Err(bad());
                }
                Component::head(kind, num(l, 'L')?, num(h, 'H')?)
            }
            _ => return Err(bad()),
        };
        Ok(c)
    }
}

/// A selection of components by name: comma-separated glob patterns (`*` any text, `?` one character),
/// e.g. `L*.H*.Q`, `emb_in`, `L0.*,L1.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentPattern {
    globs: Vec<String>,
}

impl ComponentPattern {
    /// Parse a comma-separated list of glob patterns.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let globs: Vec<String> = s.split(',').map(|g| g.trim().to_string()).filter(|g| !g.is_empty()).collect();
        if globs.is_empty() {
            return Err(CoreError::UnknownValue {
                what: "component pattern",
                value: s.to_string(),
                expected: "a glob such as `L*.H*.Q` or `emb_in`".into(),
            });
        }
        Ok(ComponentPattern { globs })
    }

    /// Whether a component name matches one of the patterns.
    pub fn matches(&self, name: &str) -> bool {
        self.globs.iter().any(|g| glob_match(g.as_bytes(), name.as_bytes()))
    }

    /// The indices (ascending) of the matching components.
    pub fn select(&self, components: &[Component]) -> Vec<usize> {
        components.iter().enumerate().filter(|(_, c)| self.matches(&c.name())).map(|(i, _)| i).collect()
    }
}

/// Whether `text` matches the glob `pat` (`*` any text, `?` one byte).
pub(crate) fn glob_match(pat: &[u8], text: &[u8]) -> bool {
    // Iterative matcher with single-star backtracking: linear in practice, no recursion.
    let (mut p, mut t) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while t < text.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    while p < pat.len() && pat[p] == b'*' {
        p += 1;
    }
    p == pat.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in [
            "emb_in",
            "emb_out",
            "L3.H5.Q",
            "L0.mlp_in",
            "L2.ln_1",
            "Q",
            "mlp_out",
            "L10.H0.K",
            "L1.E7.mlp_in",
            "L0.E0.mlp_out",
            "L3.router",
            "router",
        ] {
            let c: Component = name.parse().unwrap();
            assert_eq!(c.name(), name);
        }
        for bad in [
            "",
            "L3.Q",
            "L.H1.Q",
            "H1.Q",
            "L1.H1.mlp_in",
            "L1.emb_in",
            "foo",
            "L1.H2.Q.x",
            "L1.E2.Q",
            "L1.E2.router",
            "L1.Ex.mlp_in",
        ] {
            assert!(bad.parse::<Component>().is_err(), "{bad}");
        }
    }

    #[test]
    fn full_order_matches_spec() {
        use ComponentKind::*;
        let all = [EmbIn, EmbOut, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2];
        let list = Component::full_list(2, 4, 2, &all);
        let names: Vec<String> = list.iter().map(|c| c.name()).collect();
        assert_eq!(names[0], "emb_in");
        assert_eq!(names[1], "emb_out");
        assert_eq!(names[2], "L0.H0.Q");
        assert_eq!(names[10], "L0.H0.V");
        assert_eq!(names[14], "L0.H0.O");
        assert_eq!(names[22], "L0.mlp_in");
        assert_eq!(names[26], "L0.H0.K");
        assert_eq!(names.last().unwrap(), "L1.ln_2");
        assert_eq!(list.len(), 2 + 8 + 4 + 8 + 2 + 2 + 4 + 2 + 2);
        let mut sorted = list.clone();
        sorted.sort();
        assert_eq!(sorted, list);
    }

    #[test]
    fn experts_sort_after_the_dense_mlp_and_router_last() {
        let dense = Component::layer(ComponentKind::MlpIn, 1);
        let e0 = Component::expert(ComponentKind::MlpIn, 1, 0);
        let e10 = Component::expert(ComponentKind::MlpIn, 1, 10);
        let next = Component::layer(ComponentKind::MlpIn, 2);
        let mut v = [next, e10, Component::layer(ComponentKind::Router, 0), e0, dense];
        v.sort();
        let names: Vec<String> = v.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["L1.mlp_in", "L1.E0.mlp_in", "L1.E10.mlp_in", "L2.mlp_in", "L0.router"]);
    }

    #[test]
    fn patterns() {
        let p = ComponentPattern::parse("L*.H*.Q").unwrap();
        assert!(p.matches("L3.H1.Q"));
        assert!(!p.matches("L3.mlp_in"));
        let p = ComponentPattern::parse("emb_in, L1.*").unwrap();
        assert!(p.matches("emb_in") && p.matches("L1.H0.K") && !p.matches("L0.H0.K"));
        assert!(ComponentPattern::parse(" , ").is_err());
        assert!(glob_match(b"a*b*c", b"axxbyyc"));
        assert!(!glob_match(b"a*b*c", b"axxbyy"));
    }
}
