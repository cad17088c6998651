//! Classification pipelines as typed chains of the building blocks of docs/analysis.md §3, and the 40 built-in
//! pipelines of docs/analysis.md §4 with the reference tool's `method` strings.
//!
//! A pipeline starts from the tensor (`prep`, docs/analysis.md §2). It is either a matrix chain — reduce over the
//! checkpoints ([`Reduce`]), any number of matrix normalizations ([`MatNorm`]), and a terminal step on the
//! matrix ([`MatrixEnd`]) — or one of the tensor-level steps ([`TensorStep`]: foldings with a clusterer, the
//! `median_rowl2sq_mad` and `majority_mad` coordinate splits). The types make ill-formed chains (a vector
//! normalized as a matrix, two terminal steps, …) unrepresentable; [`Chain::from_steps`] parses a chain
//! written as step names (the `--pipelines-file` format) and says what was expected where it fails.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::error::AnalyzeError;
use crate::files::{Origin, Source};

/// Tensor → matrix (`C × K`): reduce over the checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reduce {
    /// The median over checkpoints (NumPy semantics).
    Median,
    /// The last checkpoint.
    Last,
}

/// Matrix → matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatNorm {
    /// `x / (Σ_k x + 1e-8)` per row (the signed sum).
    RowsL1,
    /// `x / (sqrt(Σ_c x²) + 1e-8)` per column.
    ColsL2,
}

/// Matrix → vector (one value per coordinate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowReduce {
    /// `Σ_k x²`.
    L2sq,
    /// `sqrt(Σ_k x²)`.
    L2,
    /// `Σ_k |x|`.
    L1,
}

/// Joint bipartitions of a `C × K` matrix: a coordinate split and two component groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JointSplit {
    /// Dhillon's bipartite spectral co-clustering with a 1-D optimal 2-means split
    /// (`bipartition_Dh_normalizeFalse`).
    Dhillon,
    /// Spectral biclustering `(2,2)`, `log`, fixed seed (`bipartition_spectral`).
    Spectral2x2,
    /// Coordinates by `mad(rows_l1(M))`, components by `svd_sign(M)`.
    L1MadSvdSign,
}

/// The terminal step of a matrix chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatrixEnd {
    /// Split coordinates and components together.
    Joint(JointSplit),
    /// Components by the sign of the first right singular vector (`svd_sign`).
    SvdSign,
    /// Reduce each row to a number, then split the coordinates by MAD.
    RowsMad(RowReduce),
}

/// A clusterer of the coordinate folding `fold_coords(|X|)` (3 groups; the outliers are the group whose
/// diagonal block has the largest mean).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Clusterer {
    /// Spectral co-clustering (Dhillon 2001).
    SpCo,
    /// Ward agglomerative clustering.
    Agg,
    /// Spectral biclustering, `log` normalization.
    SpBiLog,
    /// Spectral biclustering, `bistochastic` normalization.
    SpBiBistoch,
}

impl Clusterer {
    /// All clusterers, in the reference order.
    pub const ALL: [Clusterer; 4] = [Clusterer::SpCo, Clusterer::Agg, Clusterer::SpBiLog, Clusterer::SpBiBistoch];

    /// The reference name (`SpCo`, `Agg`, `SpBi-log`, `SpBi-bistoch`).
    pub fn name(self) -> &'static str {
        match self {
            Clusterer::SpCo => "SpCo",
            Clusterer::Agg => "Agg",
            Clusterer::SpBiLog => "SpBi-log",
            Clusterer::SpBiBistoch => "SpBi-bistoch",
        }
    }

    /// Whether the clusterer draws random numbers (k-means restarts).
    pub fn is_random(self) -> bool {
        self != Clusterer::Agg
    }
}

/// The two families of clusterings of the coordinate folding `fold_coords(|X|)`: the same matrix, clustered
/// twice with independent random restarts (the reference tool gave the folding two names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CoordFolding {
    /// The first family (`folding200` in method strings).
    First,
    /// The second family (`folding100` in method strings).
    Second,
}

impl CoordFolding {
    /// Both families, in the reference order.
    pub const ALL: [CoordFolding; 2] = [CoordFolding::First, CoordFolding::Second];

    /// The reference name: `folding200` or `folding100`.
    pub fn name(self) -> &'static str {
        match self {
            CoordFolding::First => "folding200",
            CoordFolding::Second => "folding100",
        }
    }
}

/// The component foldings, each followed by spectral biclustering `(3,3)` of `sign(M)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CompFolding {
    /// `fold_comps` of the selected coordinates after dividing each `(t,k)` fibre by its L2 norm over those
    /// coordinates (`folding122` in method strings).
    SelectedCoordsL2,
    /// `fold_comps` of all coordinates after dividing each `(c,k)` fibre by its L2 norm over the checkpoints
    /// (`folding022` in method strings).
    CkptsL2,
}

impl CompFolding {
    /// Both foldings, in the reference order.
    pub const ALL: [CompFolding; 2] = [CompFolding::SelectedCoordsL2, CompFolding::CkptsL2];

    /// The reference name: `folding122+biclustering(3,3)` or `folding022+biclustering(3,3)`.
    pub fn name(self) -> &'static str {
        match self {
            CompFolding::SelectedCoordsL2 => "folding122+biclustering(3,3)",
            CompFolding::CkptsL2 => "folding022+biclustering(3,3)",
        }
    }
}

/// Steps that take the whole tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TensorStep {
    /// `mad(Σ_k (median_t X)²)`.
    MedianRowL2sqMad,
    /// `S = Σ_k X`; per checkpoint flag `mad_abs > 3.5` over coordinates; outlier when flagged in more than
    /// half of the checkpoints.
    MajorityMad,
    /// Coordinates by a clusterer of `fold_coords(|X|)`.
    FoldCoords(CoordFolding, Clusterer),
    /// Components by a component folding + biclustering, on all coordinates.
    FoldComps(CompFolding),
    /// Coordinates by a clusterer of `fold_coords(|X|)`, then components by a component folding:
    /// [`CompFolding::SelectedCoordsL2`] of the outlier coordinates only, [`CompFolding::CkptsL2`] of all.
    FoldBoth(CompFolding, CoordFolding, Clusterer),
}

/// What one instruction of the reference tool takes and gives. The reference names an instruction's function
/// by it: `_inp` and the axes of its input, then `_data` and the axes of the data it gives or `_out` and the
/// axes it splits into groups; the axes are (coordinates, checkpoints, components), `1` present, `0` not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepShape {
    /// Tensor → `C × K` matrix.
    TensorToMatrix,
    /// Matrix → matrix.
    MatrixToMatrix,
    /// Matrix → one number per coordinate.
    MatrixToVector,
    /// Vector → coordinate split.
    VectorToCoords,
    /// Matrix → component groups.
    MatrixToComps,
    /// Matrix → coordinate split and component groups.
    MatrixToBoth,
    /// Tensor → coordinate split.
    TensorToCoords,
    /// Tensor → component groups.
    TensorToComps,
    /// Tensor → coordinate split and component groups.
    TensorToBoth,
}

impl StepShape {
    /// The reference's function name (in method strings).
    fn code(self) -> &'static str {
        match self {
            StepShape::TensorToMatrix => "_inp111_data101",
            StepShape::MatrixToMatrix => "_inp101_data101",
            StepShape::MatrixToVector => "_inp101_data100",
            StepShape::VectorToCoords => "_inp100_out100",
            StepShape::MatrixToComps => "_inp101_out001",
            StepShape::MatrixToBoth => "_inp101_out101",
            StepShape::TensorToCoords => "_inp111_out100",
            StepShape::TensorToComps => "_inp111_out001",
            StepShape::TensorToBoth => "_inp111_out101",
        }
    }
}

/// A classification pipeline: a typed chain from the tensor to a groups record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Chain {
    /// Tensor → matrix → matrix* → terminal.
    Matrix {
        /// Tensor → matrix.
        reduce: Reduce,
        /// Matrix → matrix steps, in order.
        norms: Vec<MatNorm>,
        /// The terminal step.
        end: MatrixEnd,
    },
    /// A tensor-level step.
    Tensor(TensorStep),
}

impl Chain {
    /// Whether the pipeline splits the coordinates.
    pub fn gives_coords(&self) -> bool {
        match self {
            Chain::Matrix { end, .. } => !matches!(end, MatrixEnd::SvdSign),
            Chain::Tensor(t) => !matches!(t, TensorStep::FoldComps(_)),
        }
    }

    /// Whether the pipeline gives component groups.
    pub fn gives_comps(&self) -> bool {
        match self {
            Chain::Matrix { end, .. } => !matches!(end, MatrixEnd::RowsMad(_)),
            Chain::Tensor(t) => matches!(t, TensorStep::FoldComps(_) | TensorStep::FoldBoth(..)),
        }
    }

    /// The reference source of the pipeline's result: `TCI-comps-coords`, `TCI-comps` or `TCI-coords`.
    pub fn source(&self) -> Source {
        Source::new(match (self.gives_coords(), self.gives_comps()) {
            (true, true) => Origin::TciCompsCoords,
            (false, true) => Origin::TciComps,
            _ => Origin::TciCoords,
        })
    }

    /// The `(function, method)` pairs of the reference tool's instruction list.
    fn instructions(&self) -> Vec<(StepShape, String)> {
        match self {
            Chain::Matrix { reduce, norms, end } => {
                let mut v = vec![(
                    StepShape::TensorToMatrix,
                    match reduce {
                        Reduce::Median => "median",
                        Reduce::Last => "last",
                    }
                    .to_string(),
                )];
                for n in norms {
                    let m = match n {
                        MatNorm::RowsL1 => "normalize_rows_byL1",
                        MatNorm::ColsL2 => "normalize_cols_byL2",
                    };
                    v.push((StepShape::MatrixToMatrix, m.to_string()));
                }
                match end {
                    MatrixEnd::Joint(j) => {
                        let m = match j {
                            JointSplit::Dhillon => "bipartition_Dh_normalizeFalse",
                            JointSplit::Spectral2x2 => "bipartition_spectral",
                            JointSplit::L1MadSvdSign => "coords:L1-MAD/comps:svd-sign",
                        };
                        v.push((StepShape::MatrixToBoth, m.to_string()));
                    }
                    MatrixEnd::SvdSign => v.push((StepShape::MatrixToComps, "svd-sign".to_string())),
                    MatrixEnd::RowsMad(r) => {
                        let m = match r {
                            RowReduce::L2sq => "rows_L2sq",
                            RowReduce::L2 => "rows_L2",
                            RowReduce::L1 => "rows_L1",
                        };
                        v.push((StepShape::MatrixToVector, m.to_string()));
                        v.push((StepShape::VectorToCoords, "MAD".to_string()));
                    }
                }
                v
            }
            Chain::Tensor(t) => vec![match t {
                TensorStep::MedianRowL2sqMad => (StepShape::TensorToCoords, "median-dim1/rowL2sq/MAD".to_string()),
                TensorStep::MajorityMad => (StepShape::TensorToCoords, "2MAD-3majority-1sum".to_string()),
                TensorStep::FoldCoords(f, c) => (StepShape::TensorToCoords, format!("{}:{}", f.name(), c.name())),
                TensorStep::FoldComps(f) => (StepShape::TensorToComps, f.name().to_string()),
                TensorStep::FoldBoth(cf, f, c) => {
                    (StepShape::TensorToBoth, format!("{}/{}:{}", cf.name(), f.name(), c.name()))
                }
            }],
        }
    }

    /// The reference tool's instruction string, e.g.
    /// `instructions[(_inp111_data101, median), (_inp101_out101, bipartition_spectral)]`.
    pub fn method(&self) -> String {
        let parts: Vec<String> = self.instructions().into_iter().map(|(f, m)| format!("({}, {m})", f.code())).collect();
        format!("instructions[{}]", parts.join(", "))
    }

    /// A short name made of the step names of docs/analysis.md §3, e.g. `median>rows_l1_normalize>dhillon` or
    /// `folding122+biclustering(3,3)/folding200:SpCo` (what `--pipelines` globs match, with the method string).
    pub fn short_name(&self) -> String {
        match self {
            Chain::Matrix { reduce, norms, end } => {
                let mut v = vec![match reduce {
                    Reduce::Median => "median",
                    Reduce::Last => "last",
                }];
                for n in norms {
                    v.push(match n {
                        MatNorm::RowsL1 => "rows_l1_normalize",
                        MatNorm::ColsL2 => "cols_l2_normalize",
                    });
                }
                match end {
                    MatrixEnd::Joint(JointSplit::Dhillon) => v.push("dhillon"),
                    MatrixEnd::Joint(JointSplit::Spectral2x2) => v.push("spectral_2x2"),
                    MatrixEnd::Joint(JointSplit::L1MadSvdSign) => v.push("l1mad_svdsign"),
                    MatrixEnd::SvdSign => v.push("svd_sign"),
                    MatrixEnd::RowsMad(r) => {
                        v.push(match r {
                            RowReduce::L2sq => "rows_l2sq",
                            RowReduce::L2 => "rows_l2",
                            RowReduce::L1 => "rows_l1",
                        });
                        v.push("mad");
                    }
                }
                v.join(">")
            }
            Chain::Tensor(TensorStep::MedianRowL2sqMad) => "median_rowl2sq_mad".into(),
            Chain::Tensor(TensorStep::MajorityMad) => "majority_mad".into(),
            Chain::Tensor(t) => {
                self.instructions().into_iter().next().map(|(_, m)| m).unwrap_or_else(|| format!("{t:?}"))
            }
        }
    }

    /// Parse a chain from step names (the `--pipelines-file` format). Matrix chains: `median` or `last`, then any
    /// of `rows_l1_normalize`, `cols_l2_normalize`, then one of `dhillon`, `spectral_2x2`, `l1mad_svdsign`,
    /// `svd_sign`, or `rows_l2sq`/`rows_l2`/`rows_l1` followed by `mad`. Tensor steps stand alone:
    /// `median_rowl2sq_mad`, `majority_mad`, `folding200:SpCo` (any of `folding200`/`folding100` with `SpCo`,
    /// `Agg`, `SpBi-log`, `SpBi-bistoch`), `folding122+biclustering(3,3)`, `folding022+biclustering(3,3)`, and
    /// their combination `folding122+biclustering(3,3)/folding200:SpCo`.
    pub fn from_steps<S: AsRef<str>>(steps: &[S]) -> Result<Chain, AnalyzeError> {
        let steps: Vec<&str> = steps.iter().map(|s| s.as_ref().trim()).collect();
        let bad = |msg: String| AnalyzeError::InvalidOption(format!("pipeline [{}]: {msg}", steps.join(", ")));
        let Some((&first, rest)) = steps.split_first() else {
            return Err(bad("no steps; a pipeline starts with `median`, `last` or a tensor step".into()));
        };
        let reduce = match first {
            "median" => Reduce::Median,
            "last" => Reduce::Last,
            other => {
                let t = parse_tensor_step(other).ok_or_else(|| {
                    bad(format!(
                        "unknown first step `{other}`: expected `median`, `last`, `median_rowl2sq_mad`, `majority_mad`, \
                         `folding200:<clusterer>`, `folding100:<clusterer>`, `folding122+biclustering(3,3)`, \
                         `folding022+biclustering(3,3)` or `<comp folding>/<coord folding>:<clusterer>`"
                    ))
                })?;
                if !rest.is_empty() {
                    return Err(bad(format!("`{other}` is a complete pipeline; nothing may follow it")));
                }
                return Ok(Chain::Tensor(t));
            }
        };
        let mut norms = Vec::new();
        let mut i = 0;
        while i < rest.len() {
            match rest[i] {
                "rows_l1_normalize" => norms.push(MatNorm::RowsL1),
                "cols_l2_normalize" => norms.push(MatNorm::ColsL2),
                _ => break,
            }
            i += 1;
        }
        let tail = &rest[i..];
        let end = match tail {
            ["dhillon"] => MatrixEnd::Joint(JointSplit::Dhillon),
            ["spectral_2x2"] => MatrixEnd::Joint(JointSplit::Spectral2x2),
            ["l1mad_svdsign"] => MatrixEnd::Joint(JointSplit::L1MadSvdSign),
            ["svd_sign"] => MatrixEnd::SvdSign,
            ["rows_l2sq", "mad"] => MatrixEnd::RowsMad(RowReduce::L2sq),
            ["rows_l2", "mad"] => MatrixEnd::RowsMad(RowReduce::L2),
            ["rows_l1", "mad"] => MatrixEnd::RowsMad(RowReduce::L1),
            [] => return Err(bad("the matrix chain has no terminal step: end with `dhillon`, `spectral_2x2`, `l1mad_svdsign`, `svd_sign` or `rows_l2sq`/`rows_l2`/`rows_l1` then `mad`".into())),
            [r @ ("rows_l2sq" | "rows_l2" | "rows_l1")] => {
                return Err(bad(format!("`{r}` gives a vector: follow it with `mad`")))
            }
            [s, ..] => {
                return Err(bad(format!(
                    "`{s}` cannot follow a matrix here: expected `rows_l1_normalize`, `cols_l2_normalize`, `dhillon`, \
                     `spectral_2x2`, `l1mad_svdsign`, `svd_sign`, or `rows_l2sq`/`rows_l2`/`rows_l1` then `mad`, and \
                     nothing after the terminal step"
                )))
            }
        };
        Ok(Chain::Matrix { reduce, norms, end })
    }
}

fn parse_clusterer(s: &str) -> Option<Clusterer> {
    Clusterer::ALL.into_iter().find(|c| c.name() == s)
}

fn parse_coord_folding(s: &str) -> Option<(CoordFolding, Clusterer)> {
    let (f, c) = s.split_once(':')?;
    let f = CoordFolding::ALL.into_iter().find(|x| x.name() == f)?;
    Some((f, parse_clusterer(c)?))
}

fn parse_comp_folding(s: &str) -> Option<CompFolding> {
    CompFolding::ALL.into_iter().find(|x| x.name() == s)
}

fn parse_tensor_step(s: &str) -> Option<TensorStep> {
    match s {
        "median_rowl2sq_mad" | "median-dim1/rowL2sq/MAD" => return Some(TensorStep::MedianRowL2sqMad),
        "majority_mad" | "2MAD-3majority-1sum" => return Some(TensorStep::MajorityMad),
        _ => {}
    }
    if let Some(cf) = parse_comp_folding(s) {
        return Some(TensorStep::FoldComps(cf));
    }
    if let Some((a, b)) = s.split_once('/') {
        let (f, c) = parse_coord_folding(b)?;
        return Some(TensorStep::FoldBoth(parse_comp_folding(a)?, f, c));
    }
    parse_coord_folding(s).map(|(f, c)| TensorStep::FoldCoords(f, c))
}

/// A named pipeline: a chain and its `method` string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pipeline {
    /// 1-based position in the run (1..=40 for the built-ins, then the extra ones).
    pub index: usize,
    /// The chain of steps.
    pub chain: Chain,
    /// The experiment `method` string (the reference instruction string for built-ins).
    pub method: String,
}

impl Pipeline {
    /// The pipeline's name for selection and display (see [`Chain::short_name`]).
    pub fn name(&self) -> String {
        self.chain.short_name()
    }

    /// Whether a `--pipelines` selection picks this pipeline: a glob matches its short name, its method string, or
    /// its 1-based index.
    pub fn matches(&self, sel: &ccc_core::ComponentPattern) -> bool {
        sel.matches(&self.name()) || sel.matches(&self.method) || sel.matches(&self.index.to_string())
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>2} {}", self.index, self.name())
    }
}

/// The 40 classification pipelines of docs/analysis.md §4, in order.
pub fn builtin() -> Vec<Pipeline> {
    use Chain::{Matrix, Tensor};
    let mut chains = Vec::with_capacity(40);
    // 1–16.
    for f in CoordFolding::ALL {
        for cf in CompFolding::ALL {
            for c in Clusterer::ALL {
                chains.push(Tensor(TensorStep::FoldBoth(cf, f, c)));
            }
        }
    }
    let m = |reduce, norms: &[MatNorm], end| Matrix { reduce, norms: norms.to_vec(), end };
    // 17–21.
    chains.push(m(Reduce::Median, &[], MatrixEnd::Joint(JointSplit::L1MadSvdSign)));
    chains.push(m(Reduce::Last, &[MatNorm::RowsL1], MatrixEnd::Joint(JointSplit::Dhillon)));
    chains.push(m(Reduce::Last, &[], MatrixEnd::Joint(JointSplit::Spectral2x2)));
    chains.push(m(Reduce::Median, &[MatNorm::RowsL1], MatrixEnd::Joint(JointSplit::Dhillon)));
    chains.push(m(Reduce::Median, &[], MatrixEnd::Joint(JointSplit::Spectral2x2)));
    // 22–32.
    chains.push(Tensor(TensorStep::MedianRowL2sqMad));
    chains.push(Tensor(TensorStep::MajorityMad));
    for f in CoordFolding::ALL {
        for c in Clusterer::ALL {
            chains.push(Tensor(TensorStep::FoldCoords(f, c)));
        }
    }
    chains.push(m(Reduce::Median, &[], MatrixEnd::RowsMad(RowReduce::L2sq)));
    // 33–40.
    chains.push(Tensor(TensorStep::FoldComps(CompFolding::SelectedCoordsL2)));
    chains.push(Tensor(TensorStep::FoldComps(CompFolding::CkptsL2)));
    for r in [Reduce::Last, Reduce::Median] {
        for n in [&[][..], &[MatNorm::RowsL1][..], &[MatNorm::ColsL2][..]] {
            chains.push(m(r, n, MatrixEnd::SvdSign));
        }
    }
    chains.into_iter().enumerate().map(|(i, chain)| Pipeline { index: i + 1, method: chain.method(), chain }).collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    #[serde(default)]
    pipeline: Vec<PipelineEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineEntry {
    steps: Vec<String>,
    #[serde(default)]
    method: Option<String>,
}

/// Parse extra pipelines from TOML text:
///
/// ```toml
/// [[pipeline]]
/// steps = ["median", "cols_l2_normalize", "dhillon"]
///
/// [[pipeline]]
/// steps = ["folding022+biclustering(3,3)/folding100:Agg"]
/// method = "my-favourite"   # optional; defaults to the reference-style instruction string
/// ```
///
/// The pipelines are numbered from `first_index`.
pub fn parse_pipelines_toml(text: &str, first_index: usize) -> Result<Vec<Pipeline>, AnalyzeError> {
    let file: PipelineFile =
        toml::from_str(text).map_err(|e| AnalyzeError::InvalidOption(format!("pipelines file: {e}")))?;
    file.pipeline
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let chain = Chain::from_steps(&e.steps)?;
            let method = e.method.unwrap_or_else(|| chain.method());
            Ok(Pipeline { index: first_index + i, chain, method })
        })
        .collect()
}

/// Read extra pipelines from a TOML file (see [`parse_pipelines_toml`]).
pub fn read_pipelines_file(path: &Path, first_index: usize) -> Result<Vec<Pipeline>, AnalyzeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AnalyzeError::InvalidOption(format!("cannot read pipelines file {}: {e}", path.display())))?;
    parse_pipelines_toml(&text, first_index)
        .map_err(|e| AnalyzeError::InvalidOption(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_with_reference_strings() {
        let b = builtin();
        assert_eq!(b.len(), 40);
        assert_eq!(b[0].method, "instructions[(_inp111_out101, folding122+biclustering(3,3)/folding200:SpCo)]");
        assert_eq!(b[7].method, "instructions[(_inp111_out101, folding022+biclustering(3,3)/folding200:SpBi-bistoch)]");
        assert_eq!(
            b[17].method,
            "instructions[(_inp111_data101, last), (_inp101_data101, normalize_rows_byL1), (_inp101_out101, bipartition_Dh_normalizeFalse)]"
        );
        assert_eq!(b[21].method, "instructions[(_inp111_out100, median-dim1/rowL2sq/MAD)]");
        assert_eq!(
            b[31].method,
            "instructions[(_inp111_data101, median), (_inp101_data100, rows_L2sq), (_inp100_out100, MAD)]"
        );
        assert_eq!(b[39].method, "instructions[(_inp111_data101, median), (_inp101_data101, normalize_cols_byL2), (_inp101_out001, svd-sign)]");
        let sources: Vec<String> = b.iter().map(|p| p.chain.source().to_string()).collect();
        assert!(sources[..21].iter().all(|s| *s == "TCI-comps-coords"));
        assert!(sources[21..32].iter().all(|s| *s == "TCI-coords"));
        assert!(sources[32..].iter().all(|s| *s == "TCI-comps"));
    }

    #[test]
    fn parse_round_trips_builtins() {
        for p in builtin() {
            let steps: Vec<String> = match &p.chain {
                Chain::Tensor(_) => vec![p.name()],
                Chain::Matrix { .. } => p.name().split('>').map(str::to_string).collect(),
            };
            assert_eq!(Chain::from_steps(&steps).unwrap(), p.chain, "{}", p.name());
        }
    }

    #[test]
    fn parse_rejects_ill_typed_chains() {
        for bad in [
            &["median", "mad"][..],
            &["median"],
            &["rows_l1_normalize", "dhillon"],
            &["median", "rows_l2sq"],
            &["median", "svd_sign", "dhillon"],
            &["majority_mad", "mad"],
            &["folding300:SpCo"],
            &[],
        ] {
            assert!(Chain::from_steps(bad).is_err(), "{bad:?}");
        }
        let msg = Chain::from_steps(&["median", "rows_l2"]).unwrap_err().to_string();
        assert!(msg.contains("follow it with `mad`"), "{msg}");
    }

    #[test]
    fn toml_file() {
        let p = parse_pipelines_toml(
            "[[pipeline]]\nsteps = [\"median\", \"cols_l2_normalize\", \"dhillon\"]\n\n[[pipeline]]\nsteps = [\"majority_mad\"]\nmethod = \"mine\"\n",
            41,
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].index, 41);
        assert_eq!(p[0].chain.source().to_string(), "TCI-comps-coords");
        assert_eq!(p[1].method, "mine");
        assert!(parse_pipelines_toml("[[pipeline]]\nstep = []\n", 41).is_err());
    }

    #[test]
    fn selection_globs() {
        let sel = ccc_core::ComponentPattern::parse("folding*").unwrap();
        let n = builtin().iter().filter(|p| p.matches(&sel)).count();
        assert_eq!(n, 16 + 8 + 2);
        let sel = ccc_core::ComponentPattern::parse("17,*dhillon").unwrap();
        assert_eq!(builtin().iter().filter(|p| p.matches(&sel)).count(), 3);
    }
}
