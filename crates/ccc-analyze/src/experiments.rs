//! From pipeline results to the scored experiment list (docs/analysis.md §5–§7).

use std::collections::BTreeMap;
use std::time::Instant;

use ccc_core::{CccTensor, Groups};
use rand::Rng;
use rayon::prelude::*;

use crate::classify::{degeneracies, PipelineResult, Status};
use crate::files::{Origin, Source};
use crate::outliers::OutlierMethod;
use crate::rng::{rng_for, Stream};
use crate::score::{score, Scores};
use crate::timing::Times;
use crate::trajectory::{trajectories, Aggregation, Trajectories};

/// One scored classification.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Position in the final order.
    pub id: usize,
    /// Where the groups come from (e.g. `TCI-comps:keeping_comps_grps|find_outliers_traj2d`).
    pub source: Source,
    /// The pipeline's instruction string, `|` and the outlier method for completed experiments.
    pub method: String,
    /// Outcome.
    pub status: Status,
    /// Why the experiment is degenerate or failed.
    pub error: Option<String>,
    /// The four groups (all present unless failed).
    pub groups: Groups,
    /// The score pair (`None` when failed).
    pub scores: Option<Scores>,
    /// The 1-based index of the pipeline the groups come from (`None` for `comps_grps:*`).
    pub pipeline: Option<usize>,
    /// The outlier method that completed the coordinate split, if any.
    pub outlier_method: Option<OutlierMethod>,
    /// Wall time: the pipeline's, plus outlier method and scoring (seconds).
    pub time_s: f64,
}

/// An experiment before completion and scoring.
#[derive(Debug, Clone)]
struct Draft {
    source: Source,
    method: String,
    status: Status,
    notes: Vec<String>,
    groups: Groups,
    pipeline: Option<usize>,
    time_s: f64,
}

/// The component groupings that come with no pipeline: `comps_grps:wte` (`[0]` vs the rest) and two
/// `comps_grps:random` (components drawn uniformly with replacement, `K/2` draws, vs the rest; as the reference).
pub fn extra_comp_groupings(n_comp: usize, seed: u64) -> Vec<(Source, Vec<usize>, Vec<usize>)> {
    let mut v = vec![(Source::new(Origin::CompsGrpsWte), vec![0usize], (1..n_comp).collect::<Vec<_>>())];
    let mut rng = rng_for(seed, Stream::RandomGroups);
    for _ in 0..2 {
        let mut pick = vec![false; n_comp];
        for _ in 0..n_comp / 2 {
            pick[rng.random_range(0..n_comp.max(1))] = true;
        }
        let g1: Vec<usize> = (0..n_comp).filter(|&k| pick[k]).collect();
        let g2: Vec<usize> = (0..n_comp).filter(|&k| !pick[k]).collect();
        v.push((Source::new(Origin::CompsGrpsRandom), g1, g2));
    }
    if n_comp == 0 {
        v.truncate(0);
    }
    v
}

/// The trajectories of component groupings `(grp1, grp2)`, one per grouping, in order.
pub(crate) type TrajectoriesOf<'a> = dyn Fn(&[(Vec<usize>, Vec<usize>)]) -> Vec<Trajectories> + Sync + 'a;

/// What the experiments are computed on: the shape of the analyzed tensor and its trajectories.
pub(crate) struct ExperimentInput<'a> {
    /// Coordinates.
    pub(crate) n_coord: usize,
    /// Checkpoints.
    pub(crate) n_ckpt: usize,
    /// Components.
    pub(crate) n_comp: usize,
    /// How to compute trajectories (in memory, or in one pass over a mapped file).
    pub(crate) trajectories: &'a TrajectoriesOf<'a>,
}

/// The trajectories of an in-memory tensor, one grouping at a time in parallel.
pub(crate) fn tensor_trajectories(
    t: &CccTensor,
    agg: Aggregation,
    gs: &[(Vec<usize>, Vec<usize>)],
) -> Vec<Trajectories> {
    gs.par_iter().map(|(g1, g2)| trajectories(t, g1, g2, agg)).collect()
}

/// Build, complete and score the experiments (docs/analysis.md §5–§7) whose draft comes from a pipeline `keep`
/// accepts (`None`: the `comps_grps:*` groupings), and the length of the whole list. Each comes with its position in the full, unsorted list of
/// experiments (which fixes its random stream), so that experiments built apart ([`order_experiments`]) are
/// the same as built together.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_experiments(
    t: &ExperimentInput<'_>,
    results: &[PipelineResult],
    grid: usize,
    seed: u64,
    times: &Times,
    progress: &dyn ccc_core::Progress,
    keep: &(dyn Fn(Option<usize>) -> bool + Sync),
) -> (Vec<(usize, Experiment)>, usize) {
    let n_c = t.n_coord;
    // Steps 1–4.
    let mut drafts: Vec<Draft> = Vec::new();
    let draft_of = |r: &PipelineResult, source: Source, groups: Groups| Draft {
        source,
        method: r.pipeline.method.clone(),
        status: r.status,
        notes: r.reason.iter().cloned().collect(),
        groups,
        pipeline: Some(r.pipeline.index),
        time_s: r.time_s,
    };
    for r in results {
        let groups = if r.status == Status::Failed { placeholder(r) } else { r.groups.clone() };
        drafts.push(draft_of(r, r.pipeline.chain.source(), groups));
    }
    for r in results {
        if r.pipeline.chain.gives_comps() {
            let g = if r.status == Status::Failed { placeholder(r) } else { r.groups.clone() };
            let groups = Groups { comps_grp1: g.comps_grp1, comps_grp2: g.comps_grp2, ..Groups::default() };
            drafts.push(draft_of(r, r.pipeline.chain.source().keeping_comps(), groups));
        }
    }
    // (Step 3's coordinate-only copies would all be dropped by step 5.)
    for (source, g1, g2) in extra_comp_groupings(t.n_comp, seed) {
        drafts.push(Draft {
            source,
            method: String::new(),
            status: Status::Ok,
            notes: Vec::new(),
            groups: Groups { comps_grp1: Some(g1), comps_grp2: Some(g2), ..Groups::default() },
            pipeline: None,
            time_s: 0.0,
        });
    }

    // Step 5: completion. Each comps-only draft gives one experiment per outlier method.
    struct Todo {
        draft: usize,
        method: Option<OutlierMethod>,
    }
    let mut todo: Vec<Todo> = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        if d.groups.is_complete() {
            todo.push(Todo { draft: i, method: None });
        } else if d.groups.has_comps() && !d.groups.has_coords() {
            for m in OutlierMethod::ALL {
                todo.push(Todo { draft: i, method: Some(m) });
            }
        }
    }

    // Trajectories once per distinct component grouping.
    let t0 = Instant::now();
    let mut grouping_index: BTreeMap<(Vec<usize>, Vec<usize>), usize> = BTreeMap::new();
    let mut groupings: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
    let mut todo_grouping: Vec<Option<usize>> = Vec::with_capacity(todo.len());
    for td in &todo {
        let d = &drafts[td.draft];
        if !keep(d.pipeline) {
            todo_grouping.push(None);
            continue;
        }
        if d.status == Status::Failed {
            todo_grouping.push(None);
            continue;
        }
        let key = (d.groups.comps_grp1.clone().unwrap_or_default(), d.groups.comps_grp2.clone().unwrap_or_default());
        let next = groupings.len();
        let gi = *grouping_index.entry(key.clone()).or_insert_with(|| {
            groupings.push(key);
            next
        });
        todo_grouping.push(Some(gi));
    }
    let trajs: Vec<Trajectories> = (t.trajectories)(&groupings);
    times.add("trajectories", t0.elapsed().as_secs_f64());

    // Complete and score every experiment, in parallel.
    let kept: Vec<usize> = (0..todo.len()).filter(|&i| keep(drafts[todo[i].draft].pipeline)).collect();
    progress.start("experiments", kept.len() as u64, "experiments");
    let t1 = Instant::now();
    let done: Vec<(usize, Experiment)> = kept
        .par_iter()
        .map(|&i| {
            let td = &todo[i];
            let d = &drafts[td.draft];
            let t_start = Instant::now();
            let method = match td.method {
                Some(m) => format!("{}|{}", d.method, m.name()),
                None => d.method.clone(),
            };
            let source = if td.method.is_some() { d.source.completed() } else { d.source };
            let mut exp = Experiment {
                id: 0,
                source,
                method,
                status: d.status,
                error: None,
                groups: d.groups.clone(),
                scores: None,
                pipeline: d.pipeline,
                outlier_method: td.method,
                time_s: d.time_s,
            };
            let mut notes = d.notes.clone();
            match todo_grouping[i] {
                None => {
                    exp.status = Status::Failed;
                    exp.groups = Groups {
                        coords_in: Some(Vec::new()),
                        coords_out: Some(Vec::new()),
                        comps_grp1: Some(Vec::new()),
                        comps_grp2: Some(Vec::new()),
                    };
                }
                Some(gi) => {
                    let tr = &trajs[gi];
                    if let Some(m) = td.method {
                        let mut rng = rng_for(seed, Stream::Lincomb(i as u64));
                        let out = m.apply(tr, &mut rng);
                        let (cin, cout) = Groups::coords_from_outliers(n_c, &out);
                        exp.groups.coords_in = Some(cin);
                        exp.groups.coords_out = Some(cout);
                    }
                    let cin = exp.groups.coords_in.clone().unwrap_or_default();
                    let n_out = exp.groups.coords_out.as_ref().map_or(0, Vec::len);
                    let s = score(tr, &cin, n_out, grid);
                    if s.irregularity.is_none() {
                        notes.push(if t.n_ckpt < 3 {
                            format!("irregularity is undefined with {} checkpoints (it needs at least 3)", t.n_ckpt)
                        } else {
                            "irregularity is undefined: no inlier coordinates".to_string()
                        });
                    }
                    notes.extend(degeneracies(&exp.groups));
                    exp.scores = Some(s);
                }
            }
            notes.sort();
            notes.dedup();
            if exp.status != Status::Failed && !notes.is_empty() {
                exp.status = Status::Degenerate;
            }
            if !notes.is_empty() {
                exp.error = Some(notes.join("; "));
            }
            exp.time_s += t_start.elapsed().as_secs_f64();
            progress.advance(1);
            (i, exp)
        })
        .collect();
    progress.finish();
    times.add("scores", t1.elapsed().as_secs_f64());
    (done, todo.len())
}

/// Step 6 on experiments built together or apart: in their positions in the unsorted list, then stably sorted by
/// the reversed method string; `id` = final position.
pub(crate) fn order_experiments(mut done: Vec<(usize, Experiment)>) -> Vec<Experiment> {
    done.sort_by_key(|(i, _)| *i);
    let mut keyed: Vec<(String, Experiment)> =
        done.into_iter().map(|(_, e)| (e.method.chars().rev().collect::<String>(), e)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed
        .into_iter()
        .enumerate()
        .map(|(id, (_, mut e))| {
            e.id = id;
            e
        })
        .collect()
}

/// The keys a failed pipeline would have given, as empty lists (so the experiment list keeps its shape).
fn placeholder(r: &PipelineResult) -> Groups {
    let e = || Some(Vec::new());
    let c = r.pipeline.chain.gives_coords();
    let k = r.pipeline.chain.gives_comps();
    Groups {
        coords_in: if c { e() } else { None },
        coords_out: if c { e() } else { None },
        comps_grp1: if k { e() } else { None },
        comps_grp2: if k { e() } else { None },
    }
}
