//! Reading an analysis output directory for the report: `experiments.json`, and `summary.json` and
//! `figures/index.json` when present — all through their owner types in `ccc_analyze::files`.
//!
//! Whole files may be missing (a report can be written for any directory with an `experiments.json`, e.g. with
//! `--figures none`); a file that is present must be of its format.

use std::path::{Component as PathComponent, Path};

use ccc_analyze::files::{AnalysisFile, ExperimentRecord, ExperimentsFile, FigureIndex, SearchFile, SummaryFile};

use super::ReportError;

/// Everything the report is built from.
#[derive(Debug, Clone)]
pub(crate) struct Inputs {
    pub experiments: Vec<ExperimentRecord>,
    pub summary: Option<SummaryFile>,
    pub figures: FigureIndex,
    /// `search.json`, when `ccc search` ran on this directory.
    pub search: Option<SearchFile>,
}

impl Inputs {
    /// Read the inputs of `out_dir`. `experiments.json` is required; the summary and the figures are optional.
    pub fn read(out_dir: &Path) -> Result<Self, ReportError> {
        if !ExperimentsFile::path_in(out_dir).is_file() {
            return Err(ReportError::NotAnAnalysis { dir: out_dir.to_path_buf() });
        }
        let experiments = ExperimentsFile::read(out_dir)?.experiments;
        let summary = SummaryFile::read_if_present(out_dir)?;
        let mut figures = FigureIndex::read_if_present(out_dir)?.unwrap_or_default();
        // Keep only figure files that are inside `figures/` and exist: a broken image is worse than none.
        let figures_dir = out_dir.join(ccc_analyze::files::FIGURES_DIR);
        let keep = |p: &mut Option<String>| {
            if let Some(rel) = p.as_deref() {
                if !is_safe_relative(rel) || !figures_dir.join(rel).is_file() {
                    *p = None;
                }
            }
        };
        for s in &mut figures.sheets {
            keep(&mut s.png);
            keep(&mut s.svg);
            keep(&mut s.thumb);
        }
        for r in &mut figures.run {
            keep(&mut r.png);
            keep(&mut r.svg);
        }
        figures.run.retain(|r| r.png.is_some() || r.svg.is_some());
        let search = SearchFile::read_if_present(out_dir)?;
        Ok(Inputs { experiments, summary, figures, search })
    }
}

/// Whether `rel` is a plain relative path that stays inside its base directory (no root, no `..`).
pub(crate) fn is_safe_relative(rel: &str) -> bool {
    let p = Path::new(rel);
    !rel.is_empty() && !rel.contains('\\') && p.components().all(|c| matches!(c, PathComponent::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_relative_paths() {
        assert!(is_safe_relative("sheets/0000-a.png"));
        assert!(!is_safe_relative("../x.png"));
        assert!(!is_safe_relative("/etc/passwd"));
        assert!(!is_safe_relative("sheets/../../x.png"));
        assert!(!is_safe_relative(""));
        assert!(!is_safe_relative("a\\..\\b"));
    }
}
