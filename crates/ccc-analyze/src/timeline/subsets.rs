//! Component subsets (docs/timeline.md §3): `--component-subsets attention,mlp,L0-5,'L*.H*.Q'` parsed into typed
//! subsets, resolved against a tensor's components, and the tensor restricted to one.

use std::fmt;
use std::str::FromStr;

use ccc_core::{CccTensor, Component, ComponentKind, ComponentPattern};

use crate::error::AnalyzeError;

/// A family of component kinds that a subset can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KindFamily {
    /// Q, K, V and O of every head.
    Attention,
    /// The MLP matrices (`mlp_in`, `mlp_out`).
    Mlp,
    /// The norm gains (`ln_1`, `ln_2`).
    Norms,
    /// The embeddings (`emb_in`, `emb_out`).
    Embeddings,
}

impl KindFamily {
    const ALL: [KindFamily; 4] = [KindFamily::Attention, KindFamily::Mlp, KindFamily::Norms, KindFamily::Embeddings];

    /// The name used in `--component-subsets`.
    pub fn name(self) -> &'static str {
        match self {
            KindFamily::Attention => "attention",
            KindFamily::Mlp => "mlp",
            KindFamily::Norms => "norms",
            KindFamily::Embeddings => "embeddings",
        }
    }

    /// Whether a kind belongs to the family.
    pub fn contains(self, k: ComponentKind) -> bool {
        use ComponentKind::*;
        match self {
            KindFamily::Attention => matches!(k, Q | K | V | O),
            KindFamily::Mlp => matches!(k, MlpIn | MlpOut),
            KindFamily::Norms => matches!(k, Ln1 | Ln2),
            KindFamily::Embeddings => matches!(k, EmbIn | EmbOut),
        }
    }
}

/// One named subset of components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentSubset {
    /// Every component of a kind family.
    Kind(KindFamily),
    /// Every per-layer component of layers `first..=last` (`L0-5`, `L3`).
    Layers {
        /// First layer.
        first: usize,
        /// Last layer (included).
        last: usize,
    },
    /// Components whose names match a glob (`L*.H*.Q`, `emb_*`).
    Glob(String),
}

impl fmt::Display for ComponentSubset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComponentSubset::Kind(k) => f.write_str(k.name()),
            ComponentSubset::Layers { first, last } if first == last => write!(f, "L{first}"),
            ComponentSubset::Layers { first, last } => write!(f, "L{first}-{last}"),
            ComponentSubset::Glob(g) => f.write_str(g),
        }
    }
}

impl FromStr for ComponentSubset {
    type Err = AnalyzeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(AnalyzeError::InvalidOption("an empty component subset".into()));
        }
        if let Some(k) = KindFamily::ALL.into_iter().find(|k| k.name() == s) {
            return Ok(ComponentSubset::Kind(k));
        }
        // `L0-5` or `L3` (digits only after the `L`): a layer range; anything else is a glob.
        if let Some(rest) = s.strip_prefix('L') {
            let (a, b) = rest.split_once('-').unwrap_or((rest, rest));
            if let (Ok(first), Ok(last)) = (a.parse::<usize>(), b.parse::<usize>()) {
                if last < first {
                    return Err(AnalyzeError::InvalidOption(format!(
                        "component subset `{s}`: the layer range runs backwards (write `L{last}-{first}`)"
                    )));
                }
                return Ok(ComponentSubset::Layers { first, last });
            }
        }
        Ok(ComponentSubset::Glob(s.to_string()))
    }
}

/// Parse a comma-separated list of subsets (at least one; no duplicates).
pub fn parse_subsets(s: &str) -> Result<Vec<ComponentSubset>, AnalyzeError> {
    let v: Vec<ComponentSubset> = s.split(',').map(str::parse).collect::<Result<_, _>>()?;
    for (i, a) in v.iter().enumerate() {
        if v[..i].contains(a) {
            return Err(AnalyzeError::InvalidOption(format!("component subset `{a}` is listed twice")));
        }
    }
    Ok(v)
}

impl ComponentSubset {
    /// Whether a component belongs to the subset.
    pub fn contains(&self, c: &Component) -> bool {
        match self {
            ComponentSubset::Kind(k) => k.contains(c.kind),
            ComponentSubset::Layers { first, last } => c.layer.is_some_and(|l| (*first..=*last).contains(&l)),
            ComponentSubset::Glob(g) => ComponentPattern::parse(g).is_ok_and(|p| p.matches(&c.name())),
        }
    }

    /// The indices of the subset's components; errors when fewer than two (two groups need two components).
    pub fn resolve(&self, components: &[Component]) -> Result<Vec<usize>, AnalyzeError> {
        let idx: Vec<usize> = (0..components.len()).filter(|&k| self.contains(&components[k])).collect();
        if idx.len() < 2 {
            return Err(AnalyzeError::InvalidOption(format!(
                "component subset `{self}` holds {} component(s) of this tensor; a subset needs at least 2 (see \
                 the component names with `ccc info`)",
                idx.len()
            )));
        }
        Ok(idx)
    }
}

/// The tensor restricted to the components `keep` (ascending positions).
pub fn select_components(t: &CccTensor, keep: &[usize]) -> CccTensor {
    let k_all = t.n_comp();
    let n_t = t.n_ckpt();
    let mut mags = Vec::with_capacity(t.n_coord * n_t * keep.len());
    for row in t.mags.chunks_exact(k_all.max(1)) {
        mags.extend(keep.iter().map(|&k| row[k]));
    }
    let mut meta = t.meta.clone();
    meta.components = keep.iter().map(|&k| t.meta.components[k]).collect();
    CccTensor {
        meta,
        n_coord: t.n_coord,
        steps: t.steps.clone(),
        lengths: keep.iter().map(|&k| t.lengths[k]).collect(),
        filled: t.filled.clone(),
        mags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentKind::*;

    fn comps() -> Vec<Component> {
        Component::full_list(3, 2, 2, &[EmbIn, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2])
    }

    #[test]
    fn parses_kinds_layers_and_globs() {
        let v = parse_subsets("attention,mlp,L0-1,L2,L*.H*.Q").unwrap();
        assert_eq!(
            v,
            [
                ComponentSubset::Kind(KindFamily::Attention),
                ComponentSubset::Kind(KindFamily::Mlp),
                ComponentSubset::Layers { first: 0, last: 1 },
                ComponentSubset::Layers { first: 2, last: 2 },
                ComponentSubset::Glob("L*.H*.Q".into()),
            ]
        );
        assert_eq!(v[2].to_string(), "L0-1");
        assert!(parse_subsets("L5-2").unwrap_err().to_string().contains("backwards"));
        assert!(parse_subsets("mlp,mlp").unwrap_err().to_string().contains("twice"));
        assert!(parse_subsets("mlp,").is_err());
    }

    #[test]
    fn resolves_against_components() {
        let c = comps();
        let names = |s: &str| -> Vec<String> {
            s.parse::<ComponentSubset>().unwrap().resolve(&c).unwrap().iter().map(|&k| c[k].name()).collect()
        };
        assert_eq!(names("norms").len(), 6);
        assert_eq!(names("attention").len(), 3 * 2 * 4);
        assert!(names("L1").iter().all(|n| n.starts_with("L1.")));
        assert_eq!(names("L*.H*.Q").len(), 6);
        let e = "embeddings".parse::<ComponentSubset>().unwrap().resolve(&c).unwrap_err().to_string();
        assert!(e.contains("holds 1 component(s)"), "{e}");
    }
}
