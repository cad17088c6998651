//! Micro-benchmarks of issue 25's paths: a LoRA adapter's ΔW summarized from its factors (delta mode's fast path,
//! against materializing the rows), and one mixture-of-experts layer's expert and router tensors through the
//! summarizer. End to end (100 adapters, a 1.4 GB Mixtral-format checkpoint, against `cat`):
//! `scripts/bench-models.sh`.

use ccc_core::Summary;
use ccc_summarize::internals::{ColumnSink, LoraDelta};
use ccc_summarize::{DType, Mapping, Plan, TensorInfo, TensorSink};
use divan::Bencher;
use rand::{Rng, SeedableRng};

fn main() {
    divan::main();
}

/// Random factors of a rank-`rank` ΔW of shape `rows × cols` (seeded).
fn delta(rows: usize, cols: usize, rank: usize) -> LoraDelta {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut draw = |n: usize| (0..n).map(|_| rng.random::<f32>() - 0.5).collect::<Vec<f32>>();
    let (l, r) = (draw(rows * rank), draw(rank * cols));
    LoraDelta::new(l, r, rows, cols, rank, 2.0)
}

/// `ranges` equal ranges over `n`.
fn ranges(n: usize, parts: usize) -> Vec<(usize, usize)> {
    (0..parts).map(|i| (i * n / parts, (i + 1) * n / parts)).collect()
}

/// pythia-410m's `query_key_value` (3C × C, C = 1024), rank 8: the coordinate is a column, 48 ranges of 64 rows
/// (q, k, v of 16 heads) — the fast path (Gram matrices).
#[divan::bench(args = [8, 16, 64])]
fn lora_qkv_fast(b: Bencher, rank: usize) {
    let c = 1024;
    let d = delta(3 * c, c, rank);
    let rs = ranges(3 * c, 48);
    b.bench(|| d.sums_sq(false, divan::black_box(&rs)));
}

/// pythia-410m's attention `dense` (C × C), rank 8: the coordinate is a row, 16 ranges of 64 columns (heads).
#[divan::bench(args = [8, 16, 64])]
fn lora_dense_fast(b: Bencher, rank: usize) {
    let c = 1024;
    let d = delta(c, c, rank);
    let rs = ranges(c, 16);
    b.bench(|| d.sums_sq(true, divan::black_box(&rs)));
}

/// The same `query_key_value` ΔW materialized row by row (what `l1` / `max_abs` and merged mode need), for
/// comparison with [`lora_qkv_fast`].
#[divan::bench(args = [8])]
fn lora_qkv_materialized(b: Bencher, rank: usize) {
    let c = 1024;
    let d = delta(3 * c, c, rank);
    let mut out = vec![0f32; 3 * c * c];
    b.bench_local(|| d.rows_into(0, divan::black_box(&mut out)));
}

/// A one-layer Mixtral plan: hidden 1024, 16 heads (4 key/value heads), `experts` experts of width 2048.
fn moe_plan(experts: usize) -> (Plan, Vec<TensorInfo>) {
    let (c, f) = (1024, 2048);
    let cfg = serde_json::json!({"model_type": "mixtral", "hidden_size": c, "num_attention_heads": 16,
        "num_key_value_heads": 4, "num_hidden_layers": 1, "vocab_size": 64, "num_local_experts": experts,
        "intermediate_size": f, "tie_word_embeddings": false});
    let m = Mapping::detect(&cfg).unwrap();
    let t = |name: String, shape: Vec<usize>| TensorInfo { name, dtype: DType::BF16, shape };
    let p = "model.layers.0";
    let mut tensors = vec![
        t("model.embed_tokens.weight".into(), vec![64, c]),
        t("lm_head.weight".into(), vec![64, c]),
        t(format!("{p}.self_attn.q_proj.weight"), vec![c, c]),
        t(format!("{p}.self_attn.k_proj.weight"), vec![c / 4, c]),
        t(format!("{p}.self_attn.v_proj.weight"), vec![c / 4, c]),
        t(format!("{p}.self_attn.o_proj.weight"), vec![c, c]),
        t(format!("{p}.block_sparse_moe.gate.weight"), vec![experts, c]),
    ];
    for e in 0..experts {
        let q = format!("{p}.block_sparse_moe.experts.{e}");
        tensors.push(t(format!("{q}.w1.weight"), vec![f, c]));
        tensors.push(t(format!("{q}.w2.weight"), vec![c, f]));
        tensors.push(t(format!("{q}.w3.weight"), vec![f, c]));
    }
    let plan = Plan::new(&m, &cfg, &tensors, true).unwrap();
    let moe: Vec<TensorInfo> = tensors.into_iter().filter(|t| t.name.contains("block_sparse_moe")).collect();
    (plan, moe)
}

/// The MoE block of one Mixtral-shaped layer (8 experts × w1, w2, w3 and the router; bf16, 96 MiB) through the
/// summarizer, as a file streams it: the expert components and the router, per byte as fast as a dense MLP.
#[divan::bench(args = [8])]
fn moe_layer(b: Bencher, experts: usize) {
    let (plan, moe) = moe_plan(experts);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let data: Vec<Vec<u8>> = moe
        .iter()
        .map(|t| {
            let n: usize = t.shape.iter().product();
            (0..n).flat_map(|_| half::bf16::from_f32(rng.random::<f32>() - 0.5).to_le_bytes()).collect()
        })
        .collect();
    let total: usize = data.iter().map(Vec::len).sum();
    b.counter(divan::counter::BytesCount::new(total)).bench(|| {
        let mut sink = ColumnSink::new(&plan, Summary::MeanSq, false, "bench", None);
        for (info, bytes) in moe.iter().zip(&data) {
            sink.rows(info, 0, bytes).unwrap();
            sink.end_tensor(info).unwrap();
        }
    });
}
