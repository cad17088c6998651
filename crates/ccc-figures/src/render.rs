//! Rendering every figure of an analysis output directory, and the `figures/index.json` that lists them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ccc_analyze::files::summary::{ComponentIndicator, OutlierIndicator};
use ccc_analyze::files::{AnalysisFile, ExperimentRecord, ExperimentsFile, Status, SummaryFile};
use ccc_analyze::{trajectories, Aggregation, Trajectories};
use ccc_core::{CccTensor, Progress};
use rayon::prelude::*;

use crate::error::FigureError;
use crate::lines::CurvesFigure;
use crate::memberships::{LabelledMatrix, MembershipFigure};
use crate::names::{short_method, slug};
use crate::options::{FigureOptions, FigureSet};
use crate::output::{self, Figure};
use crate::overview::OverviewFigure;
use crate::scores::{ScorePoint, ScoresFigure};
use crate::search_scores::SearchScoresFigure;
use crate::sheet::{Sheet, SheetInput};
use crate::timeline::{ClustersFigure, TimelineFigure};
use ccc_analyze::files::figures_index::ImageFormat;
use ccc_analyze::files::{SearchFile, TimelineFile, TrajectoryClustersFile};

/// Width of the sheet thumbnails used by the HTML report: its table shows them 80 px wide, so this is enough for
/// a screen with 2 device pixels per CSS pixel.
pub const THUMB_WIDTH: u32 = 160;

// `figures/index.json` is defined by its owner in `ccc_analyze::files`; this stage writes it.
pub use ccc_analyze::files::{FigureIndex, RunEntry, RunKind, SheetEntry};

/// The file stem of a per-run figure.
fn file_stem(kind: RunKind) -> &'static str {
    match kind {
        RunKind::Scores => "scores",
        RunKind::OutlierMemberships => "outlier-memberships",
        RunKind::ComponentMemberships => "component-memberships",
        RunKind::Aggregate => "aggregate",
        RunKind::Overview => "overview",
        RunKind::Timeline => "timeline",
        RunKind::TrajectoryClusters => "trajectory-clusters",
        RunKind::Search => "search-scores",
    }
}

/// An analysis output directory loaded for drawing, with the tensor restricted to the analysed checkpoints.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// `experiments.json`.
    pub experiments: Vec<ExperimentRecord>,
    /// `summary.json`.
    pub summary: SummaryFile,
    /// The tensor, only the checkpoints the analysis used.
    pub tensor: CccTensor,
    /// The analysis' aggregation.
    pub aggregation: Aggregation,
    /// The analysis' score grid.
    pub grid: usize,
}

impl Analysis {
    /// Read `experiments.json` and `summary.json` from `dir` and check them against `tensor`.
    pub fn load(dir: &Path, tensor: &CccTensor) -> Result<Analysis, FigureError> {
        let experiments = ExperimentsFile::read(dir)?.experiments;
        let summary = SummaryFile::read(dir)?;
        Analysis::new(experiments, summary, tensor)
    }

    /// Check parsed inputs against `tensor` and select the analysed checkpoints.
    pub fn new(
        experiments: Vec<ExperimentRecord>,
        summary: SummaryFile,
        tensor: &CccTensor,
    ) -> Result<Analysis, FigureError> {
        let filled = tensor.filled_only();
        let tensor = if summary.steps.is_empty() {
            filled
        } else {
            let keep: Vec<usize> =
                (0..filled.n_ckpt()).filter(|&t| summary.steps.binary_search(&filled.steps[t]).is_ok()).collect();
            if keep.len() != summary.steps.len() {
                return Err(FigureError::Mismatch(format!(
                    "the analysis used {} steps, {} of which are filled checkpoints of the tensor",
                    summary.steps.len(),
                    keep.len()
                )));
            }
            filled.select_checkpoints(&keep)?
        };
        let [c, _, k] = summary.shape;
        if c != tensor.n_coord || k != tensor.n_comp() {
            return Err(FigureError::Mismatch(format!(
                "summary.json has shape [{c}, _, {k}], the tensor has {} coordinates and {} components",
                tensor.n_coord,
                tensor.n_comp()
            )));
        }
        if !summary.components.is_empty() && summary.components != tensor.meta.component_names() {
            return Err(FigureError::Mismatch("summary.json lists other components than the tensor".into()));
        }
        for e in &experiments {
            e.groups
                .to_groups()
                .validate(tensor.n_coord, tensor.n_comp())
                .map_err(|m| FigureError::Mismatch(format!("experiment {}: {m}", e.id)))?;
        }
        let aggregation = summary.options.aggregation;
        let grid = summary.options.grid;
        Ok(Analysis { experiments, summary, tensor, aggregation, grid })
    }

    /// One line of context for every figure: model, shape, steps, aggregation.
    pub fn context(&self) -> String {
        context_line(&self.tensor, Some(self.aggregation))
    }

    /// The sheet of experiment `id`.
    pub fn sheet(&self, id: usize, smooth: Option<usize>) -> Result<Sheet, FigureError> {
        let e = self.experiments.iter().find(|e| e.id == id).ok_or_else(|| {
            FigureError::Invalid(format!("no experiment with id {id} (there are {})", self.experiments.len()))
        })?;
        let (g1, g2) = comps_of(e);
        let tr = trajectories(&self.tensor, g1, g2, self.aggregation);
        self.sheet_with(e, &tr, smooth)
    }

    fn sheet_with(&self, e: &ExperimentRecord, tr: &Trajectories, smooth: Option<usize>) -> Result<Sheet, FigureError> {
        let (g1, g2) = comps_of(e);
        let (cin, cout) = (e.groups.coords_in.as_slice(), e.groups.coords_out.as_slice());
        let sc = e.scores;
        let fraction = sc.fraction.unwrap_or(cout.len() as f64 / self.tensor.n_coord.max(1) as f64);
        let source = e.source.to_string();
        Ok(Sheet::new(&SheetInput {
            id: Some(e.id),
            source: &source,
            method: &e.method,
            context: self.context(),
            components: &self.tensor.meta.components,
            steps: &self.tensor.steps,
            trajectories: tr,
            coords_in: cin,
            coords_out: cout,
            grp1: g1,
            grp2: g2,
            scores: (sc.irregularity, fraction),
            grid: self.grid,
            smooth,
        }))
    }
}

fn comps_of(e: &ExperimentRecord) -> (&[usize], &[usize]) {
    (&e.groups.comps_grp1, &e.groups.comps_grp2)
}

/// `model (architecture, mode) · C coordinates × T checkpoints (steps a–b) × K components[ · aggregation]`.
pub fn context_line(t: &CccTensor, agg: Option<Aggregation>) -> String {
    let steps = match (t.steps.first(), t.steps.last()) {
        (Some(a), Some(b)) => format!(" (steps {a}–{b})"),
        _ => String::new(),
    };
    let mut s = format!(
        "{} ({}, {}) · {} coordinates × {} checkpoints{steps} × {} components",
        t.meta.model,
        t.meta.architecture,
        t.meta.mode,
        t.n_coord,
        t.n_ckpt(),
        t.n_comp()
    );
    if let Some(a) = agg {
        s.push_str(&format!(" · aggregation {a}"));
    }
    s
}

/// An indicator matrix (rows of experiments, `columns` labels its columns) as a labelled `f64` matrix.
fn indicator_matrix(
    experiments: &[usize],
    columns: &[usize],
    matrix: &[Vec<i8>],
    col_label: impl Fn(usize) -> String,
) -> LabelledMatrix {
    let n_rows = matrix.len();
    let n_cols = matrix.first().map_or(0, Vec::len);
    let mut values = Vec::with_capacity(n_rows * n_cols);
    for row in matrix {
        values.extend((0..n_cols).map(|c| row.get(c).map_or(0.0, |&v| f64::from(v))));
    }
    let row_labels = (0..n_rows).map(|r| experiments.get(r).map_or(r.to_string(), |e| e.to_string())).collect();
    let col_labels = (0..n_cols).map(|c| col_label(columns.get(c).copied().unwrap_or(c))).collect();
    LabelledMatrix { n_rows, n_cols, values, row_labels, col_labels }
}

fn outlier_matrix(ind: &OutlierIndicator) -> LabelledMatrix {
    indicator_matrix(&ind.experiments, &ind.coords, &ind.matrix, |c| c.to_string())
}

fn component_matrix(ind: &ComponentIndicator, names: &[String]) -> LabelledMatrix {
    indicator_matrix(&ind.experiments, &ind.comps, &ind.matrix, |k| {
        names.get(k).cloned().unwrap_or_else(|| k.to_string())
    })
}

enum RunFigure {
    Scores(ScoresFigure),
    Memberships(MembershipFigure),
    Curves(CurvesFigure),
    Overview(OverviewFigure),
    Timeline(Box<TimelineFigure>),
    Clusters(Box<ClustersFigure>),
    Search(Box<SearchScoresFigure>),
}

fn write_figure<F: Figure>(
    fig: &F,
    figures: &Path,
    rel_stem: &str,
    opts: &FigureOptions,
    thumb: Option<&str>,
) -> Result<(Option<String>, Option<String>), FigureError> {
    let mut png = None;
    let mut svg = None;
    if opts.format.png() || thumb.is_some() {
        let r = output::to_raster_at(fig, opts.resolution)?;
        if opts.format.png() {
            let rel = format!("{rel_stem}.png");
            r.save_png(&figures.join(&rel))?;
            png = Some(rel);
        }
        if let Some(t) = thumb {
            r.thumbnail(THUMB_WIDTH).save_png(&figures.join(t))?;
        }
    }
    if opts.format.svg() {
        let rel = format!("{rel_stem}.svg");
        output::save_svg(fig, &figures.join(&rel))?;
        svg = Some(rel);
    }
    Ok((png, svg))
}

fn create_dir(p: &Path) -> Result<(), FigureError> {
    std::fs::create_dir_all(p).map_err(|source| FigureError::CreateDir { path: p.to_path_buf(), source })
}

/// Render every figure of the analysis in `out_dir` (which holds `experiments.json` and `summary.json`) into
/// `out_dir/figures/`, and write `figures/index.json`.
///
/// Sheets are drawn in parallel (`opts.threads`). When some figure fails, the others are still written and listed
/// in `index.json`, and the first error is returned.
pub fn render_analysis(
    out_dir: &Path,
    tensor: &CccTensor,
    opts: &FigureOptions,
    progress: &dyn Progress,
) -> Result<FigureIndex, FigureError> {
    let mut index = FigureIndex { formats: opts.format.image_formats(), ..Default::default() };
    if opts.figures == FigureSet::None {
        return Ok(index);
    }
    let analysis = Analysis::load(out_dir, tensor)?;
    create_dir(&figures_dir(out_dir))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| FigureError::Invalid(format!("cannot start drawing threads: {e}")))?;
    pool.install(|| render_all(&analysis, out_dir, opts, progress, &mut index))?;
    Ok(index)
}

fn render_all(
    a: &Analysis,
    out_dir: &Path,
    opts: &FigureOptions,
    progress: &dyn Progress,
    index: &mut FigureIndex,
) -> Result<(), FigureError> {
    let drawable: Vec<&ExperimentRecord> = if opts.figures == FigureSet::All {
        a.experiments.iter().filter(|e| e.status != Status::Failed).collect()
    } else {
        vec![]
    };
    let skipped = if opts.figures == FigureSet::All { a.experiments.len() - drawable.len() } else { 0 };
    if skipped > 0 {
        progress.warn(&format!("{skipped} failed experiments get no trajectory sheet"));
    }
    progress.start("figures", (drawable.len() + 7) as u64, "figures");
    let figures = &figures_dir(out_dir);
    let mut first_err: Option<FigureError> = None;

    if !drawable.is_empty() {
        create_dir(&figures.join("sheets"))?;
        create_dir(&figures.join("thumbs"))?;
        // Experiments share component groups (one grouping, several outlier methods): compute each grouping's
        // trajectories once.
        let mut keys: Vec<(&[usize], &[usize])> = drawable.iter().map(|e| comps_of(e)).collect();
        keys.sort();
        keys.dedup();
        let trajs: HashMap<(&[usize], &[usize]), Trajectories> =
            keys.par_iter().map(|&(g1, g2)| ((g1, g2), trajectories(&a.tensor, g1, g2, a.aggregation))).collect();
        let results: Vec<Result<SheetEntry, FigureError>> = drawable
            .par_iter()
            .map(|e| {
                let (g1, g2) = comps_of(e);
                let tr = trajs.get(&(g1, g2)).ok_or_else(|| FigureError::Invalid("missing trajectories".into()))?;
                let sheet = a.sheet_with(e, tr, opts.smooth)?;
                let stem = format!("{:04}-{}", e.id, slug(&short_method(&e.method), 60));
                let thumb = format!("thumbs/{stem}.png");
                let (png, svg) = write_figure(&sheet, figures, &format!("sheets/{stem}"), opts, Some(&thumb))?;
                progress.advance(1);
                Ok(SheetEntry { id: e.id, source: e.source, method: e.method.clone(), png, svg, thumb: Some(thumb) })
            })
            .collect();
        for r in results {
            match r {
                Ok(s) => index.sheets.push(s),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
    }

    let model = &a.tensor.meta.model;
    let ctx = a.context();
    let mut run: Vec<(RunKind, String, RunFigure)> = Vec::new();
    let points: Vec<ScorePoint> = a
        .experiments
        .iter()
        .filter_map(|e| {
            let s = e.scores;
            Some(ScorePoint { source: e.source.to_string(), irregularity: s.irregularity, fraction: s.fraction? })
        })
        .collect();
    let title = format!("Scores of {} experiments — {model}", points.len());
    run.push((RunKind::Scores, title.clone(), RunFigure::Scores(ScoresFigure::new(title, &points))));
    {
        let m = outlier_matrix(&a.summary.outlier_indicator);
        let title = format!("Outlier memberships of {} coordinates over {} experiments — {model}", m.n_cols, m.n_rows);
        let sub = format!("{ctx} · columns: coordinates ordered by how often they are called outliers");
        let fig = MembershipFigure::new(title.clone(), sub, "experiment", "coordinate", "+1 outlier, −1 inlier", m);
        run.push((RunKind::OutlierMemberships, title, RunFigure::Memberships(fig)));
    }
    {
        let m = component_matrix(&a.summary.component_indicator, &a.tensor.meta.component_names());
        let title = format!("Component memberships of {} components over {} experiments — {model}", m.n_cols, m.n_rows);
        let fig = MembershipFigure::new(
            title.clone(),
            ctx.clone(),
            "experiment",
            "component",
            "+1 the group without component 0, −1 the other, 0 discarded",
            m,
        );
        run.push((RunKind::ComponentMemberships, title, RunFigure::Memberships(fig)));
    }
    let agg = CurvesFigure::aggregate(&a.tensor, &context_line(&a.tensor, None));
    run.push((RunKind::Aggregate, agg.title().to_string(), RunFigure::Curves(agg)));
    if !a.summary.pipelines.is_empty() {
        let title = format!("Classification overview: {} pipelines — {model}", a.summary.pipelines.len());
        let fig = OverviewFigure::new(&a.tensor, &a.summary.pipelines, title.clone(), ctx.clone());
        run.push((RunKind::Overview, title, RunFigure::Overview(fig)));
    }
    // Over training (docs/timeline.md): drawn when `ccc analyze` wrote their files.
    match TimelineFile::read_if_present(out_dir) {
        Ok(Some(tl)) => {
            let title = format!("Over training: {} windows — {model}", tl.windows.len());
            run.push((RunKind::Timeline, title.clone(), RunFigure::Timeline(Box::new(TimelineFigure::new(tl, title)))));
        }
        Ok(None) => {}
        Err(e) => {
            first_err.get_or_insert(e.into());
        }
    }
    match TrajectoryClustersFile::read_if_present(out_dir) {
        Ok(Some(cf))
            if cf.grouping.comps_grp1.iter().chain(&cf.grouping.comps_grp2).all(|&k| k < a.tensor.n_comp()) =>
        {
            let tr = trajectories(&a.tensor, &cf.grouping.comps_grp1, &cf.grouping.comps_grp2, a.aggregation);
            let title = format!("Trajectory clusters: {} clusters by shape — {model}", cf.k);
            let fig = ClustersFigure::new(cf, tr, title.clone());
            run.push((RunKind::TrajectoryClusters, title, RunFigure::Clusters(Box::new(fig))));
        }
        Ok(_) => {}
        Err(e) => {
            first_err.get_or_insert(e.into());
        }
    }
    // The search (docs/search.md): drawn when `ccc search` wrote its file.
    match SearchFile::read_if_present(out_dir) {
        Ok(Some(sf)) => {
            let title = search_scores_title(&sf, model);
            let fig = SearchScoresFigure::new(title.clone(), &sf, &a.experiments);
            run.push((RunKind::Search, title, RunFigure::Search(Box::new(fig))));
        }
        Ok(None) => {}
        Err(e) => {
            first_err.get_or_insert(e.into());
        }
    }
    let results: Vec<Result<RunEntry, FigureError>> = run
        .par_iter()
        .map(|(kind, title, fig)| {
            let stem = file_stem(*kind);
            let (png, svg) = match fig {
                RunFigure::Scores(f) => write_figure(f, figures, stem, opts, None)?,
                RunFigure::Memberships(f) => write_figure(f, figures, stem, opts, None)?,
                RunFigure::Curves(f) => write_figure(f, figures, stem, opts, None)?,
                RunFigure::Overview(f) => write_figure(f, figures, stem, opts, None)?,
                RunFigure::Timeline(f) => write_figure(f.as_ref(), figures, stem, opts, None)?,
                RunFigure::Clusters(f) => write_figure(f.as_ref(), figures, stem, opts, None)?,
                RunFigure::Search(f) => write_figure(f.as_ref(), figures, stem, opts, None)?,
            };
            progress.advance(1);
            Ok(RunEntry { kind: *kind, title: title.clone(), png, svg })
        })
        .collect();
    for r in results {
        match r {
            Ok(e) => index.run.push(e),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    progress.finish();
    index.write(out_dir)?;
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn search_scores_title(s: &SearchFile, model: &str) -> String {
    format!("Search front of {} groupings against {} null fronts — {model}", s.front.len(), s.null.fronts.len())
}

/// Draw the search's scores scatter of `out_dir` (after `ccc search` wrote `search.json` there) into
/// `figures/search-scores.png` and list it in `figures/index.json`, keeping every other entry of an existing index.
pub fn render_search_scores(
    out_dir: &Path,
    s: &SearchFile,
    experiments: &[ExperimentRecord],
    model: &str,
    resolution: crate::Resolution,
) -> Result<RunEntry, FigureError> {
    let figures = figures_dir(out_dir);
    create_dir(&figures)?;
    let mut index = match FigureIndex::read_if_present(out_dir)? {
        Some(i) => i,
        None => FigureIndex { formats: vec![ImageFormat::Png], ..Default::default() },
    };
    let title = search_scores_title(s, model);
    let fig = SearchScoresFigure::new(title.clone(), s, experiments);
    let rel = format!("{}.png", file_stem(RunKind::Search));
    output::to_raster_at(&fig, resolution)?.save_png(&figures.join(&rel))?;
    let entry = RunEntry { kind: RunKind::Search, title, png: Some(rel), svg: None };
    index.run.retain(|e| e.kind != RunKind::Search);
    index.run.push(entry.clone());
    index.write(out_dir)?;
    Ok(entry)
}

/// Where `render_analysis` writes for `out_dir`.
pub fn figures_dir(out_dir: &Path) -> PathBuf {
    out_dir.join(ccc_analyze::files::FIGURES_DIR)
}

/// Component groups and a coordinate split chosen by the user rather than by the analysis (`ccc plot sheet --grp1
/// … --grp2 … --outliers …`).
#[derive(Debug, Clone, PartialEq)]
pub struct AdhocGroups {
    /// Component group 1.
    pub grp1: Vec<usize>,
    /// Component group 2.
    pub grp2: Vec<usize>,
    /// How outlier coordinates are found on the trajectories; `None`: every coordinate is an inlier.
    pub outliers: Option<ccc_analyze::OutlierMethod>,
    /// Aggregation of the groups.
    pub aggregation: Aggregation,
    /// Grid of the irregularity score.
    pub grid: usize,
    /// Seed of the random generator (only `MAD-union-lincomb` draws).
    pub seed: u64,
    /// A title for the sheet (e.g. the patterns given).
    pub label: String,
}

/// The sheet of user-chosen groups on the filled checkpoints of `t`, scored as the analysis would.
pub fn adhoc_sheet(t: &CccTensor, g: &AdhocGroups, smooth: Option<usize>) -> Result<Sheet, FigureError> {
    use rand_chacha::rand_core::SeedableRng;
    let t = t.filled_only();
    if let Some(&k) = g.grp1.iter().chain(&g.grp2).find(|&&k| k >= t.n_comp()) {
        return Err(FigureError::Invalid(format!("component index {k} out of range ({} components)", t.n_comp())));
    }
    let tr = trajectories(&t, &g.grp1, &g.grp2, g.aggregation);
    let out = match g.outliers {
        Some(m) => m.apply(&tr, &mut rand_chacha::ChaCha8Rng::seed_from_u64(g.seed)),
        None => vec![],
    };
    let (cin, cout) = ccc_core::Groups::coords_from_outliers(t.n_coord, &out);
    let sc = ccc_analyze::score(&tr, &cin, cout.len(), g.grid);
    let method = match g.outliers {
        Some(m) => format!("outliers: {m}"),
        None => "no outlier split".to_string(),
    };
    Ok(Sheet::new(&SheetInput {
        id: None,
        source: &g.label,
        method: &method,
        context: context_line(&t, Some(g.aggregation)),
        components: &t.meta.components,
        steps: &t.steps,
        trajectories: &tr,
        coords_in: &cin,
        coords_out: &cout,
        grp1: &g.grp1,
        grp2: &g.grp2,
        scores: (sc.irregularity, sc.fraction),
        grid: g.grid,
        smooth,
    }))
}
