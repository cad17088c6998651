//! `ccc score`: score your own grouping(s) of coordinates and components (docs/analysis.md §6–§7).

use std::path::PathBuf;

use anyhow::{bail, Context};
use ccc_analyze::{analysis_input, score_groups, OutlierMethod};
use ccc_core::{ComponentPattern, Groups};
use serde::Deserialize;

use super::trajectory_args::TrajectoryArgs;

/// Flags of `ccc score`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A ccc/1 file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// A JSON file holding a groups object or an array of them (`coords_in`, `coords_out`, `comps_grp1`,
    /// `comps_grp2`: sorted index lists; without the coordinate lists, `--outliers` finds them).
    #[arg(long, value_name = "G.json", conflicts_with_all = ["grp1", "grp2"])]
    pub groups: Option<PathBuf>,

    /// Components of group 1, by name globs (e.g. `L*.H*.Q`).
    #[arg(long, value_name = "GLOB", requires = "grp2")]
    pub grp1: Option<String>,

    /// Components of group 2, by name globs (e.g. `L*.mlp_in`).
    #[arg(long, value_name = "GLOB", requires = "grp1")]
    pub grp2: Option<String>,

    /// How to find the outlier coordinates when the groups do not give them.
    #[arg(long, value_name = "METHOD", value_parser = parse_method)]
    pub outliers: Option<OutlierMethod>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub trajectory: TrajectoryArgs,

    /// Seed of `MAD-union-lincomb`'s random angles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Print a JSON array of `{"irregularity", "fraction"}`, one per groups object, in order.
    #[arg(long)]
    pub json: bool,
}

fn parse_method(s: &str) -> Result<OutlierMethod, String> {
    s.parse::<OutlierMethod>().map_err(|e| e.to_string())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum GroupsFile {
    Many(Vec<Groups>),
    One(Groups),
}

/// Run `ccc score`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.groups.is_none() && args.grp1.is_none() {
        bail!("say what to score: `--groups G.json`, or `--grp1 GLOB --grp2 GLOB` (with `--outliers METHOD`)");
    }
    if args.trajectory.grid == 0 {
        bail!("--grid must be at least 1 (the default is 100)");
    }
    let steps = args.trajectory.step_selection()?;
    let records: Vec<Groups> = match &args.groups {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            match serde_json::from_str::<GroupsFile>(&text).with_context(|| {
                format!(
                    "{}: expected a JSON groups object or an array of them, with keys coords_in, coords_out, \
                     comps_grp1, comps_grp2",
                    p.display()
                )
            })? {
                GroupsFile::Many(v) => v,
                GroupsFile::One(g) => vec![g],
            }
        }
        None => Vec::new(),
    };
    let tensor = ccc_core::file::read(&args.file)?;
    let t = analysis_input(&tensor, &steps)?;
    let records = if args.groups.is_some() {
        records
    } else {
        let comps = &t.meta.components;
        let pick = |glob: &str, flag: &str| -> anyhow::Result<Vec<usize>> {
            let p = ComponentPattern::parse(glob).with_context(|| format!("bad {flag} `{glob}`"))?;
            let sel = p.select(comps);
            if sel.is_empty() {
                bail!("{flag} `{glob}` matches no component; see `ccc info -v {}` for the names", args.file.display());
            }
            Ok(sel)
        };
        let g1 = pick(args.grp1.as_deref().unwrap_or_default(), "--grp1")?;
        let g2 = pick(args.grp2.as_deref().unwrap_or_default(), "--grp2")?;
        if args.outliers.is_none() {
            bail!("--grp1/--grp2 give no coordinate split: add `--outliers METHOD` (e.g. `--outliers MAD-union-dif`)");
        }
        vec![Groups { comps_grp1: Some(g1), comps_grp2: Some(g2), ..Groups::default() }]
    };
    let mut out = Vec::with_capacity(records.len());
    for (i, g) in records.iter().enumerate() {
        let (done, s) = score_groups(&t, g, args.outliers, args.trajectory.agg.into(), args.trajectory.grid, args.seed)
            .with_context(|| format!("groups #{i}"))?;
        out.push((done, s));
    }
    if args.json {
        let v: Vec<serde_json::Value> = out
            .iter()
            .map(|(_, s)| serde_json::json!({"irregularity": s.irregularity, "fraction": s.fraction}))
            .collect();
        println!("{}", serde_json::to_string(&v)?);
    } else {
        for (i, (g, s)) in out.iter().enumerate() {
            let irr = s
                .irregularity
                .map_or("undefined (fewer than 3 checkpoints or no inliers)".to_string(), |x| format!("{x:.6}"));
            let outl = g.coords_out.as_deref().unwrap_or(&[]);
            println!(
                "#{i}: irregularity {irr}  fraction {:.6}  ({} outlier coordinate(s): {})",
                s.fraction,
                outl.len(),
                ccc_analyze::output::ranges(outl)
            );
        }
    }
    Ok(())
}
