//! An analysis output directory built from the golden reference results (`tests/data/golden/golden-small.json`,
//! 301 experiments on `synthetic-small.safetensors`), independently of `ccc analyze`: `experiments.json`,
//! `summary.json` (with a consensus computed here) and, on request, `figures/` with one small PNG per experiment
//! (a distinct flat colour per id, so a test can tell which sheet is shown) and a few per-run figures.

use std::path::{Path, PathBuf};

use ccc_analyze::files::experiments::{ExperimentGroups, GroupNames, GroupRanges, ScorePair};
use ccc_analyze::files::summary::{
    CompConsensus, ComponentIndicator, Consensus, CoordConsensus, OutlierIndicator, Precision, StatusCounts,
    SummaryOptions,
};
use ccc_analyze::files::{
    AnalysisFile, ExperimentRecord, ExperimentsFile, FigureIndex, FormatVersion, ImageFormat, RunEntry, RunKind,
    SheetEntry, Status, SummaryFile,
};
use ccc_analyze::Aggregation;
use serde_json::Value;

fn list(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

/// Where the repository's test data lives.
pub fn test_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

/// What the fixture holds, for assertions.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The output directory.
    pub dir: PathBuf,
    /// Every experiment, in file order.
    pub experiments: Vec<Exp>,
    /// The distinct sources, in order of first appearance.
    pub sources: Vec<String>,
    /// The coordinate most often called an outlier and its share of experiments.
    pub top_coord: (u64, f64),
}

/// What a test needs to know of one experiment.
#[derive(Debug, Clone)]
pub struct Exp {
    /// Its id.
    pub id: u64,
    /// Its source.
    pub source: String,
    /// Its method.
    pub method: String,
    /// Its irregularity.
    pub irr: Option<f64>,
    /// Its fraction.
    pub frac: Option<f64>,
}

/// The flat colour of experiment `id`'s fake sheet.
pub fn sheet_colour(id: u64) -> [u8; 3] {
    let h = (id.wrapping_mul(2_654_435_761) >> 8) as u32;
    [(h & 0xff) as u8, ((h >> 8) & 0xff) as u8, ((h >> 16) & 0xff) as u8 | 0x20]
}

fn write_png(path: &Path, w: u32, h: u32, rgb: [u8; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().unwrap();
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            // A white frame so the image is visibly an image; the body carries the colour.
            if x < 4 || y < 4 || x >= w - 4 || y >= h - 4 {
                data.extend_from_slice(&[255, 255, 255]);
            } else {
                data.extend_from_slice(&rgb);
            }
        }
    }
    writer.write_image_data(&data).unwrap();
}

/// Build the output directory in `dir`; with `figures`, also `figures/` and its `index.json`.
pub fn build(dir: &Path, figures: bool) -> Fixture {
    let golden: Value =
        serde_json::from_slice(&std::fs::read(test_data().join("golden/golden-small.json")).unwrap()).unwrap();
    let tensor = ccc_core::file::read(&test_data().join("golden/synthetic-small.safetensors")).unwrap();
    let [n_coords, n_steps, n_comps] = tensor.shape();
    let comp_names: Vec<String> = tensor.meta.components.iter().map(|c| c.name()).collect();

    let mut experiments = Vec::new();
    let mut summary_rows = Vec::new();
    let mut sources: Vec<String> = Vec::new();
    let mut out_count = vec![0u64; n_coords];
    let mut g1 = vec![0u64; n_comps];
    let mut g2 = vec![0u64; n_comps];
    let golden_exps = golden["experiments"].as_array().unwrap();
    for e in golden_exps {
        let id = e["index"].as_u64().unwrap();
        let source = e["source"].as_str().unwrap().to_string();
        if !sources.contains(&source) {
            sources.push(source.clone());
        }
        let groups = &e["groups"];
        for c in groups["coords_out"].as_array().unwrap() {
            out_count[c.as_u64().unwrap() as usize] += 1;
        }
        for c in groups["comps_grp1"].as_array().unwrap() {
            g1[c.as_u64().unwrap() as usize] += 1;
        }
        for c in groups["comps_grp2"].as_array().unwrap() {
            g2[c.as_u64().unwrap() as usize] += 1;
        }
        let irr = e["scores"]["irregularity"].as_f64();
        let frac = e["scores"]["fraction"].as_f64();
        let method = e["method"].as_str().unwrap().to_string();
        summary_rows.push(Exp { id, source: source.clone(), method: method.clone(), irr, frac });
        let groups = ExperimentGroups {
            coords_in: list(&groups["coords_in"]),
            coords_out: list(&groups["coords_out"]),
            comps_grp1: list(&groups["comps_grp1"]),
            comps_grp2: list(&groups["comps_grp2"]),
        };
        experiments.push(ExperimentRecord {
            id: id as usize,
            source: source.parse().unwrap(),
            method,
            status: Status::Ok,
            error: None,
            group_names: GroupNames::of(&groups, &comp_names),
            group_ranges: GroupRanges::of(&groups),
            groups,
            scores: ScorePair { irregularity: irr, fraction: frac },
            pipeline: None,
            outlier_method: None,
            time_s: Some(0.001),
        });
    }
    let n = golden_exps.len() as f64;
    let coords: Vec<CoordConsensus> =
        (0..n_coords).map(|coord| CoordConsensus { coord, outlier_fraction: out_count[coord] as f64 / n }).collect();
    let top = (0..n_coords).max_by(|&a, &b| out_count[a].cmp(&out_count[b]).then(b.cmp(&a))).unwrap();
    let comps: Vec<CompConsensus> = (0..n_comps)
        .map(|k| {
            let (a, b) = (g1[k] as f64 / n, g2[k] as f64 / n);
            CompConsensus { name: comp_names[k].clone(), grp1: a, grp2: b, discarded: (1.0 - a - b).max(0.0) }
        })
        .collect();
    let summary = SummaryFile {
        format: FormatVersion,
        model: tensor.meta.model.clone(),
        architecture: tensor.meta.architecture.clone(),
        mode: tensor.meta.mode,
        summary: tensor.meta.summary,
        shape: [n_coords, n_steps, n_comps],
        steps: tensor.steps.clone(),
        seed: 0,
        options: SummaryOptions {
            aggregation: Aggregation::Sum,
            grid: 100,
            steps: "all".into(),
            pipelines: "*".into(),
            pipelines_file: None,
        },
        precision: Precision {
            prep: "f32".into(),
            foldings: "f32".into(),
            clusterers: "f64".into(),
            trajectories: "f64".into(),
        },
        run_time_s: Some(1.25),
        phase_times_s: None,
        components: comp_names.clone(),
        sources: sources.iter().map(|s| s.parse().unwrap()).collect(),
        n_experiments: experiments.len(),
        status_counts: StatusCounts::of(experiments.iter().map(|e| e.status)),
        // The report does not show the indicators.
        outlier_indicator: OutlierIndicator::default(),
        component_indicator: ComponentIndicator::default(),
        consensus: Consensus { coords, comps },
        pipelines: Vec::new(),
    };
    std::fs::create_dir_all(dir).unwrap();
    ExperimentsFile { format: FormatVersion, experiments }.write(dir).unwrap();
    summary.write(dir).unwrap();

    if figures {
        let fig = dir.join("figures");
        let mut sheets = Vec::new();
        for Exp { id, source, method, .. } in &summary_rows {
            let png = format!("sheets/{id:04}-exp.png");
            let thumb = format!("thumbs/{id:04}-exp.png");
            write_png(&fig.join(&png), 96, 72, sheet_colour(*id));
            write_png(&fig.join(&thumb), 24, 18, sheet_colour(*id));
            sheets.push(SheetEntry {
                id: *id as usize,
                source: source.parse().unwrap(),
                method: method.clone(),
                png: Some(png),
                svg: None,
                thumb: Some(thumb),
            });
        }
        let mut run = Vec::new();
        for (kind, title, rgb) in [
            (RunKind::Scores, "Scores of all experiments", [30u8, 90, 200]),
            (RunKind::OutlierMemberships, "Outlier memberships", [200, 60, 60]),
            (RunKind::Aggregate, "1-D aggregate", [60, 160, 90]),
        ] {
            let png = format!("{}.png", kind.name());
            write_png(&fig.join(&png), 120, 80, rgb);
            run.push(RunEntry { kind, title: title.into(), png: Some(png), svg: None });
        }
        // An entry that points outside `figures/` must be ignored by the report, as must a missing file.
        let entry =
            |kind, title: &str, png: &str| RunEntry { kind, title: title.into(), png: Some(png.into()), svg: None };
        run.push(entry(RunKind::ComponentMemberships, "Outside", "../summary.json"));
        run.push(entry(RunKind::Overview, "Missing", "gone.png"));
        FigureIndex { format: FormatVersion, formats: vec![ImageFormat::Png], sheets, run }.write(dir).unwrap();
    }
    Fixture {
        dir: dir.to_path_buf(),
        experiments: summary_rows,
        sources,
        top_coord: (top as u64, out_count[top] as f64 / n),
    }
}
