//! The report's "Search" section (docs/search.md): whether the structure beats the null in one sentence, the
//! scores of the experiments, the front and the null fronts in one figure (the PNG of `figures/index.json`, or an
//! inline SVG when the figures were not drawn), and the front as a table.

use std::fmt::Write as _;

use ccc_analyze::files::search::{FrontScores, StartRef};
use ccc_analyze::files::{ExperimentRecord, SearchFile, Status};

use super::html::escape;

const W: f64 = 640.0;
const H: f64 = 360.0;
const PAD: f64 = 48.0;

/// The section, or nothing when `ccc search` did not run on this directory.
pub(crate) fn search_html(
    s: Option<&SearchFile>,
    experiments: &[ExperimentRecord],
    out_dir: &std::path::Path,
    figure: Option<&str>,
) -> String {
    let Some(s) = s else { return String::new() };
    let mut h = String::new();
    h.push_str("<section id=\"search\" aria-labelledby=\"search-h\">\n<h2 id=\"search-h\">Search</h2>\n");
    let _ = writeln!(h, "<p class=\"verdict\"><strong>{}</strong></p>", escape(&ccc_analyze::search::verdict(s)));
    let _ = writeln!(
        h,
        "<p class=\"note\">{} front points from {} evaluations ({} experiments and {} random start points; null \
         model: {}). Lower is better for both scores.{}</p>",
        s.front.len(),
        s.evaluations,
        s.starts.experiments,
        s.starts.random,
        escape(s.null.method.name()),
        if s.interrupted { " The search was interrupted: this is the best front so far." } else { "" }
    );
    match figure {
        Some(src) => {
            let _ = writeln!(
                h,
                "<figure class=\"run-figure\" data-kind=\"search\"><img src=\"{}\" alt=\"irregularity against \
                 fraction: experiments, search front and null fronts\" loading=\"lazy\" decoding=\"async\"></figure>",
                escape(src)
            );
        }
        None => h.push_str(&scatter(s, experiments)),
    }
    h.push_str(
        "<table class=\"search-front\"><thead><tr><th scope=\"col\" class=\"num\">#</th><th scope=\"col\" \
         class=\"num\">fraction</th><th scope=\"col\" class=\"num\">irregularity</th><th scope=\"col\" \
         class=\"num\">÷ null</th><th scope=\"col\" class=\"num\">p</th><th scope=\"col\" class=\"num\">random \
         %ile</th><th scope=\"col\" class=\"num\">out · g1 · g2</th><th scope=\"col\">start</th></tr></thead>\n<tbody>\n",
    );
    let opt = |v: Option<f64>, digits: usize| v.map_or("–".to_string(), |x| format!("{x:.digits$}"));
    for (i, p) in s.front.iter().enumerate() {
        let mut start = match p.start {
            StartRef::Experiment(id) => format!("experiment {id}"),
            StartRef::Random(_) => "random".into(),
        };
        let sheet = crate::search_sheets::search_sheet_path(i);
        if out_dir.join(&sheet).is_file() {
            start = format!("{start} · <a href=\"{}\">sheet</a>", escape(&sheet));
        }
        let _ = writeln!(
            h,
            "<tr><td class=\"num\">{i}</td><td class=\"num\">{:.4}</td><td class=\"num\">{:.5}</td><td \
             class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{} · {} · \
             {}</td><td>{start}</td></tr>",
            p.scores.fraction,
            p.scores.irregularity,
            opt(p.null_ratio, 2),
            opt(p.p_value, 2),
            opt(p.random_percentile, 1),
            p.groups.coords_out.len(),
            p.groups.comps_grp1.len(),
            p.groups.comps_grp2.len(),
        );
    }
    h.push_str(
        "</tbody></table>\n<p class=\"note\">The groups of each point are in <code>search.json</code>; \
                <code>ccc score --groups</code> reproduces its scores.</p>\n</section>\n",
    );
    h
}

/// Irregularity against fraction: the experiments (grey), the null fronts (blue, dashed) and the front (red).
fn scatter(s: &SearchFile, experiments: &[ExperimentRecord]) -> String {
    let exps: Vec<(f64, f64)> = experiments
        .iter()
        .filter(|e| e.status == Status::Ok)
        .filter_map(|e| Some((e.scores.fraction?, e.scores.irregularity?)))
        .collect();
    let pts = |f: &[FrontScores]| f.iter().map(|p| (p.fraction, p.irregularity)).collect::<Vec<_>>();
    let front = pts(&s.front.iter().map(|p| p.scores).collect::<Vec<_>>());
    let nulls: Vec<Vec<(f64, f64)>> = s.null.fronts.iter().map(|f| pts(f)).collect();
    let all: Vec<(f64, f64)> = exps.iter().chain(&front).chain(nulls.iter().flatten()).copied().collect();
    if all.is_empty() {
        return String::new();
    }
    let fmax = all.iter().map(|p| p.0).fold(0.0f64, f64::max).max(1e-3);
    let imax = all.iter().map(|p| p.1).fold(0.0f64, f64::max).max(1e-6);
    let x = |f: f64| PAD + (W - 2.0 * PAD) * f / fmax;
    let y = |i: f64| H - PAD - (H - 2.0 * PAD) * i / imax;
    let mut h = format!(
        "<svg class=\"search-scatter\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" \
         aria-label=\"irregularity against fraction: experiments, front and null fronts\">\n\
         <rect x=\"{PAD}\" y=\"{PAD}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\n",
        W - 2.0 * PAD,
        H - 2.0 * PAD
    );
    for &(f, i) in &exps {
        let _ =
            writeln!(h, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"#999\" fill-opacity=\"0.6\"/>", x(f), y(i));
    }
    let line =
        |p: &[(f64, f64)]| p.iter().map(|&(f, i)| format!("{:.1},{:.1}", x(f), y(i))).collect::<Vec<_>>().join(" ");
    for n in &nulls {
        let _ = writeln!(
            h,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>",
            line(n)
        );
    }
    let _ = writeln!(h, "<polyline points=\"{}\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\"/>", line(&front));
    for &(f, i) in &front {
        let _ = writeln!(h, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"#d62728\"/>", x(f), y(i));
    }
    let _ = writeln!(
        h,
        "<text x=\"{PAD}\" y=\"{:.0}\" font-size=\"12\">fraction (0 – {fmax:.3})</text>\n\
         <text x=\"4\" y=\"{:.0}\" font-size=\"12\">irregularity (0 – {imax:.4})</text>\n\
         <text x=\"{:.0}\" y=\"20\" font-size=\"12\"><tspan fill=\"#999\">● experiments</tspan> \
         <tspan fill=\"#d62728\">● front</tspan> <tspan fill=\"#1f77b4\">- - null fronts</tspan></text>\n</svg>",
        H - 12.0,
        PAD - 10.0,
        PAD
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_analyze::files::AnalysisFile;

    #[test]
    fn section_only_with_a_search_and_with_its_verdict() {
        assert_eq!(search_html(None, &[], std::path::Path::new("."), None), "");
        let text = br#"{"format": "ccc-analysis/1", "model": "m", "shape": [4, 5, 6], "seed": 0,
          "options": {"aggregation": "sum", "grid": 100, "steps": "all", "budget": 10, "nulls": 1, "random": 0,
                      "random_starts": 1, "max_fraction": 0.2, "min_group": 2},
          "front": [{"groups": {"coords_in": [0, 1, 2], "coords_out": [3], "comps_grp1": [0, 1], "comps_grp2": [2, 3]},
                     "group_names": {"comps_grp1": ["a", "b"], "comps_grp2": ["c", "d"]},
                     "scores": {"irregularity": 0.01, "fraction": 0.25}, "null_ratio": 0.1, "p_value": 0.5,
                     "random_percentile": null, "start": "random"}],
          "null": {"method": "permute-coords-within-components", "fronts": [[{"irregularity": 0.1, "fraction": 0.0}]]},
          "experiments_front": [], "starts": {"experiments": 0, "random": 1, "skipped": 0},
          "evaluations": 20, "interrupted": false}"#;
        let s = SearchFile::from_bytes(text, std::path::Path::new("search.json")).unwrap();
        let h = search_html(Some(&s), &[], std::path::Path::new("."), None);
        assert!(h.contains("<h2 id=\"search-h\">Search</h2>"), "{h}");
        assert!(h.contains("Yes: at fraction 0.250 the front is 10.0× more regular"), "{h}");
        assert!(h.contains("stroke-dasharray"), "the null front is drawn");
        assert!(h.contains("<td class=\"num\">0.25</td>") || h.contains("0.2500"), "{h}");
        // With the figure drawn, the section shows it instead of the inline SVG.
        let h = search_html(Some(&s), &[], std::path::Path::new("."), Some("figures/search-scores.png"));
        assert!(h.contains("<img src=\"figures/search-scores.png\""), "{h}");
        assert!(!h.contains("<svg"), "{h}");
    }
}
