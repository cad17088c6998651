//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ccc_core::{file, CccTensor, Mode, NoProgress, StepSelection};
use ccc_summarize::{local, run, Checkpoint, DType, TensorInfo};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fixtures")
}

pub fn cli_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ccc-cli/data")
}

pub fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/bad/safetensors")
}

pub fn boxed(c: Vec<local::LocalCheckpoint>) -> Vec<Box<dyn Checkpoint>> {
    c.into_iter().map(|c| Box::new(c) as Box<dyn Checkpoint>).collect()
}

/// Summarize `input` (both modes) into `out_dir`; returns (full, compact).
pub fn summarize_dir(input: &Path, steps: &str, out_dir: &Path) -> (CccTensor, CccTensor) {
    let found = local::discover(&[input.to_path_buf()], &steps.parse::<StepSelection>().unwrap()).unwrap();
    let cks = boxed(found.checkpoints);
    let full = out_dir.join("x.full.safetensors");
    let compact = out_dir.join("x.compact.safetensors");
    let opts = run::RunOptions::new(
        vec![
            run::Output { mode: Mode::Full, path: full.clone() },
            run::Output { mode: Mode::Compact, path: compact.clone() },
        ],
        "test",
    );
    run::run(&cks, &opts, &NoProgress).unwrap();
    (file::read(&full).unwrap(), file::read(&compact).unwrap())
}

/// Largest |a - b| / max(|b|, tiny) over two arrays.
pub fn max_rel_err(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let (x, y) = (x as f64, y as f64);
            if x == y {
                0.0
            } else {
                (x - y).abs() / y.abs().max(1e-30)
            }
        })
        .fold(0.0, f64::max)
}

/// The weight tensors of a Llama-family checkpoint (GQA, gate + up, norm gains, untied `lm_head`), in canonical
/// order, with the config they come with.
pub fn llama_tensors(
    layers: usize,
    heads: usize,
    kv: usize,
    c: usize,
    f: usize,
    vocab: usize,
    dtype: DType,
) -> (serde_json::Value, Vec<TensorInfo>) {
    let cfg = serde_json::json!({"model_type": "llama", "hidden_size": c, "num_attention_heads": heads,
        "num_key_value_heads": kv, "num_hidden_layers": layers, "intermediate_size": f, "vocab_size": vocab,
        "tie_word_embeddings": false});
    let r = c / heads;
    let t = |name: String, shape: Vec<usize>| TensorInfo { name, dtype, shape };
    let mut tensors = vec![t("model.embed_tokens.weight".into(), vec![vocab, c])];
    for l in 0..layers {
        let p = format!("model.layers.{l}");
        tensors.extend([
            t(format!("{p}.self_attn.q_proj.weight"), vec![heads * r, c]),
            t(format!("{p}.self_attn.k_proj.weight"), vec![kv * r, c]),
            t(format!("{p}.self_attn.v_proj.weight"), vec![kv * r, c]),
            t(format!("{p}.self_attn.o_proj.weight"), vec![c, heads * r]),
            t(format!("{p}.mlp.gate_proj.weight"), vec![f, c]),
            t(format!("{p}.mlp.up_proj.weight"), vec![f, c]),
            t(format!("{p}.mlp.down_proj.weight"), vec![c, f]),
            t(format!("{p}.input_layernorm.weight"), vec![c]),
            t(format!("{p}.post_attention_layernorm.weight"), vec![c]),
        ]);
    }
    tensors.push(t("model.norm.weight".into(), vec![c]));
    tensors.push(t("lm_head.weight".into(), vec![vocab, c]));
    (cfg, tensors)
}
