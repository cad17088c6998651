//! The summarizer's result does not depend on how a source chunks a tensor, nor on whether the bytes come in
//! memory, are read by the sink, or are mapped and handed to the pool (`rows` vs `rows_at`), nor on how much is
//! in flight, nor on the dtype's kernel path: the block partition is fixed by the tensor, and kernels add in a
//! fixed order.

use std::path::Path;

use ccc_core::Summary;
use proptest::prelude::*;

use super::{Column, ColumnSink};
use crate::arch::Mapping;
use crate::plan::test_models::llama_tensors;
use crate::plan::Plan;
use crate::read_at::{FileAt, ReadAt};
use crate::source::{StoredRows, TensorSink};
use crate::tensor::{DType, TensorInfo};

/// The bound on mapped bytes in flight that the run engine gives (`engine::memory::AHEAD_BYTES`).
const AHEAD_BYTES: usize = 32 << 20;

/// A one-layer GPT-NeoX plan of hidden size `c` with 4 heads, and its tensors in `dtype`.
fn plan(c: usize, dtype: DType) -> (Plan, Vec<TensorInfo>) {
    let cfg = serde_json::json!({"model_type": "gpt_neox", "hidden_size": c, "num_attention_heads": 4,
        "num_hidden_layers": 1, "vocab_size": 3000, "tie_word_embeddings": false});
    let m = Mapping::detect(&cfg).unwrap();
    let t = |name: &str, shape: Vec<usize>| TensorInfo { name: name.into(), dtype, shape };
    let tensors = vec![
        t("gpt_neox.embed_in.weight", vec![3000, c]),
        t("embed_out.weight", vec![3000, c]),
        t("gpt_neox.layers.0.attention.query_key_value.weight", vec![3 * c, c]),
        t("gpt_neox.layers.0.attention.dense.weight", vec![c, c]),
        t("gpt_neox.layers.0.mlp.dense_h_to_4h.weight", vec![4 * c, c]),
        t("gpt_neox.layers.0.mlp.dense_4h_to_h.weight", vec![c, 4 * c]),
    ];
    let plan = Plan::new(&m, &cfg, &tensors, false).unwrap();
    (plan, tensors)
}

/// Deterministic pseudo-random weights (LCG), as bytes of `dtype`.
fn weights(n: usize, seed: u64, dtype: DType) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .flat_map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1;
            match dtype {
                DType::BF16 => half::bf16::from_f32(v).to_le_bytes().to_vec(),
                DType::F16 => half::f16::from_f32(v).to_le_bytes().to_vec(),
                _ => v.to_le_bytes().to_vec(),
            }
        })
        .collect()
}

/// How the sink gets a tensor's rows.
#[derive(Debug, Clone, Copy)]
enum Delivery {
    /// In memory (`rows`), each chunk reduced before the call returns.
    Mem,
    /// Stored in a buffer at an odd offset (`rows_at`), each block read by the thread reducing it.
    Stored,
    /// Stored in a file (`rows_at`), mapped, and handed to the pool: blocks of several chunks in flight at once.
    Mapped,
}

fn delivery() -> impl Strategy<Value = Delivery> {
    prop_oneof![Just(Delivery::Mem), Just(Delivery::Stored), Just(Delivery::Mapped)]
}

/// Summarize with each tensor delivered in chunks of the given row counts (cycled).
fn summarize(plan: &Plan, tensors: &[(TensorInfo, Vec<u8>)], chunks: &[usize], how: Delivery) -> Column {
    summarize_ahead(plan, tensors, chunks, how, AHEAD_BYTES)
}

/// [`summarize`], with at most `ahead` bytes of mapped blocks in flight.
fn summarize_ahead(
    plan: &Plan,
    tensors: &[(TensorInfo, Vec<u8>)],
    chunks: &[usize],
    how: Delivery,
    ahead: usize,
) -> Column {
    // One file per tensor, its bytes after an 8-byte prefix, for mapped delivery.
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<FileAt> = match how {
        Delivery::Mapped => tensors
            .iter()
            .enumerate()
            .map(|(i, (_, bytes))| {
                let path = dir.path().join(i.to_string());
                let mut data = vec![7u8; 8];
                data.extend_from_slice(bytes);
                std::fs::write(&path, data).unwrap();
                FileAt::new(std::fs::File::open(&path).unwrap()).unwrap()
            })
            .collect(),
        _ => Vec::new(),
    };
    rayon::scope_fifo(|scope| {
        let mut sink = ColumnSink::new(plan, Summary::MeanSq, false, "test", None).in_scope(scope, ahead);
        for (t, (info, bytes)) in tensors.iter().enumerate() {
            let rb = bytes.len() / info.shape[0];
            let (mut row, mut k) = (0, 0);
            while row < info.shape[0] {
                let n = chunks[k % chunks.len()].clamp(1, info.shape[0] - row);
                let part = &bytes[row * rb..(row + n) * rb];
                match how {
                    Delivery::Mem => sink.rows(info, row, part).unwrap(),
                    Delivery::Stored => {
                        // The tensor's bytes behind a one-byte prefix, so stored reads start at odd offsets.
                        let mut file = vec![7u8];
                        file.extend_from_slice(bytes);
                        let src: &dyn ReadAt = &file;
                        let rows = StoredRows::new(src, 1 + (row * rb) as u64, n * rb, Path::new("test"));
                        sink.rows_at(info, row, rows).unwrap();
                    }
                    Delivery::Mapped => {
                        let rows = StoredRows::new(&files[t], 8 + (row * rb) as u64, n * rb, Path::new("test"));
                        assert!(rows.map().is_some(), "a temporary file maps");
                        sink.rows_at(info, row, rows).unwrap();
                    }
                }
                row += n;
                k += 1;
            }
            sink.end_tensor(info).unwrap();
        }
        sink.finish().unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_gives_the_same_column(
        chunks in proptest::collection::vec(1usize..2000, 1..6),
        dtype in prop_oneof![Just(DType::F32), Just(DType::BF16), Just(DType::F16)],
        how in delivery(),
        // Blocks in flight: none ahead (every handed-over run waits), a few, the engine's bound.
        ahead in prop_oneof![Just(0usize), Just(1usize << 20), Just(AHEAD_BYTES)],
        seed in any::<u64>(),
    ) {
        // Hidden size 96: rows of 96 or 384 elements, blocks of hundreds of rows (not powers of two); the
        // embeddings have 3000 rows, several blocks.
        let (plan, infos) = plan(96, dtype);
        let tensors: Vec<(TensorInfo, Vec<u8>)> =
            infos.iter().enumerate().map(|(i, t)| (t.clone(), weights(t.numel(), seed + i as u64, dtype))).collect();
        let whole = summarize(&plan, &tensors, &[usize::MAX], Delivery::Mem);
        let chunked = summarize_ahead(&plan, &tensors, &chunks, how, ahead);
        let bits = |c: &Column| c.full.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&whole), bits(&chunked));
        prop_assert_eq!(&whole.compact[..], &chunked.compact[..]);
    }
}

/// A 12-layer Llama plan (GQA; mlp_in from two tensors, gate and up; norms), and its tensors in canonical order.
fn llama_plan(c: usize, dtype: DType) -> (Plan, Vec<TensorInfo>) {
    let (cfg, tensors) = llama_tensors(12, 4, 2, c, 3 * c, 50, dtype);
    let plan = Plan::new(&Mapping::detect(&cfg).unwrap(), &cfg, &tensors, true).unwrap();
    (plan, tensors)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Components are finished as their last tensor arrives, and compact sums are added in canonical order
    /// whatever the storage order (safetensors sorts by name: layers 0, 1, 10, 11, 2, …; shards split anywhere).
    #[test]
    fn any_tensor_order_gives_the_same_column(
        seed in any::<u64>(),
        shuffle in any::<u64>(),
        dtype in prop_oneof![Just(DType::F32), Just(DType::BF16)],
    ) {
        let (plan, infos) = llama_plan(32, dtype);
        let tensors: Vec<(TensorInfo, Vec<u8>)> =
            infos.iter().enumerate().map(|(i, t)| (t.clone(), weights(t.numel(), seed + i as u64, dtype))).collect();
        let canonical = summarize(&plan, &tensors, &[usize::MAX], Delivery::Mem);
        let mut by_name = tensors.clone();
        by_name.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        // Fisher–Yates with an LCG.
        let mut shuffled = tensors.clone();
        let mut x = shuffle;
        for i in (1..shuffled.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (x >> 33) as usize % (i + 1));
        }
        let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for (other, how) in [(&by_name, Delivery::Stored), (&shuffled, Delivery::Mapped)] {
            let col = summarize(&plan, other, &[usize::MAX], how);
            prop_assert_eq!(bits(&canonical.full), bits(&col.full));
            prop_assert_eq!(bits(&canonical.compact), bits(&col.compact));
        }
        // Every component was written, and the compact sums are the sums of the full values.
        let (k_n, kc_n) = (plan.components.len(), plan.compact.len());
        let full = canonical.full_row_major();
        for k in 0..k_n {
            prop_assert!(full.chunks_exact(k_n).any(|row| row[k] > 0.0), "component {} is all zero", k);
        }
        for (row, crow) in full.chunks_exact(k_n).zip(canonical.compact.chunks_exact(kc_n)) {
            let mut sums = vec![0f64; kc_n];
            for (k, &v) in row.iter().enumerate() {
                sums[plan.compact_of[k]] += v as f64;
            }
            for (s, &c) in sums.iter().zip(crow) {
                prop_assert!((*s - c as f64).abs() <= 1e-6 * s, "compact {} vs sum of full {}", c, s);
            }
        }
    }
}
