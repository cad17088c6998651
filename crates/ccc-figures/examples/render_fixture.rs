//! Render every figure of a fabricated analysis output directory, for looking at them and for timing.
//!
//! `cargo run --release -p ccc-figures --example render_fixture -- OUT_DIR [TENSOR] [--analyze] [--svg] [--summary]
//! [--smooth N] [--full-size]`
//!
//! Without `TENSOR`, the golden experiments of `tests/data/golden` are used. With `TENSOR` (any ccc/1 file) and
//! `--analyze`, the real analysis (`ccc_analyze::analyze`) runs first; without `--analyze` the golden experiments'
//! component groups are mapped onto its components and its coordinates are split by a simple rule, which exercises
//! every figure at that tensor's shape without the analysis' cost.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::Instant;

use ccc_figures::{render_analysis, FigureOptions, FigureSet, Format, Resolution};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(args.first().ok_or("usage: render_fixture OUT_DIR [TENSOR] [--svg] [--summary]")?);
    let tensor_arg = args.get(1).filter(|a| !a.starts_with("--"));
    let t = match tensor_arg {
        None => common::golden_analysis(&out),
        Some(p) if args.iter().any(|a| a == "--analyze") => {
            let t = ccc_core::file::read(std::path::Path::new(p))?;
            let start = Instant::now();
            let a = ccc_analyze::analyze(&t, &ccc_analyze::AnalyzeOptions::default(), &ccc_core::NoProgress)?;
            a.write_to(&out)?;
            eprintln!("analysis in {:.2} s", start.elapsed().as_secs_f64());
            t
        }
        Some(p) => {
            let t = ccc_core::file::read(std::path::Path::new(p))?;
            let (n_c, n_k) = (t.n_coord, t.n_comp());
            let exps: Vec<_> = common::golden_experiments()
                .into_iter()
                .map(|mut e| {
                    let id = e["id"].as_u64().unwrap_or(0) as usize;
                    let scale = |v: &serde_json::Value, n_old: usize, n: usize| -> Vec<usize> {
                        let mut o: Vec<usize> = v
                            .as_array()
                            .map(|a| a.iter().filter_map(|x| x.as_u64()).map(|x| x as usize * n / n_old).collect())
                            .unwrap_or_default();
                        o.dedup();
                        o
                    };
                    let g = &e["groups"];
                    let mut g1 = scale(&g["comps_grp1"], 42, n_k);
                    let g2: Vec<usize> =
                        scale(&g["comps_grp2"], 42, n_k).into_iter().filter(|k| !g1.contains(k)).collect();
                    if g1.is_empty() {
                        g1.push(0);
                    }
                    let out: Vec<usize> = (0..n_c).filter(|c| (c * 7919 + id * 31) % 97 < 2 + id % 3).collect();
                    let inl: Vec<usize> = (0..n_c).filter(|c| !out.contains(c)).collect();
                    e["groups"] = json!({"coords_in": inl, "coords_out": out, "comps_grp1": g1, "comps_grp2": g2});
                    e
                })
                .collect();
            common::write_analysis(&out, &t, &exps);
            t
        }
    };
    let opts = FigureOptions {
        figures: if args.iter().any(|a| a == "--summary") { FigureSet::Summary } else { FigureSet::All },
        format: if args.iter().any(|a| a == "--svg") { Format::Both } else { Format::Png },
        smooth: args.iter().position(|a| a == "--smooth").and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()),
        threads: 0,
        resolution: if args.iter().any(|a| a == "--full-size") { Resolution::Full } else { Resolution::Screen },
    };
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    let index = render_analysis(&out, &t, &opts, &ccc_core::NoProgress)?;
    eprintln!(
        "{} sheets + {} run figures in {:.2} s wall, {:.2} s CPU",
        index.sheets.len(),
        index.run.len(),
        start.elapsed().as_secs_f64(),
        cpu_seconds() - cpu0
    );
    Ok(())
}

/// User + system CPU time of this process so far (Linux; 0 elsewhere), to time on a busy machine.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command name (which is in parentheses): utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 =
        f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0) + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}
