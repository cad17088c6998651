//! Flags shared by `ccc analyze`, `ccc score` and `ccc search`: how the 2-D trajectories are built and scored, over which
//! checkpoints.

use anyhow::Context;
use ccc_analyze::Aggregation;
use ccc_core::StepSelection;

/// How component groups are aggregated into the 2-D trajectories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AggArg {
    /// Σ mags over the group (the reference tool's `lengths-weighted`).
    Sum,
    /// Σ mags / (len_k / Σ len) (the reference tool's `unweighted`).
    #[value(name = "inverse_length")]
    InverseLength,
    /// Σ len_k · mags / Σ len_k, a length-weighted mean.
    Pooled,
}

impl From<AggArg> for Aggregation {
    fn from(a: AggArg) -> Self {
        match a {
            AggArg::Sum => Aggregation::Sum,
            AggArg::InverseLength => Aggregation::InverseLength,
            AggArg::Pooled => Aggregation::Pooled,
        }
    }
}

/// `--agg`, `--grid` and `--steps`.
#[derive(Debug, clap::Args)]
pub struct TrajectoryArgs {
    /// Aggregation of the component groups into trajectories.
    #[arg(long, value_enum, default_value_t = AggArg::Sum)]
    pub agg: AggArg,

    /// Grid size of the irregularity score.
    #[arg(long, default_value_t = ccc_analyze::score::DEFAULT_GRID, value_name = "N")]
    pub grid: usize,

    /// Use only these checkpoints, e.g. `1000..143000`, `..20000`, `%10000`, `0,1000,2000`.
    #[arg(long, value_name = "SEL")]
    pub steps: Option<String>,
}

impl TrajectoryArgs {
    /// The checkpoints selected by `--steps` (all without it).
    pub fn step_selection(&self) -> anyhow::Result<StepSelection> {
        match &self.steps {
            Some(s) => s.parse().with_context(|| {
                format!("bad --steps `{s}`: use e.g. `1000..143000`, `..20000`, `%10000` or `0,1000,2000`")
            }),
            None => Ok(StepSelection::all()),
        }
    }
}
