//! `ccc report` and the HTML report, driven in a real browser (headless Chromium through chromedriver).
//!
//! The analysis output is built from the golden reference results (301 experiments, `tests/data/golden/`) with
//! fake sheet images of one flat colour per experiment, so the test can see on a screenshot which sheet the viewer
//! shows. Without Chromium the browser test fails when `CI` is set and is skipped (saying why) otherwise.

mod report_support;

use std::collections::{HashMap, HashSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use assert_cmd::Command;
use report_support::fixture::{self, sheet_colour, Fixture};
use report_support::webdriver::{Browser, Session};
use serde_json::{json, Value};

/// Run `ccc report DIR` and return the path it printed.
fn ccc_report(dir: &Path, standalone: bool) -> PathBuf {
    let mut cmd = Command::cargo_bin("ccc").unwrap();
    cmd.arg("report").arg(dir);
    if standalone {
        cmd.arg("--standalone");
    }
    let out = cmd.assert().success().get_output().stdout.clone();
    let printed = PathBuf::from(String::from_utf8(out).unwrap().trim());
    assert_eq!(printed, dir.join("report.html"), "`ccc report` prints the path of the report");
    assert!(printed.is_file());
    printed
}

fn browser_or_skip() -> Option<Browser> {
    match Browser::find() {
        Ok(b) => Some(b),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("the browser test must run in CI, but: {why} (`.ci/run` installs chromium and chromium-driver)")
        }
        Err(why) => {
            eprintln!("skipping the browser test: {why}");
            None
        }
    }
}

const VISIBLE_IDS: &str = "return Array.from(document.querySelectorAll('#experiments-table tbody tr'))\
    .filter(tr => !tr.hidden).map(tr => +tr.dataset.id);";

fn ids(v: Value) -> Vec<u64> {
    v.as_array().expect("an array of ids").iter().map(|x| x.as_u64().expect("an id")).collect()
}

/// The decoded RGB pixels of a PNG screenshot: (width, height, rgb bytes).
fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().expect("a screenshot fits in memory")];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    let rgb = buf[..info.buffer_size()].chunks(channels).flat_map(|p| [p[0], p[1], p[2]]).collect();
    (info.width, info.height, rgb)
}

/// How many pixels are within 3 of `colour` in every channel.
fn count_colour(rgb: &[u8], colour: [u8; 3]) -> usize {
    rgb.chunks(3).filter(|p| (0..3).all(|i| p[i].abs_diff(colour[i]) <= 3)).count()
}

fn assert_no_console_errors(s: &Session, when: &str) {
    let errors: Vec<_> = s.console().into_iter().filter(|(level, _)| level == "SEVERE").collect();
    assert!(errors.is_empty(), "console errors {when}: {errors:?}");
}

/// Every request of the page (DevTools network events, and the page's own resource timing) is local.
fn assert_only_local_requests(s: &Session, expect_files: bool) {
    // The report's own requests: those made by a document loaded from a file (the browser's own pages aside).
    let requests: Vec<String> =
        s.requests().into_iter().filter(|(doc, _)| doc.starts_with("file:")).map(|(_, url)| url).collect();
    if expect_files {
        assert!(requests.iter().any(|u| u.contains("/figures/")), "the page loaded its figures: {requests:?}");
    }
    let timing = s.js("return performance.getEntriesByType('resource').map(e => e.name);", json!([]));
    let timing = timing.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string());
    for url in requests.iter().cloned().chain(timing) {
        assert!(url.starts_with("file:") || url.starts_with("data:"), "the report requested a non-local URL: {url}");
    }
}

fn viewer_state(s: &Session) -> Value {
    s.js(
        "const d = document.getElementById('sheet-viewer'); const img = d.querySelector('img');
         return {open: d.open, id: d.dataset.id === undefined ? null : +d.dataset.id, src: img.getAttribute('src'),
                 loaded: img.complete && img.naturalWidth > 0, title: document.getElementById('viewer-title').textContent,
                 missing: !document.getElementById('viewer-missing').hidden};",
        json!([]),
    )
}

fn close_viewer(s: &Session) {
    s.click("#viewer-close");
    s.wait_for("return !document.getElementById('sheet-viewer').open;", "the viewer to close");
}

/// Sorting: the visible order follows `key` in the direction the header says, undefined scores last.
fn check_sorted(s: &Session, f: &Fixture, key: fn(&fixture::Exp) -> Option<f64>, header: &str) {
    let by_id: HashMap<u64, &fixture::Exp> = f.experiments.iter().map(|e| (e.id, e)).collect();
    for expected in ["ascending", "descending"] {
        s.click(&format!("#experiments-table button[data-sort=\"{header}\"]"));
        let sort = s.js(
            "return document.querySelector('#experiments-table button[data-sort=\"' + arguments[0] + '\"]')\
             .parentElement.getAttribute('aria-sort');",
            json!([header]),
        );
        assert_eq!(sort, json!(expected), "the {header} header says how the rows are sorted");
        let order = ids(s.js(VISIBLE_IDS, json!([])));
        assert_eq!(order.len(), f.experiments.len());
        let vals: Vec<Option<f64>> = order.iter().map(|id| key(by_id[id])).collect();
        let defined: Vec<f64> = vals.iter().map_while(|v| *v).collect();
        assert!(vals[defined.len()..].iter().all(Option::is_none), "undefined {header} sorts last");
        for w in defined.windows(2) {
            let ok = if expected == "ascending" { w[0] <= w[1] } else { w[0] >= w[1] };
            assert!(ok, "rows not sorted {expected} by {header}: {} then {}", w[0], w[1]);
        }
    }
}

#[test]
fn report_of_a_directory_without_an_analysis_fails_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("ccc").unwrap().arg("report").arg(dir.path()).assert().failure().get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("experiments.json") && err.contains("ccc analyze"), "stderr: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let missing = dir.path().join("nope");
    let out = Command::cargo_bin("ccc").unwrap().arg("report").arg(&missing).assert().failure().get_output().clone();
    assert!(String::from_utf8(out.stderr).unwrap().contains("not a directory"));
}

#[test]
fn report_html_embeds_the_data_safely_and_references_only_local_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let f = fixture::build(tmp.path(), true);
    let html = std::fs::read_to_string(ccc_report(&f.dir, false)).unwrap();
    let start = html.find("<script type=\"application/json\" id=\"ccc-data\">").unwrap();
    let body = &html[start..];
    let json_text = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    let data: Value = serde_json::from_str(json_text).unwrap();
    let exps = data["experiments"].as_array().unwrap();
    assert_eq!(exps.len(), f.experiments.len());
    for (e, want) in exps.iter().zip(&f.experiments) {
        assert_eq!(e["id"].as_u64(), Some(want.id));
        assert_eq!(e["method"].as_str(), Some(want.method.as_str()));
        assert_eq!(e["sheet"].as_str(), Some(format!("figures/sheets/{:04}-exp.png", want.id).as_str()));
    }
    // The SVG namespace is a name, not a request; no other URL may appear.
    let stripped = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!stripped.contains("http://") && !stripped.contains("https://"), "no URL to the network in the page");
    assert!(!html.contains("../summary.json"), "figure paths that leave figures/ are dropped");
    assert!(!html.contains("gone.png"), "figures that do not exist are dropped");
}

#[test]
fn report_works_in_a_real_browser() {
    let Some(browser) = browser_or_skip() else { return };
    let t0 = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let f = fixture::build(&tmp.path().join("with-figures"), true);
    let report = ccc_report(&f.dir, false);
    let s = Session::start(&browser, 1280, 1000);

    s.requests(); // drop what the browser did before opening the report (its new-tab page)
    s.open(&report);
    s.wait_for("return document.documentElement.dataset.ready === 'true';", "the report's script");
    let load_ms =
        s.js("const n = performance.getEntriesByType('navigation')[0]; return n.domContentLoadedEventEnd;", json!([]));
    eprintln!("report with {} experiments: DOMContentLoaded after {load_ms} ms", f.experiments.len());

    // One row per experiment, in file order at first.
    let order = ids(s.js(VISIBLE_IDS, json!([])));
    assert_eq!(order, f.experiments.iter().map(|e| e.id).collect::<Vec<_>>());
    // One scatter point per experiment with a score pair.
    let n_points = s.js("return document.querySelectorAll('#scatter .pt').length;", json!([]));
    let n_scored = f.experiments.iter().filter(|e| e.irr.is_some() && e.frac.is_some()).count();
    assert_eq!(n_points, json!(n_scored));
    // The header and the consensus.
    let meta = s.js("return document.getElementById('run-meta').textContent;", json!([]));
    assert!(meta.as_str().unwrap().contains("64 coordinates × 12 checkpoints × 42 components"), "{meta}");
    let top = s.js(
        "const r = document.querySelector('#top-coords tbody tr'); return [+r.dataset.coord, r.textContent];",
        json!([]),
    );
    assert_eq!(top[0], json!(f.top_coord.0), "the most frequent outlier coordinate comes first");
    assert!(top[1].as_str().unwrap().contains(&format!("{:.1}%", f.top_coord.1 * 100.0)));
    let grid_cells = s.js("return document.querySelectorAll('#comp-grid .bar').length;", json!([]));
    assert_eq!(grid_cells, json!(42), "one grid cell per component");
    let run_figs =
        s.js("return Array.from(document.querySelectorAll('.run-figure')).map(f => f.dataset.kind);", json!([]));
    assert_eq!(run_figs, json!(["outlier_memberships", "aggregate"]), "summary figures, minus the scores figure");

    // Sorting.
    check_sorted(&s, &f, |e| e.irr, "irregularity");
    check_sorted(&s, &f, |e| e.frac, "fraction");
    check_sorted(&s, &f, |e| Some(e.irr? + e.frac?), "sum");

    // Filtering by source, then by a text search over methods.
    let src = f.sources.iter().find(|s| s.contains("random")).unwrap_or(&f.sources[1]).clone();
    s.click(&format!("#source-filter option[value=\"{src}\"]"));
    let shown: HashSet<u64> = ids(s.js(VISIBLE_IDS, json!([]))).into_iter().collect();
    let want: HashSet<u64> = f.experiments.iter().filter(|e| e.source == src).map(|e| e.id).collect();
    assert!(!want.is_empty());
    assert_eq!(shown, want, "filtering by `{src}` leaves exactly its experiments");
    s.click("#source-filter option[value=\"\"]");
    let word = "MAD-last";
    s.type_into("#method-search", word);
    let shown: HashSet<u64> = ids(s.js(VISIBLE_IDS, json!([]))).into_iter().collect();
    let want: HashSet<u64> =
        f.experiments.iter().filter(|e| e.method.to_lowercase().contains(&word.to_lowercase())).map(|e| e.id).collect();
    assert!(!want.is_empty() && want.len() < f.experiments.len());
    assert_eq!(shown, want, "the search keeps the methods that contain `{word}`");
    s.clear("#method-search");
    s.js("document.getElementById('method-search').dispatchEvent(new Event('input'));", json!([]));
    assert_eq!(ids(s.js(VISIBLE_IDS, json!([]))).len(), f.experiments.len());

    // A row opens its sheet.
    let row_id = f.experiments[7].id;
    s.js("document.querySelector('#experiments-table tbody tr[data-id=\"' + arguments[0] + '\"]').scrollIntoView({block: 'center', behavior: 'instant'});", json!([row_id]));
    s.click(&format!("#experiments-table tbody tr[data-id=\"{row_id}\"] td.method"));
    s.wait_for("const i = document.querySelector('#sheet-viewer img'); return document.getElementById('sheet-viewer').open && i.complete && i.naturalWidth > 0;", "the sheet of the clicked row");
    let v = viewer_state(&s);
    assert_eq!(v["id"], json!(row_id));
    assert_eq!(v["src"], json!(format!("figures/sheets/{row_id:04}-exp.png")));
    assert!(v["title"].as_str().unwrap().contains(&format!("#{row_id}")));
    let (_, _, rgb) = decode_png(&s.screenshot());
    assert!(count_colour(&rgb, sheet_colour(row_id)) > 3000, "the viewer shows experiment {row_id}'s sheet");
    // The next button walks the table order.
    s.click("#viewer-next");
    assert_eq!(viewer_state(&s)["id"], json!(f.experiments[8].id));
    close_viewer(&s);

    // Hovering a point shows its experiment; clicking it opens its sheet. Pick a point that is not covered.
    s.js("document.getElementById('scores').scrollIntoView({behavior: 'instant'});", json!([]));
    let pid = s.js(
        "for (const p of document.querySelectorAll('#scatter .pt')) {
           const r = p.getBoundingClientRect();
           if (document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === p) return +p.dataset.id;
         } return null;",
        json!([]),
    );
    let pid = pid.as_u64().expect("an uncovered scatter point");
    let exp = f.experiments.iter().find(|e| e.id == pid).unwrap();
    s.hover(&format!("#scatter .pt[data-id=\"{pid}\"]"));
    let tip =
        s.js("const t = document.getElementById('scatter-tip'); return t.hidden ? null : t.textContent;", json!([]));
    let tip = tip.as_str().expect("a tooltip on hover");
    assert!(tip.contains(&format!("#{pid}")) && tip.contains(&exp.source) && tip.contains(&exp.method), "{tip}");
    assert!(tip.contains(&format!("{:.4}", exp.irr.unwrap())), "{tip}");
    s.click(&format!("#scatter .pt[data-id=\"{pid}\"]"));
    s.wait_for("return document.getElementById('sheet-viewer').open;", "the sheet of the clicked point");
    let v = viewer_state(&s);
    assert_eq!(v["id"], json!(pid));
    assert_eq!(v["src"], json!(format!("figures/sheets/{pid:04}-exp.png")));
    close_viewer(&s);

    // The legend toggles a source's points.
    let visible_points = "return Array.from(document.querySelectorAll('#scatter .pt'))\
        .filter(p => getComputedStyle(p).display !== 'none').map(p => p.dataset.source);";
    s.click(&format!("#scatter-legend button[data-source=\"{src}\"]"));
    let vis = s.js(visible_points, json!([]));
    let vis: Vec<&str> = vis.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let n_src = f.experiments.iter().filter(|e| e.source == src && e.irr.is_some() && e.frac.is_some()).count();
    assert_eq!(vis.len(), n_scored - n_src);
    assert!(!vis.contains(&src.as_str()));
    s.click(&format!("#scatter-legend button[data-source=\"{src}\"]"));
    assert_eq!(s.js(visible_points, json!([])).as_array().unwrap().len(), n_scored);

    // A screenshot of the page is not blank.
    s.js("window.scrollTo({top: 0, behavior: 'instant'});", json!([]));
    let shot = s.screenshot();
    let (w, h, rgb) = decode_png(&shot);
    assert!(w >= 800 && h >= 600, "screenshot {w}×{h}");
    let mut counts: HashMap<[u8; 3], usize> = HashMap::new();
    for p in rgb.chunks(3) {
        *counts.entry([p[0], p[1], p[2]]).or_default() += 1;
    }
    let dominant = counts.values().max().copied().unwrap_or(0) as f64 / (w * h) as f64;
    assert!(
        counts.len() > 50 && dominant < 0.9,
        "blank-looking screenshot: {} colours, dominant {dominant:.2}",
        counts.len()
    );
    if let Some(dir) = std::env::var_os("CCC_REPORT_SCREENSHOT_DIR") {
        std::fs::write(Path::new(&dir).join("report-test.png"), &shot).unwrap();
    }

    assert_only_local_requests(&s, true);
    assert_no_console_errors(&s, "on the report with figures");

    // Standalone: the figures are inside the page; it works with the figures directory gone.
    let g = fixture::build(&tmp.path().join("standalone"), true);
    let standalone = ccc_report(&g.dir, true);
    std::fs::remove_dir_all(g.dir.join("figures")).unwrap();
    s.open(&standalone);
    s.wait_for("return document.documentElement.dataset.ready === 'true';", "the standalone report");
    let id = g.experiments[3].id;
    s.click(&format!("#experiments-table tbody tr[data-id=\"{id}\"] td.method"));
    s.wait_for(
        "const i = document.querySelector('#sheet-viewer img'); return i.complete && i.naturalWidth > 0;",
        "an inlined sheet",
    );
    let v = viewer_state(&s);
    assert_eq!(v["id"], json!(id));
    assert!(v["src"].as_str().unwrap().starts_with("data:image/png;base64,"));
    close_viewer(&s);
    assert_only_local_requests(&s, false);
    assert_no_console_errors(&s, "on the standalone report");

    // No figures at all (`--figures none`): the table, the scatter and the viewer still work.
    let n = fixture::build(&tmp.path().join("no-figures"), false);
    let bare = ccc_report(&n.dir, false);
    s.open(&bare);
    s.wait_for("return document.documentElement.dataset.ready === 'true';", "the report without figures");
    assert_eq!(ids(s.js(VISIBLE_IDS, json!([]))).len(), n.experiments.len());
    s.click(&format!("#experiments-table tbody tr[data-id=\"{}\"] td.method", n.experiments[0].id));
    s.wait_for("return document.getElementById('sheet-viewer').open;", "the viewer without a sheet");
    let v = viewer_state(&s);
    assert_eq!(v["missing"], json!(true), "the viewer says there is no sheet");
    assert_eq!(v["src"], Value::Null);
    close_viewer(&s);
    assert_no_console_errors(&s, "on the report without figures");
    eprintln!("browser test took {:.1} s", t0.elapsed().as_secs_f64());
}

#[test]
fn demo_refuses_a_directory_that_holds_something_else() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("thesis.tex"), "precious").unwrap();
    let out = Command::cargo_bin("ccc")
        .unwrap()
        .args(["demo", "--no-open", "-o"])
        .arg(dir.path())
        .assert()
        .failure()
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("not empty") && err.contains("-o DIR"), "stderr: {err}");
    assert_eq!(std::fs::read_to_string(dir.path().join("thesis.tex")).unwrap(), "precious");
    let out =
        Command::cargo_bin("ccc").unwrap().args(["demo", "--mode", "tiny"]).assert().failure().get_output().clone();
    assert!(String::from_utf8(out.stderr).unwrap().contains("mode"));
}

/// The whole chain on the embedded real training run: analysis, figures, report — and the report in a browser.
#[test]
fn demo_writes_a_report_that_works_in_the_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let t0 = Instant::now();
    let out = Command::cargo_bin("ccc")
        .unwrap()
        .args(["demo", "--quiet", "--no-open", "-o"])
        .arg(&dir)
        .assert()
        .success()
        .get_output()
        .clone();
    eprintln!("ccc demo took {:.1} s", t0.elapsed().as_secs_f64());
    let printed = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert_eq!(printed, dir.join("report.html"));
    let experiments: Value = serde_json::from_slice(&std::fs::read(dir.join("experiments.json")).unwrap()).unwrap();
    let experiments = experiments["experiments"].as_array().unwrap();
    assert_eq!(experiments.len(), 301, "a full-mode model has 301 experiments");
    let summary: Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["model"], json!("mini-neox"));
    assert_eq!(summary["shape"], json!([128, 37, 122]));
    let index: Value = serde_json::from_slice(&std::fs::read(dir.join("figures/index.json")).unwrap()).unwrap();
    let sheets = index["sheets"].as_array().unwrap();
    assert!(!sheets.is_empty());
    for s in sheets {
        assert!(dir.join("figures").join(s["png"].as_str().unwrap()).is_file());
    }

    let Some(browser) = browser_or_skip() else { return };
    let s = Session::start(&browser, 1280, 1000);
    s.requests();
    s.open(&printed);
    s.wait_for("return document.documentElement.dataset.ready === 'true';", "the demo report");
    let shown = ids(s.js(VISIBLE_IDS, json!([])));
    let want: Vec<u64> = experiments.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(shown, want, "one row per experiment of experiments.json");
    let meta = s.js("return document.getElementById('run-meta').textContent;", json!([]));
    assert!(meta.as_str().unwrap().contains("0 … 13000 (37 checkpoints)"), "{meta}");
    // A drawn sheet opens from its row.
    let id = sheets[sheets.len() / 2]["id"].as_u64().unwrap();
    s.click(&format!("#experiments-table tbody tr[data-id=\"{id}\"] td.method"));
    s.wait_for(
        "const i = document.querySelector('#sheet-viewer img'); return i.complete && i.naturalWidth > 0;",
        "a real sheet",
    );
    let v = viewer_state(&s);
    assert_eq!(v["id"], json!(id));
    let png = sheets[sheets.len() / 2]["png"].as_str().unwrap();
    assert!(v["src"].as_str().unwrap().ends_with(png), "{v} shows {png}");
    close_viewer(&s);
    // Every summary figure loads.
    s.js("document.getElementById('summary-figures').scrollIntoView({behavior: 'instant'});", json!([]));
    s.wait_for(
        "return Array.from(document.querySelectorAll('.run-figure img')).every(i => i.complete && i.naturalWidth > 0);",
        "the summary figures",
    );
    assert_only_local_requests(&s, true);
    assert_no_console_errors(&s, "on the demo report");
}
