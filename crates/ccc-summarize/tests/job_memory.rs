//! How much memory a checkpoint in flight needs, and so how many are summarized at once.

mod common;

use ccc_summarize::plan::Plan;
use ccc_summarize::run::{job_count, DEFAULT_CHUNK_BYTES, DEFAULT_MEMORY_BUDGET};
use ccc_summarize::{DType, Mapping};

/// The estimate follows the model's shape: Llama-70B's column (80 layers, 64 heads, 8 key/value heads,
/// hidden 8,192) is 0.39 GB; a job also holds the compact sums, one tensor's components, and the mapped chunks
/// being reduced (one handed over, up to 32 MiB more in flight).
#[test]
fn job_memory_of_a_70b_shape() {
    let (layers, heads, kv, c) = (80, 64, 8, 8192);
    let (cfg, tensors) = common::llama_tensors(layers, heads, kv, c, 28672, 128256, DType::BF16);
    let plan = Plan::new(&Mapping::detect(&cfg).unwrap(), &cfg, &tensors, true).unwrap();
    let k_n = plan.components.len();
    assert_eq!(k_n, 2 + layers * (heads * 2 + kv * 2 + 4));
    let column = (c * k_n * 4) as u64;
    let mem = plan.job_memory(DEFAULT_CHUNK_BYTES);
    assert!(mem > column + (64 << 20) && mem < column + (96 << 20), "{mem} bytes for a column of {column}");
    assert!(mem < DEFAULT_MEMORY_BUDGET, "one 70B checkpoint fits the budget");
    assert_eq!(job_count(0, 64, 10, mem, DEFAULT_MEMORY_BUDGET), 1);
}
