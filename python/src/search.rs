//! `ccc.search`: the search of `ccc search` on a file or an opened tensor — its front and null comparison as the
//! bytes of `search.json` and `search.csv`, written (with the front's sheets) into an output directory on demand.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use ccc_analyze::files::{AnalysisFile, ExperimentsFile, SearchFile};
use ccc_analyze::search::verdict;
use ccc_analyze::{analysis_input, analyze, AnalyzeOptions, Budget, NullMethod, SearchOptions, SearchResult};
use ccc_core::{CccTensor, StepSelection};
use ccc_figures::report::{write_report, ReportOptions};
use pyo3::prelude::*;

use crate::analysis::NativeAnalysis;
use crate::errors::{invalid, one_line, to_py};
use crate::tensor::TensorArg;
use crate::work;

/// Where the start points come from.
enum Starts {
    /// The experiments of an analysis already made.
    Given(ExperimentsFile),
    /// The analysis runs first, with the search's seed and score options.
    Analyze,
}

/// The result of `ccc.search` (wrapped by `ccc.Search`).
#[pyclass(module = "ccc._ccc", name = "NativeSearch", frozen)]
pub struct NativeSearch(Arc<Inner>);

struct Inner {
    result: SearchResult,
    tensor: CccTensor,
    steps: StepSelection,
}

fn step_selection(steps: Option<&str>) -> PyResult<StepSelection> {
    match steps {
        Some(s) => s.parse().map_err(|e: ccc_core::CoreError| {
            invalid(format!("bad steps `{s}`: use e.g. `1000..143000`, `..20000`, `%10000` or `0,1000,2000`: {e}"))
        }),
        None => Ok(StepSelection::all()),
    }
}

/// A budget from Python: an evaluation count (`int`) or the text of `--budget` (`"60s"`, `"200000"`).
fn budget(obj: &Bound<'_, PyAny>) -> PyResult<Budget> {
    if let Ok(n) = obj.extract::<u64>() {
        return format!("{n}").parse().map_err(|e| to_py(&e));
    }
    let s: String = obj
        .extract()
        .map_err(|_| invalid("budget must be a number of evaluations (int) or a time such as \"60s\" (str)"))?;
    s.parse().map_err(|e| to_py(&e))
}

/// Search groupings with the best scores and compare them with null tensors (see `ccc.search`).
#[pyfunction]
#[pyo3(signature = (tensor, *, analysis=None, experiments_dir=None, seed=0, agg="sum", grid=100, steps=None,
    budget=None, nulls=3, null=None, random=100, random_starts=16, max_fraction=0.2, min_group=2,
    timings=true, out=None, figures=true, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn search(
    py: Python<'_>,
    tensor: &Bound<'_, PyAny>,
    analysis: Option<PyRef<'_, NativeAnalysis>>,
    experiments_dir: Option<PathBuf>,
    seed: u64,
    agg: &str,
    grid: usize,
    steps: Option<&str>,
    budget: Option<Bound<'_, PyAny>>,
    nulls: usize,
    null: Option<&str>,
    random: usize,
    random_starts: usize,
    max_fraction: f64,
    min_group: usize,
    timings: bool,
    out: Option<PathBuf>,
    figures: bool,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<NativeSearch> {
    let source = TensorArg::from_py(tensor)?;
    let defaults = SearchOptions::default();
    let opts = SearchOptions {
        seed,
        aggregation: agg.parse().map_err(|e| invalid(format!("bad agg `{agg}`: {e}")))?,
        grid,
        steps: step_selection(steps)?,
        steps_text: steps.unwrap_or("all").to_string(),
        budget: match &budget {
            Some(b) => self::budget(b)?,
            None => defaults.budget,
        },
        nulls,
        null_method: match null {
            Some(n) => n.parse::<NullMethod>().map_err(|e| to_py(&e))?,
            None => defaults.null_method,
        },
        random,
        random_starts,
        max_fraction,
        min_group,
        timings,
    };
    opts.validate().map_err(|e| invalid(format!("bad options: {}", one_line(&e))))?;
    let starts = match (analysis, experiments_dir) {
        (Some(a), _) => Starts::Given(a.experiments_file()),
        (None, Some(dir)) => Starts::Given(ExperimentsFile::read(&dir).map_err(|e| to_py(&e))?),
        (None, None) => Starts::Analyze,
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let inner = work::run_cancellable(py, progress.as_ref(), cancel, move |progress| {
        let tensor = source.load()?;
        let experiments = match starts {
            Starts::Given(e) => e,
            Starts::Analyze => {
                let a_opts = AnalyzeOptions {
                    seed: opts.seed,
                    aggregation: opts.aggregation,
                    grid: opts.grid,
                    steps: opts.steps.clone(),
                    steps_text: opts.steps_text.clone(),
                    timings: opts.timings,
                    ..AnalyzeOptions::default()
                };
                analyze(&tensor, &a_opts, progress)
                    .map_err(|e| invalid(format!("analyzing the tensor first: {}", one_line(&e))))?
                    .experiments_file()
            }
        };
        let result = ccc_analyze::search(&tensor, &experiments, &opts, progress, &flag)
            .map_err(|e| invalid(format!("searching: {}", one_line(&e))))?;
        let inner = Inner { result, tensor, steps: opts.steps };
        // Written here, on the work's thread, so that Ctrl-C (which stops the search early) still leaves the
        // best front so far in `out` before `KeyboardInterrupt` reaches the caller.
        if let Some(out) = &out {
            write_dir(&inner, out, figures)?;
        }
        Ok(inner)
    })?;
    Ok(NativeSearch(Arc::new(inner)))
}

fn text(bytes: Result<Vec<u8>, ccc_analyze::FilesError>) -> PyResult<String> {
    let b = bytes.map_err(|e| to_py(&e))?;
    String::from_utf8(b).map_err(|_| invalid("a search file is not UTF-8"))
}

/// Write `search.json`, `search.csv`, the front's sheets (with `figures`) and, when `out` has a report, its
/// Search section.
fn write_dir(inner: &Inner, out: &Path, figures: bool) -> PyResult<()> {
    std::fs::create_dir_all(out).map_err(|e| to_py(&e))?;
    inner.result.write_to(out).map_err(|e| to_py(&e))?;
    let file: &SearchFile = &inner.result.file;
    if figures {
        let t = analysis_input(&inner.tensor, &inner.steps).map_err(|e| to_py(&e))?;
        ccc_figures::search_sheets::render_search_sheets(out, &t, file, ccc_figures::Resolution::Screen)
            .map_err(|e| invalid(format!("drawing the front's sheets: {}", one_line(&e))))?;
    }
    if out.join("report.html").is_file() {
        write_report(out, &ReportOptions { standalone: false }).map_err(|e| to_py(&e))?;
    }
    Ok(())
}

#[pymethods]
impl NativeSearch {
    /// The bytes of `search.json`.
    fn search_json(&self) -> PyResult<String> {
        text(self.0.result.file.to_bytes())
    }

    /// The bytes of `search.csv`.
    fn search_csv(&self) -> PyResult<String> {
        text(self.0.result.csv().to_bytes())
    }

    /// One plain sentence: does the structure beat the null?
    fn verdict(&self) -> String {
        verdict(&self.0.result.file)
    }

    /// Whether Ctrl-C stopped the search (the front is the best found until then).
    fn interrupted(&self) -> bool {
        self.0.result.file.interrupted
    }

    /// Write the search files (and the front's sheets) into `out`, as `ccc search -o out` does.
    #[pyo3(signature = (out, *, figures=true, progress=None))]
    fn write(
        &self,
        py: Python<'_>,
        out: PathBuf,
        figures: bool,
        progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PathBuf> {
        let inner = Arc::clone(&self.0);
        work::run(py, progress.as_ref(), move |_| {
            write_dir(&inner, &out, figures)?;
            Ok(out)
        })
    }
}
