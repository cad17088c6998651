//! Micro-benchmarks of the summarizer's inner loops: one chunk of a weight matrix in each orientation and dtype,
//! named by size. End to end (a 1.6 GB checkpoint against `cat`): `scripts/bench-summarize.sh`.

use ccc_core::Summary;
use ccc_summarize::internals::{ColumnSink, SafetensorsHeader};
use ccc_summarize::{DType, Mapping, Plan, TensorInfo, TensorSink};
use divan::Bencher;
use rand::{Rng, SeedableRng};

fn main() {
    divan::main();
}

/// A one-layer GPT-NeoX plan of hidden size `c`.
fn plan(c: usize) -> Plan {
    let cfg = serde_json::json!({"model_type": "gpt_neox", "hidden_size": c, "num_attention_heads": 16,
        "num_hidden_layers": 1, "vocab_size": 64, "tie_word_embeddings": false});
    let m = Mapping::detect(&cfg).unwrap();
    let t = |name: &str, shape: Vec<usize>| TensorInfo { name: name.into(), dtype: DType::F32, shape };
    let tensors = vec![
        t("gpt_neox.embed_in.weight", vec![64, c]),
        t("embed_out.weight", vec![64, c]),
        t("gpt_neox.layers.0.attention.query_key_value.weight", vec![3 * c, c]),
        t("gpt_neox.layers.0.attention.dense.weight", vec![c, c]),
        t("gpt_neox.layers.0.mlp.dense_h_to_4h.weight", vec![4 * c, c]),
        t("gpt_neox.layers.0.mlp.dense_4h_to_h.weight", vec![c, 4 * c]),
    ];
    Plan::new(&m, &cfg, &tensors, true).unwrap()
}

fn bytes(n: usize, dtype: DType) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    (0..n)
        .flat_map(|_| {
            let v: f32 = rng.random::<f32>() - 0.5;
            match dtype {
                DType::BF16 => half::bf16::from_f32(v).to_le_bytes().to_vec(),
                _ => v.to_le_bytes().to_vec(),
            }
        })
        .collect()
}

/// `dense_h_to_4h` (rows are entries, coordinate = column): 4C × C.
#[divan::bench(args = [(1024, DType::F32), (1024, DType::BF16)])]
fn mlp_in_cols(b: Bencher, (c, dtype): (usize, DType)) {
    let plan = plan(c);
    let info = TensorInfo { name: "gpt_neox.layers.0.mlp.dense_h_to_4h.weight".into(), dtype, shape: vec![4 * c, c] };
    let data = bytes(4 * c * c, dtype);
    b.counter(divan::counter::BytesCount::new(data.len())).bench(|| {
        let mut sink = ColumnSink::new(&plan, Summary::MeanSq, false, "bench", None);
        sink.rows(&info, 0, &data).unwrap();
    });
}

/// `dense_4h_to_h` (rows are coordinates): C × 4C.
#[divan::bench(args = [(1024, DType::F32), (1024, DType::BF16)])]
fn mlp_out_rows(b: Bencher, (c, dtype): (usize, DType)) {
    let plan = plan(c);
    let info = TensorInfo { name: "gpt_neox.layers.0.mlp.dense_4h_to_h.weight".into(), dtype, shape: vec![c, 4 * c] };
    let data = bytes(4 * c * c, dtype);
    b.counter(divan::counter::BytesCount::new(data.len())).bench(|| {
        let mut sink = ColumnSink::new(&plan, Summary::MeanSq, false, "bench", None);
        sink.rows(&info, 0, &data).unwrap();
    });
}

/// The tensors of a GPT-NeoX checkpoint of hidden size 1024 and `layers` layers (as `gen_checkpoint` writes
/// them, bf16): what a run parses and plans before it reads any weight.
fn neox_tensors(layers: usize) -> (serde_json::Value, Vec<TensorInfo>) {
    let c = 1024;
    let cfg = serde_json::json!({"model_type": "gpt_neox", "hidden_size": c, "num_attention_heads": 16,
        "num_hidden_layers": layers, "vocab_size": 50304, "tie_word_embeddings": false});
    let t = |name: String, shape: Vec<usize>| TensorInfo { name, dtype: DType::BF16, shape };
    let mut tensors = vec![
        t("gpt_neox.embed_in.weight".into(), vec![50304, c]),
        t("embed_out.weight".into(), vec![50304, c]),
        t("gpt_neox.final_layer_norm.weight".into(), vec![c]),
        t("gpt_neox.final_layer_norm.bias".into(), vec![c]),
    ];
    for l in 0..layers {
        let p = format!("gpt_neox.layers.{l}");
        tensors.extend([
            t(format!("{p}.input_layernorm.weight"), vec![c]),
            t(format!("{p}.input_layernorm.bias"), vec![c]),
            t(format!("{p}.post_attention_layernorm.weight"), vec![c]),
            t(format!("{p}.post_attention_layernorm.bias"), vec![c]),
            t(format!("{p}.attention.query_key_value.weight"), vec![3 * c, c]),
            t(format!("{p}.attention.query_key_value.bias"), vec![3 * c]),
            t(format!("{p}.attention.dense.weight"), vec![c, c]),
            t(format!("{p}.attention.dense.bias"), vec![c]),
            t(format!("{p}.mlp.dense_h_to_4h.weight"), vec![4 * c, c]),
            t(format!("{p}.mlp.dense_h_to_4h.bias"), vec![4 * c]),
            t(format!("{p}.mlp.dense_4h_to_h.weight"), vec![c, 4 * c]),
            t(format!("{p}.mlp.dense_4h_to_h.bias"), vec![c]),
        ]);
    }
    (cfg, tensors)
}

/// The safetensors header of [`neox_tensors`], as JSON.
fn neox_header(layers: usize) -> String {
    let (_, tensors) = neox_tensors(layers);
    let mut at = 0usize;
    let mut entries = serde_json::Map::new();
    entries.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
    for t in &tensors {
        let len = 2 * t.shape.iter().product::<usize>();
        entries.insert(
            t.name.clone(),
            serde_json::json!({"dtype": "BF16", "shape": t.shape, "data_offsets": [at, at + len]}),
        );
        at += len;
    }
    serde_json::Value::Object(entries).to_string()
}

/// Parsing (and checking) the header of a checkpoint with 52 layers (632 tensors).
#[divan::bench]
fn header_parse_52_layers(b: Bencher) {
    let json = neox_header(52);
    b.counter(divan::counter::BytesCount::new(json.len()))
        .bench(|| SafetensorsHeader::parse(divan::black_box(json.as_bytes())).unwrap());
}

/// Planning a checkpoint with 52 layers (3,538 components) from its tensor list.
#[divan::bench]
fn plan_52_layers(b: Bencher) {
    let (cfg, tensors) = neox_tensors(52);
    b.bench(|| {
        let m = Mapping::detect(&cfg).unwrap();
        Plan::new(&m, &cfg, divan::black_box(&tensors), true).unwrap()
    });
}
