//! The memory model of a run: what one checkpoint in flight holds, and so how many checkpoints are summarized at
//! once and how many finished columns may wait for the writer, within the memory budget.
//!
//! A job holds its column in both modes, the compact sums, the components of the tensor being read, the chunk
//! being handed over (a mapped window, widened to 2 MiB boundaries of the file) and the mapped chunks still in
//! flight behind it ([`AHEAD_BYTES`]). Finished columns waiting for the writer hold their values only.

use std::num::NonZeroUsize;

use crate::plan::Plan;
use crate::read_at::MAP_ALIGN;
use crate::tensor_plan::TensorPlan;

/// Default [`RunOptions::memory_budget`](super::RunOptions::memory_budget): with the program itself, a run stays
/// within 512 MiB.
pub const DEFAULT_MEMORY_BUDGET: u64 = 448 << 20;

/// Bytes of mapped weights whose blocks a job may hand to the pool before the oldest are combined. The pool works
/// ahead while the driving thread combines in order; at most this much of the file is mapped (and resident) at
/// once, counting each window's widening to 2 MiB boundaries, beyond the chunk being handed over.
pub(super) const AHEAD_BYTES: usize = 32 << 20;

/// Components of a tensor being read are held at least this large (finished ones waiting to be added in order,
/// and the bands being written, use about as much).
const ASSEMBLING_MIN: u64 = 4 << 20;

/// Bytes of a finished column: its values in both modes.
pub(super) fn column_bytes(plan: &Plan) -> u64 {
    (plan.n_coord() as u64) * ((plan.components.len() + plan.compact.len()) as u64) * 4
}

/// Bytes a member of a batch of merged adapters holds besides its factors, summarized with `plan`: its column in
/// both modes, the compact sums and the accumulators of the tensor being read (its sink reduces each chunk as it
/// is handed over: nothing is in flight behind it).
pub(super) fn sink_memory(plan: &Plan) -> u64 {
    column_with_sums(plan) + in_flight(plan) * plan.n_coord() as u64 * 8
}

/// A column in both modes and the compact sums it is built from.
fn column_with_sums(plan: &Plan) -> u64 {
    column_bytes(plan) + plan.n_coord() as u64 * plan.compact.len() as u64 * 8
}

/// The most components one tensor feeds.
fn in_flight(plan: &Plan) -> u64 {
    plan.tensors
        .values()
        .map(|tp| match tp {
            TensorPlan::Norm { .. } => 1,
            TensorPlan::Matrix { segments, .. } => segments.len() as u64,
        })
        .max()
        .unwrap_or(0)
}

/// Bytes one checkpoint in flight holds while it is summarized with `plan`, reading `chunk_bytes` at a time (an
/// estimate, used to decide how many checkpoints to summarize at once; see the module docs).
pub(super) fn job_memory(plan: &Plan, chunk_bytes: usize) -> u64 {
    // Components of a tensor, finished ones waiting to be added in order, and the bands being written.
    let assembling = (in_flight(plan) * plan.n_coord() as u64 * 8).max(ASSEMBLING_MIN) * 2;
    // The chunk being handed over (mapped with up to `MAP_ALIGN` more on each side), and the mapped chunks still
    // in flight behind it.
    column_with_sums(plan) + assembling + chunk_bytes as u64 + 2 * MAP_ALIGN + AHEAD_BYTES as u64
}

/// Checkpoints to summarize at once: `requested` if given, else one per core, at most 4 and as many as `budget`
/// holds at `per_job` bytes each; never more than there are checkpoints, never fewer than one.
pub(super) fn job_count(
    requested: Option<NonZeroUsize>,
    cores: usize,
    checkpoints: usize,
    per_job: u64,
    budget: u64,
) -> usize {
    let n = match requested {
        Some(n) => n.get(),
        None => {
            let fit = usize::try_from(budget / per_job.max(1)).unwrap_or(usize::MAX);
            cores.min(4).min(fit)
        }
    };
    n.clamp(1, checkpoints.max(1))
}

/// Columns that may be in flight at once: each job's, and as many finished ones waiting to be written as the
/// budget holds beyond the jobs (at most one per job), so that a job goes on to its next checkpoint while the
/// writer syncs its last one.
pub(super) fn columns_in_flight(jobs: usize, per_job: u64, column_bytes: u64, budget: u64) -> usize {
    let spare = budget.saturating_sub(per_job.saturating_mul(jobs as u64)) / column_bytes.max(1);
    jobs + (spare as usize).min(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::test_models::llama_tensors;
    use crate::tensor::DType;
    use crate::{Mapping, DEFAULT_CHUNK_BYTES};

    const MIB: u64 = 1 << 20;

    fn auto(cores: usize, checkpoints: usize, per_job: u64) -> usize {
        job_count(None, cores, checkpoints, per_job, DEFAULT_MEMORY_BUDGET)
    }

    #[test]
    fn jobs_fit_the_memory_budget() {
        // Automatic: one per core, at most 4, at most as many as there are checkpoints ...
        assert_eq!(auto(2, 10, 40 * MIB), 2);
        assert_eq!(auto(64, 10, 40 * MIB), 4);
        assert_eq!(auto(64, 3, 40 * MIB), 3);
        // ... and as many as the budget holds (a 13B-shaped column is ~150 MB), but always one.
        assert_eq!(auto(64, 10, 150 * MIB), 2);
        assert_eq!(auto(64, 10, 420 * MIB), 1);
        assert_eq!(auto(64, 10, 4096 * MIB), 1);
        assert_eq!(auto(64, 10, 0), 4);
        // Asked for: as asked (never more than the checkpoints).
        let eight = NonZeroUsize::new(8);
        assert_eq!(job_count(eight, 2, 10, 4096 * MIB, DEFAULT_MEMORY_BUDGET), 8);
        assert_eq!(job_count(eight, 2, 3, 40 * MIB, DEFAULT_MEMORY_BUDGET), 3);
        assert_eq!(auto(4, 0, 40 * MIB), 1);
    }

    /// Finished columns wait for the writer as far as the budget holds them beyond the jobs, one per job at most.
    #[test]
    fn finished_columns_wait_within_the_budget() {
        assert_eq!(columns_in_flight(2, 40 * MIB, 15 * MIB, DEFAULT_MEMORY_BUDGET), 4);
        assert_eq!(columns_in_flight(2, 200 * MIB, 150 * MIB, DEFAULT_MEMORY_BUDGET), 2);
        assert_eq!(columns_in_flight(2, 100 * MIB, 150 * MIB, DEFAULT_MEMORY_BUDGET), 3);
        assert_eq!(columns_in_flight(1, 4096 * MIB, 4000 * MIB, DEFAULT_MEMORY_BUDGET), 1);
        assert_eq!(columns_in_flight(1, 0, 0, DEFAULT_MEMORY_BUDGET), 2);
    }

    /// The estimate follows the model's shape: Llama-70B's column (80 layers, 64 heads, 8 key/value heads,
    /// hidden 8,192) is 0.39 GB; a job also holds the compact sums, one tensor's components, and the mapped chunks
    /// being reduced (one handed over, up to 32 MiB more in flight).
    #[test]
    fn job_memory_of_a_70b_shape() {
        let (layers, heads, kv, c) = (80, 64, 8, 8192);
        let (cfg, tensors) = llama_tensors(layers, heads, kv, c, 28672, 128256, DType::BF16);
        let plan = Plan::new(&Mapping::detect(&cfg).unwrap(), &cfg, &tensors, true).unwrap();
        let k_n = plan.components.len();
        assert_eq!(k_n, 2 + layers * (heads * 2 + kv * 2 + 4));
        let column = (c * k_n * 4) as u64;
        let mem = job_memory(&plan, DEFAULT_CHUNK_BYTES);
        assert!(mem > column + (64 << 20) && mem < column + (96 << 20), "{mem} bytes for a column of {column}");
        assert!(mem < DEFAULT_MEMORY_BUDGET, "one 70B checkpoint fits the budget");
        assert_eq!(auto(64, 10, mem), 1);
    }
}
