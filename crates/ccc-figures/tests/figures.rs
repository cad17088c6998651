//! Structural tests of every figure: sizes, drawn pixels where data is, group-grid colours at known cells, SVG that
//! parses and carries its title, `index.json` matching the files, and one SVG snapshot.

mod common;

use ccc_analyze::files::{AnalysisFile as _, ImageFormat};
use ccc_analyze::{trajectories, Aggregation};
use ccc_core::ComponentKind::*;
use ccc_core::{CccMeta, CccTensor, Component, Mode, NoProgress, Summary};
use ccc_figures::grid::Membership;
use ccc_figures::lines::CurvesFigure;
use ccc_figures::panel::Rect;
use ccc_figures::style;
use ccc_figures::{
    render_analysis, to_raster, to_svg, FigureIndex, FigureOptions, FigureSet, Format, Raster, Resolution, RunKind,
    Sheet, SheetInput,
};
use plotters::style::RGBColor;

/// A tensor with a smooth, coordinate-dependent pattern (so trajectories are distinct lines).
fn tensor(n_coord: usize, n_ckpt: usize, components: Vec<Component>, mode: Mode, n_kv: usize) -> CccTensor {
    let n_layer = components.iter().filter_map(|c| c.layer).max().map_or(1, |l| l + 1);
    let n_head = components.iter().filter_map(|c| c.head).max().map_or(1, |h| h + 1);
    let lengths = vec![64; components.len()];
    let meta = CccMeta {
        model: "test-model".into(),
        architecture: "llama".into(),
        mode,
        n_layer,
        n_head,
        n_kv_head: n_kv,
        summary: Summary::MeanSq,
        components,
        duplicates: vec![],
        extra: Default::default(),
    };
    let steps: Vec<i64> = (0..n_ckpt as i64).map(|i| if i < 8 { (1 << i) - 1 } else { i * 1000 }).collect();
    let mut t = CccTensor::empty(meta, n_coord, steps, lengths).unwrap();
    for c in 0..n_coord {
        for s in 0..n_ckpt {
            for k in 0..t.n_comp() {
                let i = t.index(c, s, k);
                let x = s as f32 / n_ckpt as f32;
                let boost = if c % 17 == 3 { 5.0 } else { 1.0 };
                t.mags[i] = boost * (1.0 + x * (1.0 + (c % 5) as f32 * 0.2) + (k % 3) as f32 * 0.1 * x * x);
            }
        }
    }
    t.filled.iter_mut().for_each(|f| *f = true);
    t
}

fn sheet_for(t: &CccTensor, grp1: &[usize], grp2: &[usize], coords_out: &[usize], smooth: Option<usize>) -> Sheet {
    let tr = trajectories(t, grp1, grp2, Aggregation::Sum);
    let coords_in: Vec<usize> = (0..t.n_coord).filter(|c| !coords_out.contains(c)).collect();
    let sc = ccc_analyze::score(&tr, &coords_in, coords_out.len(), 100);
    Sheet::new(&SheetInput {
        id: Some(7),
        source: "test-source",
        method: "instructions[(_inp111_data101, median), (_inp101_out101, bipartition_spectral)]|MAD-last-sum",
        context: "context line".into(),
        components: &t.meta.components,
        steps: &t.steps,
        trajectories: &tr,
        coords_in: &coords_in,
        coords_out,
        grp1,
        grp2,
        scores: (sc.irregularity, sc.fraction),
        grid: 100,
        smooth,
    })
}

fn non_white_fraction(r: &Raster, rect: Rect) -> f64 {
    let (mut n, mut drawn) = (0usize, 0usize);
    for y in (rect.y0 as u32 + 2)..(rect.y1 as u32 - 2) {
        for x in (rect.x0 as u32 + 2)..(rect.x1 as u32 - 2) {
            n += 1;
            let p = r.pixel(x, y);
            // Light grid lines are (228, 228, 228); count only real ink.
            if p.iter().any(|&v| v < 215) {
                drawn += 1;
            }
        }
    }
    drawn as f64 / n.max(1) as f64
}

fn rgb(c: RGBColor) -> [u8; 3] {
    [c.0, c.1, c.2]
}

/// Check every cell of the group grid: the fill colour at the edge of the cell, and the cross of discarded cells.
fn check_grid(sheet: &Sheet, r: &Raster, grp1: &[usize], grp2: &[usize]) {
    let geo = sheet.layout().grid;
    for (k, &(row, col)) in sheet.grid_layout().cells.iter().enumerate() {
        let (x0, y0, x1, y1) = geo.cell_rect(row, col);
        let (cx, cy) = geo.cell_center(row, col);
        // A point inside the cell away from its border and away from the diagonals of the cross.
        let (sx, sy) = ((x0 + (x1 - x0) * 0.5) as u32, (y0 + (y1 - y0) * 0.2).max(y0 + 2.0) as u32);
        let want = match Membership::of(k, grp1, grp2) {
            Membership::Group1 => style::GROUP1,
            Membership::Group2 => style::GROUP2,
            Membership::Both => style::BOTH,
            Membership::Discarded => style::DISCARDED,
        };
        assert_eq!(r.pixel(sx, sy), rgb(want), "component {k} at cell ({row}, {col})");
        if Membership::of(k, grp1, grp2) == Membership::Discarded {
            // The centre of the cross is drawn.
            let centre = r.pixel(cx as u32, cy as u32);
            assert!(centre.iter().all(|&v| v < 240), "no cross on discarded component {k}: {centre:?}");
        } else {
            assert_eq!(r.pixel(cx as u32, cy as u32), rgb(want), "centre of component {k}");
        }
    }
}

#[test]
fn sheet_panels_are_drawn_and_grid_shows_groups() {
    let comps = Component::full_list(3, 4, 2, &[EmbIn, EmbOut, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2]);
    let t = tensor(40, 14, comps, Mode::Full, 2);
    let (grp1, grp2) = (vec![0, 2, 3, 5, 9], vec![1, 5, 6, 7, 20, 30]);
    let sheet = sheet_for(&t, &grp1, &grp2, &[3, 20, 37], None);
    let r = to_raster(&sheet).unwrap();
    assert_eq!((r.width, r.height), (2000, 1900));
    let lay = sheet.layout();
    for (i, p) in lay.panels[..3].iter().enumerate() {
        let f = non_white_fraction(&r, *p);
        assert!(f > 0.002, "panel {i} has almost nothing drawn ({f})");
    }
    check_grid(&sheet, &r, &grp1, &grp2);
    // GQA: 4 Q rows but only 2 K and V rows.
    let g = sheet.grid_layout();
    assert_eq!(g.rows.iter().filter(|r| r.starts_with("Q ")).count(), 4);
    assert_eq!(g.rows.iter().filter(|r| r.starts_with("K ")).count(), 2);
    assert_eq!(g.cols.len(), 4);
}

#[test]
fn compact_sheet_has_one_grid_column_and_many_checkpoints_work() {
    let comps = Component::compact_list(&[EmbIn, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2]);
    let t = tensor(30, 160, comps, Mode::Compact, 1);
    let (grp1, grp2) = (vec![0, 1], vec![2, 3, 4]);
    let sheet = sheet_for(&t, &grp1, &grp2, &[], Some(10));
    assert_eq!(sheet.grid_layout().cols.len(), 1);
    let r = to_raster(&sheet).unwrap();
    check_grid(&sheet, &r, &grp1, &grp2);
    let lay = sheet.layout();
    assert!(non_white_fraction(&r, lay.panels[0]) > 0.002);
    assert!(non_white_fraction(&r, lay.panels[2]) > 0.002);
}

#[test]
fn many_coordinates_are_subsampled_and_said_so() {
    let comps = Component::compact_list(&[EmbIn, Q, V, O, MlpIn, MlpOut]);
    let t = tensor(2100, 5, comps, Mode::Compact, 1);
    let sheet = sheet_for(&t, &[0], &[1, 2], &[3], None);
    let svg = to_svg(&sheet).unwrap();
    let drawn = ccc_figures::sheet::MAX_DRAWN_INLIERS;
    assert!(svg.contains(&format!("{drawn} of 2099 drawn")), "panel does not say it subsampled");
    roxmltree::Document::parse(&svg).expect("svg parses");
}

#[test]
fn sheet_svg_parses_and_has_title_and_labels() {
    let comps = Component::full_list(2, 2, 2, &[EmbIn, Q, K, V, O, MlpIn, MlpOut]);
    let t = tensor(20, 6, comps, Mode::Full, 2);
    let sheet = sheet_for(&t, &[0, 1], &[2, 3], &[3], None);
    let svg = to_svg(&sheet).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("svg parses as XML");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect();
    for want in ["Experiment 7 · test-source", "group 1 (log, normalized)", "group 2 (log, normalized)", "step"] {
        assert!(texts.iter().any(|t| t.contains(want)), "no text `{want}` in {texts:?}");
    }
    assert!(texts.iter().any(|t| t.starts_with("flow field · irregularity")));
}

#[test]
fn component_and_aggregate_figures_label_real_steps() {
    let comps = Component::full_list(2, 2, 2, &[EmbIn, Q, K, V, O, MlpIn, MlpOut]);
    let t = tensor(20, 12, comps, Mode::Full, 2);
    let k = t.meta.components.iter().position(|c| c.name() == "L1.H1.Q").unwrap();
    let fig = CurvesFigure::component(&t, k, "ctx");
    let svg = to_svg(&fig).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts: Vec<&str> =
        doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text().map(str::trim)).collect();
    assert!(texts.iter().any(|t| t.contains("Component L1.H1.Q")));
    // First and last checkpoints are labelled with their steps.
    assert!(texts.contains(&"0") && texts.contains(&"11k"), "{texts:?}");
    let r = to_raster(&CurvesFigure::aggregate(&t, "ctx")).unwrap();
    assert_eq!((r.width, r.height), (2000, 1250));
}

fn png_size(path: &std::path::Path) -> (u32, u32) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let r = dec.read_info().unwrap();
    (r.info().width, r.info().height)
}

#[test]
fn render_analysis_writes_indexed_figures() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::golden_tensor();
    // A dozen experiments keep the test fast; the full 301 run is the benchmark's job.
    let exps: Vec<_> =
        common::golden_experiments().into_iter().filter(|e| e["id"].as_u64().unwrap() % 25 == 0).collect();
    common::write_analysis(dir.path(), &t, &exps);
    let opts = FigureOptions {
        figures: FigureSet::All,
        format: Format::Both,
        smooth: None,
        threads: 2,
        resolution: Resolution::Full,
    };
    let index = render_analysis(dir.path(), &t, &opts, &NoProgress).unwrap();
    let figs = dir.path().join("figures");
    let on_disk = FigureIndex::read(dir.path()).unwrap();
    assert_eq!(on_disk, index);
    assert_eq!(index.formats, vec![ImageFormat::Png, ImageFormat::Svg]);
    assert_eq!(index.sheets.len(), exps.len());
    for (s, e) in index.sheets.iter().zip(&exps) {
        assert_eq!(s.id as u64, e["id"].as_u64().unwrap());
        let png = s.png.as_ref().unwrap();
        assert!(png.starts_with(&format!("sheets/{:04}-", s.id)), "{png}");
        assert_eq!(png_size(&figs.join(png)), (2000, 1900));
        let (tw, _) = png_size(&figs.join(s.thumb.as_ref().unwrap()));
        assert_eq!(tw, ccc_figures::render::THUMB_WIDTH);
        let svg = std::fs::read_to_string(figs.join(s.svg.as_ref().unwrap())).unwrap();
        roxmltree::Document::parse(&svg).expect("sheet svg parses");
        assert!(svg.contains(&format!("Experiment {}", s.id)));
    }
    let kinds: Vec<RunKind> = index.run.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        vec![
            RunKind::Scores,
            RunKind::OutlierMemberships,
            RunKind::ComponentMemberships,
            RunKind::Aggregate,
            RunKind::Overview
        ]
    );
    for r in &index.run {
        let (w, h) = png_size(&figs.join(r.png.as_ref().unwrap()));
        assert!((1600..=2400).contains(&w.max(h)), "{:?} is {w}×{h}", r.kind);
        let svg = std::fs::read_to_string(figs.join(r.svg.as_ref().unwrap())).unwrap();
        let doc = roxmltree::Document::parse(&svg).expect("run figure svg parses");
        assert!(
            doc.descendants().any(|n| n.has_tag_name("text") && n.text().map(str::trim) == Some(r.title.as_str())),
            "{:?}: title `{}` not in svg",
            r.kind,
            r.title
        );
    }
}

#[test]
fn summary_only_and_none_write_no_sheets() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::golden_analysis(dir.path());
    let opts = FigureOptions { figures: FigureSet::Summary, ..Default::default() };
    let index = render_analysis(dir.path(), &t, &opts, &NoProgress).unwrap();
    assert!(index.sheets.is_empty());
    assert_eq!(index.run.len(), 5);
    assert!(index.run.iter().all(|r| r.svg.is_none() && r.png.is_some()));
    assert!(!dir.path().join("figures/sheets").exists());
    let none = FigureOptions { figures: FigureSet::None, ..Default::default() };
    let other = tempfile::tempdir().unwrap();
    assert!(render_analysis(other.path(), &t, &none, &NoProgress).unwrap().run.is_empty());
    assert!(!other.path().join("figures").exists());
}

#[test]
fn mismatched_analysis_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    common::golden_analysis(dir.path());
    let comps = Component::compact_list(&[EmbIn, Q]);
    let other = tensor(10, 12, comps, Mode::Compact, 1);
    let err = render_analysis(dir.path(), &other, &FigureOptions::default(), &NoProgress).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
}

#[test]
fn sheet_svg_snapshot() {
    let comps = Component::compact_list(&[EmbIn, Q, V, MlpIn]);
    let t = tensor(6, 5, comps, Mode::Compact, 1);
    let sheet = sheet_for(&t, &[0, 1], &[1, 2], &[3], None);
    insta::assert_snapshot!(to_svg(&sheet).unwrap());
}

/// The RGB pixels of a PNG file's bytes, whatever its colour type (palette entries expanded).
fn decode_png(bytes: &[u8]) -> (png::ColorType, Raster) {
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut reader = dec.read_info().unwrap();
    let stored = reader.info().color_type;
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb, "expanded to RGB");
    buf.truncate(info.buffer_size());
    (stored, Raster { width: info.width, height: info.height, pixels: buf })
}

#[test]
fn screen_sheet_is_the_full_sheet_scaled() {
    let comps = Component::full_list(3, 4, 2, &[EmbIn, EmbOut, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2]);
    let t = tensor(40, 14, comps, Mode::Full, 2);
    let (grp1, grp2) = (vec![0, 2, 3, 5, 9], vec![1, 5, 6, 7, 20, 30]);
    let sheet = sheet_for(&t, &grp1, &grp2, &[3, 20, 37], None);
    let r = ccc_figures::to_raster_at(&sheet, Resolution::Screen).unwrap();
    assert_eq!((r.width, r.height), (1600, 1520));
    let s = ccc_figures::options::SCREEN_SCALE;
    // Every grid cell has its group's colour where the full-size cell has it, scaled.
    let geo = sheet.layout().grid;
    for (k, &(row, col)) in sheet.grid_layout().cells.iter().enumerate() {
        let (x0, y0, x1, y1) = geo.cell_rect(row, col);
        let (sx, sy) = (((x0 + x1) * 0.5 * s) as u32, ((y0 + (y1 - y0) * 0.25) * s) as u32);
        let want = match Membership::of(k, &grp1, &grp2) {
            Membership::Group1 => style::GROUP1,
            Membership::Group2 => style::GROUP2,
            Membership::Both => style::BOTH,
            Membership::Discarded => style::DISCARDED,
        };
        assert_eq!(r.pixel(sx, sy), rgb(want), "component {k} at cell ({row}, {col})");
    }
    for (i, p) in sheet.layout().panels[..3].iter().enumerate() {
        let scaled = Rect::new(p.x0 * s, p.y0 * s, p.x1 * s, p.y1 * s);
        let f = non_white_fraction(&r, scaled);
        assert!(f > 0.002, "panel {i} has almost nothing drawn at screen size ({f})");
    }
}

#[test]
fn sheet_png_decodes_to_what_was_drawn() {
    let comps = Component::full_list(3, 4, 2, &[EmbIn, EmbOut, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2]);
    let t = tensor(300, 30, comps, Mode::Full, 2);
    let sheet = sheet_for(&t, &[0, 2, 3, 5, 9], &[1, 5, 6, 7, 20, 30], &[3, 20, 37], None);
    for resolution in [Resolution::Screen, Resolution::Full] {
        let r = ccc_figures::to_raster_at(&sheet, resolution).unwrap();
        let mut bytes = Vec::new();
        r.write_png(&mut bytes).unwrap();
        let (stored, back) = decode_png(&bytes);
        assert_eq!(stored, png::ColorType::Indexed);
        assert_eq!((back.width, back.height), (r.width, r.height));
        let indexed = ccc_figures::palette::index(&r.pixels);
        assert!(!indexed.lossless, "this sheet has more than 256 colours");
        assert_eq!(back.pixels, indexed.to_rgb(), "the file holds the palette image");
        // Translucent lines blend into more than 256 colours: the frequent ones are exact, the rest close.
        let mut counts = std::collections::HashMap::<&[u8], usize>::new();
        for p in r.pixels.chunks(3) {
            *counts.entry(p).or_default() += 1;
        }
        let mut by_count: Vec<(&[u8], usize)> = counts.into_iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let frequent: std::collections::HashSet<&[u8]> = by_count.iter().take(192).map(|c| c.0).collect();
        let mut error = 0u64;
        for (a, b) in r.pixels.chunks(3).zip(back.pixels.chunks(3)) {
            if frequent.contains(a) {
                assert_eq!(a, b, "a frequent colour is stored exactly");
            }
            error += a.iter().zip(b).map(|(x, y)| x.abs_diff(*y) as u64).sum::<u64>();
        }
        let mean = error as f64 / r.pixels.len() as f64;
        assert!(mean < 0.5, "mean error {mean} per channel");
    }
}

/// A figure of flat fills only: at most 256 colours, so its PNG is exact.
struct Flat;

impl ccc_figures::Figure for Flat {
    fn size(&self) -> (u32, u32) {
        (300, 200)
    }
    fn draw<DB: plotters::prelude::DrawingBackend>(
        &self,
        root: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), ccc_figures::FigureError> {
        use plotters::prelude::*;
        for (i, c) in style::QUALITATIVE.iter().enumerate() {
            let x = i as i32 * 40;
            root.draw(&Rectangle::new([(x, 10), (x + 30, 190)], c.filled()))
                .map_err(|e| ccc_figures::FigureError::Draw(e.to_string()))?;
        }
        Ok(())
    }
}

#[test]
fn flat_figure_png_is_lossless_at_every_resolution() {
    for resolution in [Resolution::Screen, Resolution::Full] {
        let r = ccc_figures::to_raster_at(&Flat, resolution).unwrap();
        let mut bytes = Vec::new();
        r.write_png(&mut bytes).unwrap();
        let (stored, back) = decode_png(&bytes);
        assert_eq!(stored, png::ColorType::Indexed);
        assert_eq!(back, r, "decodes to the drawn pixels");
        assert!(ccc_figures::palette::index(&r.pixels).lossless);
    }
}
