//! Assembling the page: the static parts (header, consensus, summary figures) rendered here, the interactive parts
//! (scatter, table, viewer) drawn by the inline script from the embedded JSON.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use serde::Serialize;

use super::grid::Grid;
use super::html::{escape, fill, json_for_script, url_path};
use ccc_analyze::files::{ExperimentRecord, RunEntry, RunKind, SheetEntry, Source, Status, SummaryFile};

use super::input::Inputs;
use super::{ReportError, ReportOptions};

const TEMPLATE: &str = include_str!("template.html");
const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// How many of the most frequent outlier coordinates the consensus lists.
const TOP_COORDS: usize = 20;
/// How many outlier coordinates of one experiment the embedded data keeps (the viewer lists them).
const MAX_OUTLIERS_LISTED: usize = 64;

/// One experiment as the script sees it.
#[derive(Debug, Serialize)]
struct ExpData<'a> {
    id: usize,
    source: Source,
    method: &'a str,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    irr: Option<f64>,
    frac: Option<f64>,
    n_in: usize,
    n_out: usize,
    n_g1: usize,
    n_g2: usize,
    /// The first outlier coordinates (at most [`MAX_OUTLIERS_LISTED`]).
    out: Vec<usize>,
    time_s: Option<f64>,
    /// The full sheet: a relative URL, or a `data:` URI in standalone mode when stored elsewhere (see `inline`).
    sheet: Option<String>,
    /// The sheet's SVG, when rendered (relative URL; not inlined).
    svg: Option<String>,
    thumb: Option<String>,
    /// Standalone mode: the sheet's `data:` URI is the text of `<script id="sheet-data-{id}">`.
    inline: bool,
}

/// The embedded data.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    standalone: bool,
    sources: Vec<Source>,
    experiments: Vec<ExpData<'a>>,
    /// The static scores figure, if rendered.
    scores_figure: Option<String>,
}

/// Turns figure paths (relative to `figures/`) into `src` values: relative URLs, or `data:` URIs when standalone.
struct Linker<'a> {
    figures_dir: &'a Path,
    standalone: bool,
}

impl Linker<'_> {
    fn url(&self, rel: &str) -> String {
        format!("figures/{}", url_path(rel))
    }

    fn src(&self, rel: &str) -> Result<String, ReportError> {
        if self.standalone {
            self.data_uri(rel)
        } else {
            Ok(self.url(rel))
        }
    }

    fn data_uri(&self, rel: &str) -> Result<String, ReportError> {
        let path = self.figures_dir.join(rel);
        let bytes = std::fs::read(&path).map_err(|source| ReportError::Io { path: path.clone(), source })?;
        let mime = match Path::new(rel).extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("svg") => "image/svg+xml",
            Some("jpg" | "jpeg") => "image/jpeg",
            Some("webp") => "image/webp",
            _ => "image/png",
        };
        Ok(format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
    }
}

/// Render the report page of `out_dir` (what [`super::write_report`] writes).
///
/// # Errors
/// As [`super::write_report`], except for writing.
pub fn render_report(out_dir: &Path, opts: &ReportOptions) -> Result<String, ReportError> {
    let inputs = Inputs::read(out_dir)?;
    let figures_dir = out_dir.join("figures");
    let linker = Linker { figures_dir: &figures_dir, standalone: opts.standalone };

    let sheets: HashMap<usize, &SheetEntry> = inputs.figures.sheets.iter().map(|s| (s.id, s)).collect();
    let mut sources: Vec<Source> = Vec::new();
    let mut experiments = Vec::with_capacity(inputs.experiments.len());
    let mut inline_sheets = String::new();
    for e in &inputs.experiments {
        if !sources.contains(&e.source) {
            sources.push(e.source);
        }
        let entry = sheets.get(&e.id);
        let png = entry.and_then(|s| s.png.as_deref());
        let svg = entry.and_then(|s| s.svg.as_deref());
        let full = png.or(svg);
        let mut inline = false;
        let sheet = match full {
            Some(rel) if opts.standalone => {
                let _ = writeln!(
                    inline_sheets,
                    "<script type=\"text/plain\" id=\"sheet-data-{}\">{}</script>",
                    e.id,
                    linker.data_uri(rel)?
                );
                inline = true;
                None
            }
            Some(rel) => Some(linker.url(rel)),
            None => None,
        };
        let thumb = match entry.and_then(|s| s.thumb.as_deref()).or(png) {
            Some(rel) => Some(linker.src(rel)?),
            None => None,
        };
        let svg = if opts.standalone { None } else { svg.map(|rel| linker.url(rel)) };
        experiments.push(exp_data(e, sheet, svg, thumb, inline));
    }
    let scores_figure = match inputs.figures.run.iter().find(|r| r.kind == RunKind::Scores) {
        Some(r) => match r.png.as_deref().or(r.svg.as_deref()) {
            Some(rel) => Some(linker.src(rel)?),
            None => None,
        },
        None => None,
    };
    let search_figure = match inputs.figures.run.iter().find(|r| r.kind == RunKind::Search) {
        Some(r) => match r.png.as_deref().or(r.svg.as_deref()) {
            Some(rel) => Some(linker.src(rel)?),
            None => None,
        },
        None => None,
    };
    let payload = Payload { standalone: opts.standalone, sources, experiments, scores_figure };
    let json = serde_json::to_string(&payload)
        .map_err(|source| ReportError::Json { path: out_dir.join("experiments.json"), source })?;

    let s = inputs.summary.as_ref();
    let model = s.map_or("(unnamed model)", |s| s.model.as_str());
    let title = format!("ccc report — {model}");
    let over = <ccc_analyze::files::TimelineFile as ccc_analyze::files::AnalysisFile>::read_if_present(out_dir)?;
    let figures_html = over.as_ref().map(over_training_html).unwrap_or_default()
        + &summary_figures_html(&inputs.figures.run, &linker)?;
    let page = fill(
        TEMPLATE,
        &[
            ("TITLE", &escape(&title)),
            ("STYLE", STYLE),
            ("HEADER", &header_html(s, &inputs.experiments, model)),
            ("CONSENSUS", &consensus_html(s)),
            ("FIGURES", &figures_html),
            (
                "SEARCH",
                &super::search::search_html(
                    inputs.search.as_ref(),
                    &inputs.experiments,
                    out_dir,
                    search_figure.as_deref(),
                ),
            ),
            ("DATA", &json_for_script(&json)),
            ("SHEETS", &inline_sheets),
            ("SCRIPT", SCRIPT),
            ("VERSION", env!("CARGO_PKG_VERSION")),
        ],
    );
    Ok(page)
}

fn exp_data(
    e: &ExperimentRecord,
    sheet: Option<String>,
    svg: Option<String>,
    thumb: Option<String>,
    inline: bool,
) -> ExpData<'_> {
    let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
    let scores = e.scores;
    let g = &e.groups;
    ExpData {
        id: e.id,
        source: e.source,
        method: &e.method,
        status: e.status,
        error: e.error.as_deref(),
        irr: finite(scores.irregularity),
        frac: finite(scores.fraction),
        n_in: g.coords_in.len(),
        n_out: g.coords_out.len(),
        n_g1: g.comps_grp1.len(),
        n_g2: g.comps_grp2.len(),
        out: g.coords_out.iter().copied().take(MAX_OUTLIERS_LISTED).collect(),
        time_s: finite(e.time_s),
        sheet,
        svg,
        thumb,
        inline,
    }
}

fn header_html(s: Option<&SummaryFile>, experiments: &[ExperimentRecord], model: &str) -> String {
    let mut items: Vec<(&str, String)> = Vec::new();
    if let Some(s) = s {
        items.push(("architecture", s.architecture.clone()));
        items.push(("mode", format!("{} · summary {}", s.mode, s.summary)));
        let [c, t, k] = s.shape;
        items.push(("shape", format!("{c} coordinates × {t} checkpoints × {k} components")));
        let steps = &s.steps;
        let text = match (steps.first(), steps.last()) {
            (Some(a), Some(b)) if steps.len() > 1 => format!("{a} … {b} ({} checkpoints)", steps.len()),
            (Some(a), _) => format!("{a} (1 checkpoint)"),
            _ => "none".into(),
        };
        items.push(("steps", text));
        items.push(("seed", s.seed.to_string()));
        let o = &s.options;
        let mut opts = vec![format!("aggregation {}", o.aggregation), format!("grid {}", o.grid)];
        opts.push(format!("pipelines {}", o.pipelines));
        if let Some(f) = &o.pipelines_file {
            opts.push(format!("pipelines_file {f}"));
        }
        opts.push(format!("steps {}", o.steps));
        items.push(("options", opts.join(" · ")));
        // Absent with `--no-timings`, so that the page is byte-identical between runs.
        if let Some(t) = s.run_time_s {
            items.push(("run time", format!("{t:.1} s")));
        }
    }
    // Count each status by its own name: a degenerate experiment (e.g. an empty group) is not a failure.
    let n = experiments.len();
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for e in experiments {
        *counts.entry(e.status.name()).or_default() += 1;
    }
    let ok = counts.remove("ok").unwrap_or(0);
    let text = if ok == n {
        format!("{n}")
    } else {
        let rest: Vec<String> = counts.iter().map(|(st, c)| format!("{c} {st}")).collect();
        format!("{n} ({ok} ok, {})", rest.join(", "))
    };
    items.push(("experiments", text));

    let mut h = String::new();
    let _ = writeln!(h, "<h1>ccc report <span class=\"model\" id=\"model-name\">{}</span></h1>", escape(model));
    h.push_str("<dl class=\"meta\" id=\"run-meta\">\n");
    for (k, v) in items {
        let _ = writeln!(h, "<div data-key=\"{k}\"><dt>{k}</dt><dd>{}</dd></div>", escape(&v));
    }
    h.push_str("</dl>\n");
    h
}

fn consensus_html(s: Option<&SummaryFile>) -> String {
    let Some(c) = s.map(|s| &s.consensus) else {
        return "<p class=\"note\">This output has no consensus (no <code>summary.json</code>).</p>".into();
    };
    let mut h = String::new();
    h.push_str("<div class=\"consensus\">\n<div class=\"panel\">\n<h3>Coordinates most often called outliers</h3>\n");
    let mut coords: Vec<_> = c.coords.iter().filter(|x| x.outlier_fraction.is_finite()).collect();
    coords.sort_by(|a, b| b.outlier_fraction.total_cmp(&a.outlier_fraction).then(a.coord.cmp(&b.coord)));
    coords.retain(|x| x.outlier_fraction > 0.0);
    if coords.is_empty() {
        h.push_str("<p class=\"note\">No experiment called any coordinate an outlier.</p>\n");
    } else {
        h.push_str(
            "<table class=\"top-coords\" id=\"top-coords\">\n<thead><tr><th scope=\"col\">coordinate</th>\
             <th scope=\"col\">share of experiments</th></tr></thead>\n<tbody>\n",
        );
        for x in coords.iter().take(TOP_COORDS) {
            let pct = x.outlier_fraction * 100.0;
            let _ = writeln!(
                h,
                "<tr data-coord=\"{c}\"><td class=\"num\">{c}</td><td><div class=\"hbar\"><span style=\"width:{w:.2}%\">\
                 </span></div><span class=\"pct\">{pct:.1}%</span></td></tr>",
                c = x.coord,
                w = pct.clamp(0.0, 100.0),
            );
        }
        h.push_str("</tbody>\n</table>\n");
        if coords.len() > TOP_COORDS {
            let _ = writeln!(
                h,
                "<p class=\"note\">{} more coordinates are outliers in some experiment.</p>",
                coords.len() - TOP_COORDS
            );
        }
    }
    h.push_str("</div>\n<div class=\"panel\">\n<h3>Components: how often in group 1 / group 2</h3>\n");
    if c.comps.is_empty() {
        h.push_str("<p class=\"note\">No component consensus in this output.</p>\n");
    } else {
        h.push_str(
            "<p class=\"legend-line\"><span class=\"swatch g1\"></span>group 1 <span class=\"swatch g2\"></span>group 2 \
             <span class=\"swatch dis\"></span>discarded — share of experiments; hover a cell for the numbers.</p>\n",
        );
        h.push_str("<div class=\"grid-wrap\">\n");
        h.push_str(&Grid::new(&c.comps).to_html());
        h.push_str("</div>\n");
    }
    h.push_str("</div>\n</div>\n");
    h
}

/// The "Over training" section (docs/timeline.md): what emerges when, the change points beside the training log's
/// events, the components that switch group. Its figures are in the figure grid below it.
fn over_training_html(t: &ccc_analyze::files::TimelineFile) -> String {
    let mut h = String::from("<section class=\"over-training\"><h3>Over training</h3>\n");
    let _ = writeln!(
        h,
        "<p>{} windows (<code>--windows {}</code>); a coordinate is an outlier of a window when at least {} of its \
         experiments call it one.</p>",
        t.windows.len(),
        escape(&t.windows_spec),
        t.consensus_threshold
    );
    let emerging: Vec<String> = t
        .emerging
        .iter()
        .map(|&c| match t.coords.get(c).and_then(|x| x.emerges_at_step) {
            Some(s) => format!("{c} (from step {s})"),
            None => c.to_string(),
        })
        .collect();
    let _ = writeln!(
        h,
        "<p><b>Emerging outliers:</b> {}.</p>",
        if emerging.is_empty() { "none".to_string() } else { escape(&emerging.join(", ")) }
    );
    let cps: Vec<String> = t
        .change_point_details
        .iter()
        .map(|d| match (d.nearest_event, d.distance) {
            (Some(e), Some(dist)) => format!("{} ({}; {} at {}, {:+} steps)", d.step, d.series, e.kind, e.step, dist),
            _ => format!("{} ({})", d.step, d.series),
        })
        .collect();
    let _ = writeln!(
        h,
        "<p><b>Change points:</b> {}.</p>",
        if cps.is_empty() { "none".to_string() } else { escape(&cps.join("; ")) }
    );
    let n_sw = t.comps.iter().filter(|c| !c.switches.is_empty()).count();
    let _ = writeln!(h, "<p><b>Components that switch group:</b> {n_sw} of {}.</p>", t.comps.len());
    if t.training_log.is_none() {
        h.push_str("<p class=\"note\">No training log (<code>--train-log</code>).</p>\n");
    }
    h.push_str("</section>\n");
    h
}

fn summary_figures_html(run: &[RunEntry], linker: &Linker<'_>) -> Result<String, ReportError> {
    // The scores scatter has its own place in the experiments table, the search's in the Search section.
    let figs: Vec<&RunEntry> = run.iter().filter(|r| r.kind != RunKind::Scores && r.kind != RunKind::Search).collect();
    if figs.is_empty() {
        return Ok("<p class=\"note\">No summary figures in this output (rendered with <code>--figures none</code>, \
                   or figures not rendered yet).</p>"
            .into());
    }
    let mut h = String::from("<div class=\"figure-grid\">\n");
    for r in figs {
        let Some(rel) = r.png.as_deref().or(r.svg.as_deref()) else { continue };
        let src = linker.src(rel)?;
        let title = if r.title.is_empty() { r.kind.name().to_string() } else { r.title.clone() };
        let svg_link = match (&r.svg, linker.standalone) {
            (Some(svg), false) if r.png.is_some() => {
                format!(" · <a href=\"{}\">SVG</a>", escape(&linker.url(svg)))
            }
            _ => String::new(),
        };
        let _ = writeln!(
            h,
            "<figure class=\"run-figure\" data-kind=\"{kind}\"><button type=\"button\" class=\"figure-open\" \
             aria-label=\"Enlarge: {title}\"><img src=\"{src}\" alt=\"{title}\" loading=\"lazy\" decoding=\"async\">\
             </button><figcaption>{title}{svg_link}</figcaption></figure>",
            kind = escape(r.kind.name()),
            title = escape(&title),
            src = escape(&src),
        );
    }
    h.push_str("</div>\n");
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn embedded_data(page: &str) -> serde_json::Value {
        let start = page.find("id=\"ccc-data\">").unwrap() + "id=\"ccc-data\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        serde_json::from_str(&page[start..end]).unwrap()
    }

    const EXPERIMENTS: &str = r#"{"format": "ccc-analysis/1", "experiments": [
        {"id": 0, "source": "TCI-comps-coords", "method": "m0</script>", "status": "ok",
         "groups": {"coords_in": [0, 1], "coords_out": [2], "comps_grp1": [0], "comps_grp2": [1]},
         "group_names": {"comps_grp1": ["emb_in"], "comps_grp2": ["L0.H0.Q"]},
         "group_ranges": {"comps_grp1": "0", "comps_grp2": "1", "coords_in": "0-1", "coords_out": "2"},
         "scores": {"irregularity": 0.25, "fraction": 0.5}, "pipeline": 1, "outlier_method": null},
        {"id": 1, "source": "comps_grps:wte|find_outliers_traj2d", "method": "|MAD-last-sum", "status": "failed",
         "error": "boom", "groups": {"coords_in": [], "coords_out": [], "comps_grp1": [], "comps_grp2": []},
         "group_names": {"comps_grp1": [], "comps_grp2": []},
         "group_ranges": {"comps_grp1": "", "comps_grp2": "", "coords_in": "", "coords_out": ""},
         "scores": {"irregularity": null, "fraction": null}, "pipeline": null, "outlier_method": "MAD-last-sum"}]}"#;

    fn summary(run_time_s: Option<f64>) -> String {
        let mut v = serde_json::json!({
            "format": "ccc-analysis/1", "model": "m<1>", "architecture": "gpt_neox", "mode": "full",
            "summary": "mean_sq", "shape": [4, 3, 2], "steps": [0, 10, 100], "seed": 7,
            "options": {"aggregation": "sum", "grid": 100, "steps": "all", "pipelines": "*"},
            "precision": {"prep": "f32", "foldings": "f32", "clusterers": "f64", "trajectories": "f64"},
            "components": ["emb_in", "L0.H0.Q"], "sources": ["TCI-comps-coords"], "n_experiments": 2,
            "status_counts": {"degenerate": 0, "failed": 1, "ok": 1},
            "outlier_indicator": {"experiments": [0], "coords": [2, 0, 1, 3], "matrix": [[1, -1, -1, -1]]},
            "component_indicator": {"experiments": [0], "comps": [0, 1], "matrix": [[-1, 1]]},
            "consensus": {"coords": [{"coord": 2, "outlier_fraction": 0.5}, {"coord": 3, "outlier_fraction": 0.75}],
                          "comps": [{"name": "emb_in", "grp1": 1, "grp2": 0, "discarded": 0}]},
            "pipelines": []
        });
        if let Some(t) = run_time_s {
            v["run_time_s"] = t.into();
        }
        v.to_string()
    }

    #[test]
    fn only_experiments_json_is_required() {
        let dir = tempfile::tempdir().unwrap();
        let err = render_report(dir.path(), &ReportOptions::default()).unwrap_err();
        assert!(matches!(err, ReportError::NotAnAnalysis { .. }), "{err}");
        write(dir.path(), "experiments.json", EXPERIMENTS);
        let page = render_report(dir.path(), &ReportOptions::default()).unwrap();
        let data = embedded_data(&page);
        assert_eq!(data["sources"], serde_json::json!(["TCI-comps-coords", "comps_grps:wte|find_outliers_traj2d"]));
        assert_eq!(data["experiments"][0]["n_out"], 1);
        assert_eq!(data["experiments"][0]["method"], "m0</script>");
        assert_eq!(data["experiments"][1]["irr"], serde_json::Value::Null);
        assert_eq!(data["experiments"][1]["status"], "failed");
        assert_eq!(data["experiments"][1]["error"], "boom");
        assert_eq!(page.matches("</script>").count(), 2, "the data cannot close its script element");
        assert!(page.contains("2 (1 ok, 1 failed)"));
        assert!(page.contains("No summary figures"));
        assert!(page.contains("no <code>summary.json</code>"));
    }

    #[test]
    fn a_file_present_must_be_of_its_format() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "experiments.json", &EXPERIMENTS.replacen("\"scores\"", "\"score\"", 1));
        let err = render_report(dir.path(), &ReportOptions::default()).unwrap_err().to_string();
        assert!(err.contains("experiments.json") && err.contains("missing field `scores`"), "{err}");
        write(dir.path(), "experiments.json", EXPERIMENTS);
        write(dir.path(), "summary.json", &summary(None).replace("ccc-analysis/1", "ccc-analysis/9"));
        let err = render_report(dir.path(), &ReportOptions::default()).unwrap_err().to_string();
        assert!(err.contains("summary.json` is format `ccc-analysis/9`; this ccc reads `ccc-analysis/1`"), "{err}");
        write(dir.path(), "summary.json", &summary(None));
        write(dir.path(), "figures/index.json", r#"{"formats": ["png"], "sheets": [], "run": [{"kind": "pie"}]}"#);
        let err = render_report(dir.path(), &ReportOptions::default()).unwrap_err().to_string();
        assert!(err.contains("index.json") && err.contains("at `run[0].kind`: unknown variant `pie`"), "{err}");
    }

    #[test]
    fn run_time_shows_only_when_recorded() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "experiments.json", EXPERIMENTS);
        write(dir.path(), "summary.json", &summary(Some(1.234)));
        let page = render_report(dir.path(), &ReportOptions::default()).unwrap();
        assert!(page.contains("<dt>run time</dt><dd>1.2 s</dd>"));
        write(dir.path(), "summary.json", &summary(None));
        let page = render_report(dir.path(), &ReportOptions::default()).unwrap();
        assert!(!page.contains("run time"));
        assert!(page.contains("<dt>seed</dt><dd>7</dd>"));
    }

    #[test]
    fn header_and_figures_come_from_summary_and_index() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "experiments.json", EXPERIMENTS);
        write(dir.path(), "summary.json", &summary(Some(1.234)));
        write(dir.path(), "figures/sheets/0000-m0.png", "png bytes");
        write(dir.path(), "figures/agg.png", "png bytes");
        write(
            dir.path(),
            "figures/index.json",
            r#"{"format": "ccc-analysis/1", "formats": ["png"],
                "sheets": [{"id": 0, "source": "TCI-comps-coords", "method": "m0", "png": "sheets/0000-m0.png",
                            "svg": null, "thumb": null}],
                "run": [{"kind": "aggregate", "title": "Sum", "png": "agg.png", "svg": null}]}"#,
        );
        let page = render_report(dir.path(), &ReportOptions::default()).unwrap();
        assert!(page.contains("<title>ccc report — m&lt;1&gt;</title>"));
        assert!(page.contains("0 … 100 (3 checkpoints)"));
        assert!(page.contains("4 coordinates × 3 checkpoints × 2 components"));
        assert!(page.contains("aggregation sum · grid 100 · pipelines * · steps all"));
        // Consensus: the most frequent outlier first.
        let first = page.find("data-coord=\"3\"").unwrap();
        assert!(first < page.find("data-coord=\"2\"").unwrap());
        let data = embedded_data(&page);
        assert_eq!(data["experiments"][0]["sheet"], "figures/sheets/0000-m0.png");
        assert_eq!(data["experiments"][0]["thumb"], "figures/sheets/0000-m0.png", "the sheet stands in for a thumb");
        assert_eq!(data["experiments"][1]["sheet"], serde_json::Value::Null);
        assert!(page.contains("src=\"figures/agg.png\""));

        let standalone = render_report(dir.path(), &ReportOptions { standalone: true }).unwrap();
        let inline = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode("png bytes"));
        assert!(standalone.contains(&format!("<script type=\"text/plain\" id=\"sheet-data-0\">{inline}</script>")));
        assert!(standalone.contains(&format!("src=\"{inline}\"")));
        assert!(!standalone.contains("figures/"), "nothing refers to the figures directory");
        let data = embedded_data(&standalone);
        assert_eq!(data["experiments"][0]["inline"], true);
    }
}
