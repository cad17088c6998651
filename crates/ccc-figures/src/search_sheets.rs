//! A trajectory sheet per front point of `ccc search` (docs/search.md §6), with the experiments' sheet renderer.

use std::path::{Path, PathBuf};

use ccc_analyze::files::search::StartRef;
use ccc_analyze::files::SearchFile;
use ccc_analyze::trajectories;
use ccc_core::CccTensor;
use rayon::prelude::*;

use crate::error::FigureError;
use crate::options::Resolution;
use crate::render::context_line;
use crate::sheet::{Sheet, SheetInput};

/// Where the sheet of front point `i` goes, relative to the output directory.
pub fn search_sheet_path(i: usize) -> String {
    format!("figures/search/front-{i:03}.png")
}

/// Draw the sheet of every front point of `s` into `out_dir/figures/search/`; `t` is the tensor restricted to the
/// checkpoints the search used. Returns the paths written.
pub fn render_search_sheets(
    out_dir: &Path,
    t: &CccTensor,
    s: &SearchFile,
    resolution: Resolution,
) -> Result<Vec<PathBuf>, FigureError> {
    let dir = out_dir.join("figures/search");
    std::fs::create_dir_all(&dir).map_err(|source| FigureError::Write { path: dir.clone(), source })?;
    let n_k = t.n_comp();
    s.front
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let g = &p.groups;
            if let Some(&k) = g.comps_grp1.iter().chain(&g.comps_grp2).find(|&&k| k >= n_k) {
                return Err(FigureError::Invalid(format!("front point {i}: component {k} out of range ({n_k})")));
            }
            let tr = trajectories(t, &g.comps_grp1, &g.comps_grp2, s.options.aggregation);
            let start = match p.start {
                StartRef::Experiment(id) => format!("search front point {i} (from experiment {id})"),
                StartRef::Random(_) => format!("search front point {i} (from a random start)"),
            };
            let method = match (p.null_ratio, p.p_value) {
                (Some(r), Some(pv)) => format!("÷ null {r:.2}, p = {pv:.2}"),
                _ => "no null comparison".to_string(),
            };
            let sheet = Sheet::new(&SheetInput {
                id: None,
                source: &start,
                method: &method,
                context: context_line(t, Some(s.options.aggregation)),
                components: &t.meta.components,
                steps: &t.steps,
                trajectories: &tr,
                coords_in: &g.coords_in,
                coords_out: &g.coords_out,
                grp1: &g.comps_grp1,
                grp2: &g.comps_grp2,
                scores: (Some(p.scores.irregularity), p.scores.fraction),
                grid: s.options.grid,
                smooth: None,
            });
            let path = out_dir.join(search_sheet_path(i));
            crate::output::save(&sheet, &path, resolution)?;
            Ok(path)
        })
        .collect()
}
