//! `ccc.analyze` and `ccc.score`: the analysis of the `ccc analyze` command on a file or an opened tensor, its
//! records as JSON (the bytes of `experiments.json` and `summary.json`), its files and figures, its sheets as
//! PNG or SVG.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use ccc_analyze::consensus::{Changes, Consensus, DEFAULT_THRESHOLD};
use ccc_analyze::files::AnalysisFile;
use ccc_analyze::pipeline::read_pipelines_file;
use ccc_analyze::{analysis_input, score_groups, Aggregation, AnalyzeOptions, OutlierMethod};
use ccc_core::{CccTensor, Groups, StepSelection};
use ccc_figures::report::{write_live_report, write_report, ReportOptions};
use ccc_figures::{FigureOptions, FigureSet, Format, Resolution};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::{invalid, to_py};
use crate::tensor::TensorArg;
use crate::work;

/// What an analysis holds: the result, and the tensor it was computed on (for its figures).
struct Inner {
    analysis: ccc_analyze::Analysis,
    tensor: CccTensor,
    /// The analysis as the figures read it (built on the first sheet).
    drawing: OnceLock<ccc_figures::Analysis>,
}

impl Inner {
    fn drawing(&self) -> PyResult<&ccc_figures::Analysis> {
        if let Some(d) = self.drawing.get() {
            return Ok(d);
        }
        let d = ccc_figures::Analysis::new(
            self.analysis.experiments_file().experiments,
            self.analysis.summary_file(),
            &self.tensor,
        )
        .map_err(|e| to_py(&e))?;
        Ok(self.drawing.get_or_init(|| d))
    }
}

/// The result of `ccc.analyze` (wrapped by `ccc.Analysis`).
#[pyclass(module = "ccc._ccc", name = "NativeAnalysis", frozen)]
pub struct NativeAnalysis(Arc<Inner>);

fn parse<T: std::str::FromStr>(what: &str, s: &str) -> PyResult<T>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>().map_err(|e| invalid(format!("bad {what} `{s}`: {e}")))
}

fn step_selection(steps: Option<&str>) -> PyResult<StepSelection> {
    match steps {
        Some(s) => s.parse().map_err(|e: ccc_core::CoreError| {
            invalid(format!("bad steps `{s}`: use e.g. `1000..143000`, `..20000`, `%10000` or `0,1000,2000`: {e}"))
        }),
        None => Ok(StepSelection::all()),
    }
}

fn text(bytes: Result<Vec<u8>, ccc_analyze::FilesError>) -> PyResult<String> {
    let b = bytes.map_err(|e| to_py(&e))?;
    String::from_utf8(b).map_err(|_| invalid("an analysis file is not UTF-8"))
}

/// Run the 40 classification pipelines and score the 301 experiments (see `ccc.analyze`).
#[pyfunction]
#[pyo3(signature = (tensor, *, seed=0, agg="sum", grid=100, steps=None, pipelines=None, pipelines_file=None,
    timings=true, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn analyze(
    py: Python<'_>,
    tensor: &Bound<'_, PyAny>,
    seed: u64,
    agg: &str,
    grid: usize,
    steps: Option<&str>,
    pipelines: Option<String>,
    pipelines_file: Option<PathBuf>,
    timings: bool,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<NativeAnalysis> {
    let source = TensorArg::from_py(tensor)?;
    let extra = match &pipelines_file {
        Some(p) => read_pipelines_file(p, ccc_analyze::pipeline::builtin().len() + 1).map_err(|e| to_py(&e))?,
        None => Vec::new(),
    };
    let opts = AnalyzeOptions {
        seed,
        aggregation: parse::<Aggregation>("agg", agg)?,
        grid,
        steps: step_selection(steps)?,
        steps_text: steps.unwrap_or("all").to_string(),
        pipelines,
        extra_pipelines: extra,
        pipelines_file: pipelines_file.as_ref().map(|p| p.display().to_string()),
        timings,
    };
    opts.validate().map_err(|e| invalid(format!("bad options: {}", crate::errors::one_line(&e))))?;
    let inner = work::run(py, progress.as_ref(), move |progress| {
        let label = match &source {
            TensorArg::Path(p) => p.display().to_string(),
            TensorArg::Memory(t) => format!("the tensor of `{}`", t.meta.model),
        };
        let tensor = source.load()?;
        let analysis = ccc_analyze::analyze(&tensor, &opts, progress)
            .map_err(|e| invalid(format!("analyzing {label}: {}", crate::errors::one_line(&e))))?;
        Ok(Inner { analysis, tensor, drawing: OnceLock::new() })
    })?;
    Ok(NativeAnalysis(Arc::new(inner)))
}

impl NativeAnalysis {
    /// The experiments, as `experiments.json` holds them (the start points of `ccc.search`).
    pub(crate) fn experiments_file(&self) -> ccc_analyze::files::ExperimentsFile {
        self.0.analysis.experiments_file()
    }
}

#[pymethods]
impl NativeAnalysis {
    /// The bytes of `experiments.json`.
    fn experiments_json(&self) -> PyResult<String> {
        text(self.0.analysis.experiments_file().to_bytes())
    }

    /// The bytes of `summary.json`.
    fn summary_json(&self) -> PyResult<String> {
        text(self.0.analysis.summary_file().to_bytes())
    }

    /// The bytes of `scores.csv`.
    fn scores_csv(&self) -> PyResult<String> {
        text(self.0.analysis.scores_file().to_bytes())
    }

    /// Write the analysis files, figures and report into `out`, as `ccc analyze -o out` does.
    #[pyo3(signature = (out, *, figures="all", format="png", smooth=None, full_size=false, report=true,
        standalone=false, reload=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        py: Python<'_>,
        out: PathBuf,
        figures: &str,
        format: &str,
        smooth: Option<usize>,
        full_size: bool,
        report: bool,
        standalone: bool,
        reload: Option<u32>,
        progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PathBuf> {
        let figures: FigureSet = parse("figures", figures)?;
        let format: Format = parse("format", format)?;
        if smooth == Some(0) {
            return Err(invalid("`smooth=0` is not a window; use 1 (no smoothing) or more"));
        }
        let resolution = if full_size { Resolution::Full } else { Resolution::Screen };
        let fig_opts = FigureOptions { figures, format, smooth, threads: 0, resolution };
        let inner = Arc::clone(&self.0);
        work::run(py, progress.as_ref(), move |progress| {
            inner.analysis.write_to(&out).map_err(|e| to_py(&e))?;
            let drawn = if fig_opts.figures == FigureSet::None {
                Ok(())
            } else {
                ccc_figures::render_analysis(&out, &inner.tensor, &fig_opts, progress).map(|_| ())
            };
            let opts = ReportOptions { standalone };
            match (report, reload) {
                (false, _) => {}
                (true, None) => {
                    write_report(&out, &opts).map_err(|e| to_py(&e))?;
                }
                (true, Some(s)) => {
                    write_live_report(&out, &opts, s).map_err(|e| to_py(&e))?;
                }
            }
            drawn.map_err(|e| invalid(format!("some figures could not be drawn: {}", crate::errors::one_line(&e))))?;
            Ok(out)
        })
    }

    /// The consensus outliers: coordinates that more than `threshold` of the experiments call outliers.
    fn consensus_outliers(&self, threshold: f64) -> Vec<usize> {
        Consensus::of(&self.0.analysis, threshold).outliers(threshold)
    }

    /// The `n` coordinates most often called outliers, most often first.
    fn top_outliers(&self, n: usize) -> Vec<usize> {
        Consensus::of(&self.0.analysis, DEFAULT_THRESHOLD).top_outliers(n)
    }

    /// What changed since `previous` (everything counts as new without one): `new_outliers`,
    /// `dropped_outliers` (coordinates) and `switched` (`(name, from, to)` of components whose majority group
    /// changed).
    #[pyo3(signature = (previous, threshold))]
    fn changes_since<'py>(
        &self,
        py: Python<'py>,
        previous: Option<PyRef<'_, NativeAnalysis>>,
        threshold: f64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = Consensus::of(&self.0.analysis, threshold);
        let ch = match previous {
            Some(p) => now.changes_since(&Consensus::of(&p.0.analysis, threshold), threshold),
            None => Changes { new_outliers: now.outliers(threshold), ..Changes::default() },
        };
        let d = PyDict::new(py);
        d.set_item("new_outliers", ch.new_outliers)?;
        d.set_item("dropped_outliers", ch.dropped_outliers)?;
        let switched: Vec<(String, &str, &str)> =
            ch.switched.iter().map(|s| (s.name.clone(), s.from.name(), s.to.name())).collect();
        d.set_item("switched", switched)?;
        Ok(d)
    }

    /// The trajectory sheet of experiment `id` as PNG bytes (screen size, or full size).
    #[pyo3(signature = (id, *, smooth=None, full_size=false))]
    fn sheet_png<'py>(
        &self,
        py: Python<'py>,
        id: usize,
        smooth: Option<usize>,
        full_size: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        if smooth == Some(0) {
            return Err(invalid("`smooth=0` is not a window; use 1 (no smoothing) or more"));
        }
        let inner = Arc::clone(&self.0);
        let bytes = work::run(py, None, move |_| {
            let sheet = inner.drawing()?.sheet(id, smooth).map_err(|e| to_py(&e))?;
            let resolution = if full_size { Resolution::Full } else { Resolution::Screen };
            let raster = ccc_figures::to_raster_at(&sheet, resolution).map_err(|e| to_py(&e))?;
            let mut png = Vec::new();
            raster.write_png(&mut png).map_err(|e| invalid(format!("cannot encode the sheet: {e}")))?;
            Ok(png)
        })?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The trajectory sheet of experiment `id` as an SVG document.
    #[pyo3(signature = (id, *, smooth=None))]
    fn sheet_svg(&self, py: Python<'_>, id: usize, smooth: Option<usize>) -> PyResult<String> {
        let inner = Arc::clone(&self.0);
        work::run(py, None, move |_| {
            let sheet = inner.drawing()?.sheet(id, smooth).map_err(|e| to_py(&e))?;
            ccc_figures::to_svg(&sheet).map_err(|e| to_py(&e))
        })
    }
}

/// Score groups records on a tensor (see `ccc.score`): for each, `(irregularity, fraction, completed groups as
/// JSON)`.
#[pyfunction]
#[pyo3(signature = (tensor, groups_json, *, outliers=None, agg="sum", grid=100, steps=None, seed=0))]
#[allow(clippy::too_many_arguments)]
pub fn score(
    py: Python<'_>,
    tensor: &Bound<'_, PyAny>,
    groups_json: &str,
    outliers: Option<&str>,
    agg: &str,
    grid: usize,
    steps: Option<&str>,
    seed: u64,
) -> PyResult<Vec<(Option<f64>, f64, String)>> {
    let source = TensorArg::from_py(tensor)?;
    let records: Vec<Groups> = serde_json::from_str(groups_json).map_err(|e| {
        invalid(format!(
            "expected a groups dict or a list of them, with keys coords_in, coords_out, comps_grp1, comps_grp2: {e}"
        ))
    })?;
    let outliers = outliers.map(|m| m.parse::<OutlierMethod>().map_err(|e| to_py(&e))).transpose()?;
    let aggregation = parse::<Aggregation>("agg", agg)?;
    if grid == 0 {
        return Err(invalid("grid must be at least 1 (the default is 100)"));
    }
    let steps = step_selection(steps)?;
    work::run(py, None, move |_| {
        let tensor = source.load()?;
        let t = analysis_input(&tensor, &steps).map_err(|e| to_py(&e))?;
        let mut out = Vec::with_capacity(records.len());
        for (i, g) in records.iter().enumerate() {
            let (done, s) = score_groups(&t, g, outliers, aggregation, grid, seed)
                .map_err(|e| invalid(format!("groups #{i}: {}", crate::errors::one_line(&e))))?;
            let json = serde_json::to_string(&done).map_err(|e| invalid(e.to_string()))?;
            out.push((s.irregularity, s.fraction, json));
        }
        Ok(out)
    })
}
