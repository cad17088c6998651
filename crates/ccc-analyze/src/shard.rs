//! Sharded analysis (docs/analysis.md §10, docs/slurm.md): shard `I/N` runs a deterministic share of the
//! pipelines — balanced by their estimated cost, not their count — and builds their experiments; [`merge`]
//! combines the `N` partial results into the [`Analysis`] one run computes.
//!
//! Every random draw comes from the stream of its task (a clustering, an experiment's position in the unsorted
//! list), never from a shared sequence, so a pipeline or experiment gives the same result in any shard.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use crate::analysis::{run_work, Analysis, AnalyzeOptions, Reading, Work, WorkResult};
use crate::classify::{estimated_cost, PipelineResult};
use crate::error::AnalyzeError;
use crate::experiments::{order_experiments, Experiment};
use crate::files::partial::{InputRecord, OptionsRecord, PartialExperiment, PartialFile, PartialPipeline, ShardRecord};
use crate::files::FormatVersion;
use crate::pipeline::{Chain, Pipeline};
use crate::score::Scores;
use crate::view::MappedTensor;

/// Shard `index` of `count` (1-based), as `--shard I/N` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// Shard `index` (1-based) of `count`; errors unless `1 ≤ index ≤ count`.
    pub fn new(index: usize, count: usize) -> Result<Shard, AnalyzeError> {
        if count == 0 || index == 0 || index > count {
            return Err(AnalyzeError::InvalidOption(format!(
                "shard {index}/{count} does not exist: shards are numbered 1/N to N/N"
            )));
        }
        Ok(Shard { index, count })
    }
    /// 1-based index.
    pub fn index(self) -> usize {
        self.index
    }
    /// Number of shards.
    pub fn count(self) -> usize {
        self.count
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = AnalyzeError;
    fn from_str(s: &str) -> Result<Shard, AnalyzeError> {
        let bad = || AnalyzeError::InvalidOption(format!("`{s}` is not a shard: write I/N, e.g. `3/16`"));
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        Shard::new(i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?)
    }
}

/// The share of the work of each shard: the pipelines (by index) of shard `s` are `assign(..)[s - 1]`; the
/// `comps_grps:*` experiments go to the least loaded shard after them.
///
/// Longest-processing-time first: pipelines in decreasing estimated cost (ties by index) each go to the shard
/// with the least cost so far (ties to the lowest shard). Deterministic: it depends only on the pipelines, the
/// shape and `count`.
pub(crate) fn assign(pipelines: &[Pipeline], shape: [usize; 3], count: usize) -> (Vec<BTreeSet<usize>>, usize) {
    let mut costed: Vec<(f64, usize)> = pipelines.iter().map(|p| (estimated_cost(p, shape), p.index)).collect();
    costed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut load = vec![0.0f64; count];
    let mut sets = vec![BTreeSet::new(); count];
    let least = |load: &[f64]| (0..load.len()).min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)));
    for (cost, index) in costed {
        let s = least(&load).unwrap_or(0);
        load[s] += cost;
        sets[s].insert(index);
    }
    (sets, least(&load).unwrap_or(0))
}

/// Run shard `shard` of the analysis of a mapped tensor (read as `reading` says, like one run would): its
/// pipelines and their experiments, as the contents of `partial.json`.
pub fn analyze_shard(
    view: &MappedTensor,
    opts: &AnalyzeOptions,
    reading: &Reading,
    shard: Shard,
    progress: &dyn ccc_core::Progress,
) -> Result<PartialFile, AnalyzeError> {
    let t_run = Instant::now();
    opts.validate()?;
    let pipelines = opts.selected_pipelines()?;
    let (sets, extras_to) = assign(&pipelines, view.shape(), shard.count);
    let run = sets[shard.index - 1].clone();
    let extras = extras_to == shard.index - 1;
    let all_pipelines = pipelines.iter().map(|p| p.index).collect();
    let work = Work { pipelines, run, extras };
    let r = reading.with_input(view, |input| run_work(input, opts, &work, progress))?;
    Ok(partial_file(r, opts, shard, all_pipelines, extras, t_run.elapsed().as_secs_f64()))
}

/// The options as a partial analysis records them.
pub(crate) fn options_record(opts: &AnalyzeOptions) -> OptionsRecord {
    OptionsRecord {
        seed: opts.seed,
        aggregation: opts.aggregation,
        grid: opts.grid,
        steps: opts.steps_text.clone(),
        pipelines: opts.pipelines.clone(),
        pipelines_file: opts.pipelines_file.clone(),
        timings: opts.timings,
    }
}

fn partial_file(
    r: WorkResult,
    opts: &AnalyzeOptions,
    shard: Shard,
    all_pipelines: Vec<usize>,
    extras: bool,
    run_time: f64,
) -> PartialFile {
    PartialFile {
        format: FormatVersion,
        shard: ShardRecord { index: shard.index, count: shard.count },
        input: InputRecord {
            model: r.model,
            architecture: r.architecture,
            mode: r.mode,
            summary: r.summary,
            shape: r.shape,
            steps: r.steps,
            components: r.components,
        },
        options: options_record(opts),
        all_pipelines,
        n_experiments: r.n_experiments,
        extras,
        pipelines: r
            .results
            .iter()
            .map(|p| PartialPipeline {
                index: p.pipeline.index,
                name: p.pipeline.name(),
                method: p.pipeline.method.clone(),
                status: p.status,
                reason: p.reason.clone(),
                groups: p.groups.clone(),
                time_bits: p.time_s.to_bits(),
            })
            .collect(),
        experiments: r
            .experiments
            .into_iter()
            .map(|(position, e)| PartialExperiment {
                position,
                source: e.source,
                method: e.method,
                status: e.status,
                error: e.error,
                groups: e.groups,
                irregularity_bits: e.scores.and_then(|s| s.irregularity).map(f64::to_bits),
                fraction_bits: e.scores.map(|s| s.fraction.to_bits()),
                pipeline: e.pipeline,
                outlier_method: e.outlier_method,
                time_bits: e.time_s.to_bits(),
            })
            .collect(),
        run_time_bits: run_time.to_bits(),
        phase_time_bits: r.phase_times_s.into_iter().map(|(k, v)| (k, v.to_bits())).collect(),
    }
}

/// Combine the partial results of every shard of one analysis into the analysis one run computes.
///
/// Errors: shards of different inputs or options, a shard missing or given twice, a pipeline or experiment
/// missing or built twice. Wall times (when recorded) are the sums over the shards.
pub fn merge(parts: &[PartialFile]) -> Result<Analysis, AnalyzeError> {
    let bad = |m: String| AnalyzeError::BadInput(m);
    let first = parts.first().ok_or_else(|| bad("no partial analysis to merge".into()))?;
    let count = first.shard.count;
    let mut seen = BTreeSet::new();
    for p in parts {
        if p.input != first.input || p.options != first.options || p.all_pipelines != first.all_pipelines {
            return Err(bad(format!(
                "shard {}/{} is of another analysis than shard {}/{} (input or options differ)",
                p.shard.index, p.shard.count, first.shard.index, first.shard.count
            )));
        }
        if p.shard.count != count {
            return Err(bad(format!("shards of {} and of {} parts cannot be merged", count, p.shard.count)));
        }
        if !seen.insert(p.shard.index) {
            return Err(bad(format!("shard {}/{count} is given twice", p.shard.index)));
        }
    }
    let missing: Vec<String> = (1..=count).filter(|i| !seen.contains(i)).map(|i| format!("{i}/{count}")).collect();
    if !missing.is_empty() {
        return Err(bad(format!("missing shard(s) {}: every shard of the job must have finished", missing.join(", "))));
    }

    let mut by_index: BTreeMap<usize, PipelineResult> = BTreeMap::new();
    let mut experiments: Vec<(usize, Experiment)> = Vec::new();
    let mut phase_times_s: BTreeMap<String, f64> = BTreeMap::new();
    let mut run_time_s = 0.0;
    for p in parts {
        for r in &p.pipelines {
            let steps: Vec<&str> = r.name.split('>').collect();
            let chain = Chain::from_steps(&steps)?;
            let pipeline = Pipeline { index: r.index, chain, method: r.method.clone() };
            let res = PipelineResult {
                pipeline,
                status: r.status,
                reason: r.reason.clone(),
                groups: r.groups.clone(),
                time_s: f64::from_bits(r.time_bits),
            };
            if by_index.insert(r.index, res).is_some() {
                return Err(bad(format!("pipeline {} was run by two shards", r.index)));
            }
        }
        for e in &p.experiments {
            experiments.push((
                e.position,
                Experiment {
                    id: 0,
                    source: e.source,
                    method: e.method.clone(),
                    status: e.status,
                    error: e.error.clone(),
                    groups: e.groups.clone(),
                    scores: e.fraction_bits.map(|f| Scores {
                        irregularity: e.irregularity_bits.map(f64::from_bits),
                        fraction: f64::from_bits(f),
                    }),
                    pipeline: e.pipeline,
                    outlier_method: e.outlier_method,
                    time_s: f64::from_bits(e.time_bits),
                },
            ));
        }
        for (k, v) in &p.phase_time_bits {
            *phase_times_s.entry(k.clone()).or_insert(0.0) += f64::from_bits(*v);
        }
        run_time_s += f64::from_bits(p.run_time_bits);
    }
    let pipelines: Vec<PipelineResult> = first
        .all_pipelines
        .iter()
        .map(|i| by_index.remove(i).ok_or_else(|| bad(format!("no shard ran pipeline {i}"))))
        .collect::<Result<_, _>>()?;
    let positions: BTreeSet<usize> = experiments.iter().map(|(i, _)| *i).collect();
    if positions.len() != experiments.len() || positions.len() != first.n_experiments {
        return Err(bad(format!(
            "the shards built {} experiments ({} distinct) of {}",
            experiments.len(),
            positions.len(),
            first.n_experiments
        )));
    }
    phase_times_s.insert("total".into(), run_time_s);
    let o = &first.options;
    let options = AnalyzeOptions {
        seed: o.seed,
        aggregation: o.aggregation,
        grid: o.grid,
        steps: o.steps.parse().unwrap_or_else(|_| ccc_core::StepSelection::all()),
        steps_text: o.steps.clone(),
        pipelines: o.pipelines.clone(),
        extra_pipelines: Vec::new(),
        pipelines_file: o.pipelines_file.clone(),
        timings: o.timings,
    };
    let i = &first.input;
    Ok(Analysis {
        model: i.model.clone(),
        architecture: i.architecture.clone(),
        mode: i.mode,
        summary: i.summary,
        shape: i.shape,
        steps: i.steps.clone(),
        components: i.components.clone(),
        options,
        pipelines,
        experiments: order_experiments(experiments),
        run_time_s,
        phase_times_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::builtin;

    #[test]
    fn shards_parse_and_check_their_range() {
        assert_eq!("3/16".parse::<Shard>().unwrap(), Shard::new(3, 16).unwrap());
        for s in ["0/4", "5/4", "1/0", "x/2", "2", "1/2/3"] {
            assert!(s.parse::<Shard>().is_err(), "{s}");
        }
        assert_eq!(Shard::new(2, 5).unwrap().to_string(), "2/5");
    }

    #[test]
    fn every_pipeline_in_exactly_one_shard_balanced_by_cost() {
        let all = builtin();
        let shape = [2048, 50, 1057];
        for n in [1, 2, 3, 7, 16, 64] {
            let (sets, extras) = assign(&all, shape, n);
            assert_eq!(sets.len(), n);
            assert!(extras < n);
            let mut union: Vec<usize> = sets.iter().flatten().copied().collect();
            union.sort_unstable();
            assert_eq!(union, (1..=40).collect::<Vec<_>>(), "{n} shards");
            // Same answer every time.
            assert_eq!(assign(&all, shape, n).0, sets);
        }
        // LPT: no shard carries more than the largest pipeline above the mean load.
        let (sets, _) = assign(&all, shape, 4);
        let cost = |s: &BTreeSet<usize>| s.iter().map(|&i| estimated_cost(&all[i - 1], shape)).sum::<f64>();
        let loads: Vec<f64> = sets.iter().map(cost).collect();
        let mean = loads.iter().sum::<f64>() / 4.0;
        let biggest = all.iter().map(|p| estimated_cost(p, shape)).fold(0.0, f64::max);
        assert!(loads.iter().all(|&l| l <= mean + biggest), "{loads:?}");
    }

    #[test]
    fn pipeline_names_parse_back_to_their_chains() {
        // The merge rebuilds each pipeline from its short name.
        for p in builtin() {
            let steps: Vec<&str> = p.name().leak().split('>').collect();
            assert_eq!(Chain::from_steps(&steps).unwrap(), p.chain, "{}", p.name());
        }
    }
}
