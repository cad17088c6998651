//! The interactive HTML report of an analysis output directory: one self-contained, offline page.
//!
//! [`write_report`] reads what `ccc analyze` wrote into a directory — `experiments.json`, `summary.json` and, when
//! figures were rendered, `figures/index.json` with the figure files — and writes `report.html` next to them:
//!
//! - a header with the model, architecture, mode, shape, steps, seed, options and run time;
//! - the scores scatter (irregularity × fraction), drawn in the browser: hovering a point shows its experiment,
//!   clicking opens its trajectory sheet, the legend toggles sources;
//! - the experiments table: sortable by each score and by their sum, filterable by source and by a text search
//!   over the methods, with lazily loaded thumbnails; a row opens the full sheet in a viewer;
//! - the consensus: the coordinates most often called outliers, and the components' group frequencies on the
//!   layer × head grid;
//! - the per-run summary figures.
//!
//! The page needs no server and no network: styles and scripts are inline, the data is embedded as JSON, and
//! figures are referenced relative to the output directory — or inlined as `data:` URIs with
//! [`ReportOptions::standalone`], so that the single file can be mailed around. Every piece but
//! `experiments.json` may be missing (e.g. `--figures none`): the report then shows what there is.
//!
//! ```no_run
//! use std::path::Path;
//! use ccc_figures::report::{write_report, ReportOptions};
//!
//! let path = write_report(Path::new("out"), &ReportOptions::default())?;
//! assert!(path.ends_with("report.html"));
//! # Ok::<(), ccc_figures::report::ReportError>(())
//! ```

mod grid;
mod html;
mod input;
mod live;
mod page;
mod search;

use std::path::{Path, PathBuf};

pub use live::{render_live_report, write_live_report};
pub use page::render_report;

/// How the report is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportOptions {
    /// Inline every figure as a base64 `data:` URI, so `report.html` works on its own (a much larger file).
    /// Otherwise figures are referenced relative to the output directory.
    pub standalone: bool,
}

/// What can go wrong while writing a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The directory holds no `experiments.json`.
    #[error("`{}` has no experiments.json: run `ccc analyze FILE -o {}` first", dir.display(), dir.display())]
    NotAnAnalysis {
        /// The directory.
        dir: PathBuf,
    },
    /// Reading an input file (or a figure to inline) failed.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An analysis file cannot be read or is not of its format (names the file and the field).
    #[error(transparent)]
    File(#[from] ccc_analyze::FilesError),
    /// The report's embedded data cannot be encoded.
    #[error("`{}` is not a valid analysis output: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// Writing `report.html` failed.
    #[error(transparent)]
    Write(#[from] ccc_core::CoreError),
}

/// Write `out_dir/report.html` (atomically) from the analysis outputs in `out_dir`; returns its path.
///
/// # Errors
/// [`ReportError::NotAnAnalysis`] when `out_dir` has no `experiments.json`; [`ReportError::File`] when an analysis
/// file cannot be read or is not of its format (naming the file and the field); I/O errors naming the file.
pub fn write_report(out_dir: &Path, opts: &ReportOptions) -> Result<PathBuf, ReportError> {
    let page = render_report(out_dir, opts)?;
    let path = out_dir.join("report.html");
    ccc_core::atomic::write_bytes_atomic(&path, page.as_bytes())?;
    Ok(path)
}
