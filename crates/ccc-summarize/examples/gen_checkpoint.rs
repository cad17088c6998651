//! Generate a GPT-NeoX checkpoint with random weights for benchmarking `ccc summarize`.
//!
//! ```text
//! cargo run --release -p ccc-summarize --example gen_checkpoint -- OUT_DIR [--dtype f32|bf16|f16] [--layers N]
//!     [--hidden C] [--heads H] [--vocab V] [--seed S]
//! ```
//!
//! The default shape is EleutherAI/pythia-410m (hidden 1024, 24 layers, 16 heads, MLP 4096, vocab 50304):
//! 405 M parameters, 1.6 GB in f32. In bf16, `--layers 52` gives about 1.5 GB, and the pythia-1b shape
//! (`--layers 16 --hidden 2048 --heads 8`) 2.0 GB. `OUT_DIR/config.json` and
//! `OUT_DIR/model.safetensors` are written; values are uniform in ±0.05 (norm gains around 1), from a seeded
//! ChaCha8 generator, so the output is the same on every machine. Memory use is O(1 MB).

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Copy, PartialEq)]
enum DType {
    F32,
    BF16,
    F16,
}

impl DType {
    fn size(self) -> usize {
        if self == DType::F32 {
            4
        } else {
            2
        }
    }
    fn name(self) -> &'static str {
        match self {
            DType::F32 => "F32",
            DType::BF16 => "BF16",
            DType::F16 => "F16",
        }
    }
}

struct Spec {
    name: String,
    dtype: &'static str,
    shape: Vec<usize>,
    /// Float tensors: centre of the values (0 for weights, 1 for norm gains); `None`: raw bytes (a bool mask).
    centre: Option<f32>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let (mut dtype, mut layers, mut hidden, mut heads, mut vocab, mut seed) = (DType::F32, 24, 1024, 16, 50304, 0u64);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--dtype" => {
                dtype = match val()?.as_str() {
                    "f32" => DType::F32,
                    "bf16" => DType::BF16,
                    "f16" => DType::F16,
                    d => return Err(format!("unknown dtype {d}").into()),
                }
            }
            "--layers" => layers = val()?.parse()?,
            "--hidden" => hidden = val()?.parse()?,
            "--heads" => heads = val()?.parse()?,
            "--vocab" => vocab = val()?.parse()?,
            "--seed" => seed = val()?.parse()?,
            _ if out.is_none() && !a.starts_with('-') => out = Some(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument {a}").into()),
        }
    }
    let out = out.ok_or("usage: gen_checkpoint OUT_DIR [--dtype f32|bf16|f16] [--layers N]")?;
    std::fs::create_dir_all(&out)?;
    let (c, f) = (hidden, 4 * hidden);
    let dt = dtype.name();
    let w = |name: String, shape: Vec<usize>| Spec { name, dtype: dt, shape, centre: Some(0.0) };
    let g = |name: String| Spec { name, dtype: dt, shape: vec![c], centre: Some(1.0) };
    let mut specs = vec![w("gpt_neox.embed_in.weight".into(), vec![vocab, c])];
    for l in 0..layers {
        let p = format!("gpt_neox.layers.{l}.");
        specs.push(g(format!("{p}input_layernorm.weight")));
        specs.push(w(format!("{p}input_layernorm.bias"), vec![c]));
        specs.push(g(format!("{p}post_attention_layernorm.weight")));
        specs.push(w(format!("{p}post_attention_layernorm.bias"), vec![c]));
        specs.push(Spec { name: format!("{p}attention.bias"), dtype: "BOOL", shape: vec![1, 1, 64, 64], centre: None });
        specs.push(w(format!("{p}attention.rotary_emb.inv_freq"), vec![c / heads / 8]));
        specs.push(w(format!("{p}attention.query_key_value.weight"), vec![3 * c, c]));
        specs.push(w(format!("{p}attention.query_key_value.bias"), vec![3 * c]));
        specs.push(w(format!("{p}attention.dense.weight"), vec![c, c]));
        specs.push(w(format!("{p}attention.dense.bias"), vec![c]));
        specs.push(w(format!("{p}mlp.dense_h_to_4h.weight"), vec![f, c]));
        specs.push(w(format!("{p}mlp.dense_h_to_4h.bias"), vec![f]));
        specs.push(w(format!("{p}mlp.dense_4h_to_h.weight"), vec![c, f]));
        specs.push(w(format!("{p}mlp.dense_4h_to_h.bias"), vec![c]));
    }
    specs.push(g("gpt_neox.final_layer_norm.weight".into()));
    specs.push(w("gpt_neox.final_layer_norm.bias".into(), vec![c]));
    specs.push(w("embed_out.weight".into(), vec![vocab, c]));

    let mut header = serde_json::Map::new();
    let mut off = 0usize;
    for s in &specs {
        let n: usize = s.shape.iter().product::<usize>() * if s.centre.is_some() { dtype.size() } else { 1 };
        header.insert(
            s.name.clone(),
            serde_json::json!({"dtype": s.dtype, "shape": s.shape, "data_offsets": [off, off + n]}),
        );
        off += n;
    }
    header.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
    let mut hb = serde_json::to_vec(&header)?;
    hb.resize(hb.len().div_ceil(8) * 8, b' ');

    let config = serde_json::json!({
        "architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "hidden_size": c,
        "intermediate_size": f, "num_attention_heads": heads, "num_hidden_layers": layers, "vocab_size": vocab,
        "tie_word_embeddings": false, "torch_dtype": match dtype { DType::F32 => "float32", DType::BF16 => "bfloat16", DType::F16 => "float16" },
    });
    std::fs::write(out.join("config.json"), serde_json::to_string_pretty(&config)?)?;

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut file = BufWriter::with_capacity(1 << 20, std::fs::File::create(out.join("model.safetensors"))?);
    file.write_all(&(hb.len() as u64).to_le_bytes())?;
    file.write_all(&hb)?;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    for s in &specs {
        let mut left: usize = s.shape.iter().product();
        while left > 0 {
            let n = left.min(1 << 18);
            buf.clear();
            for _ in 0..n {
                match s.centre {
                    None => buf.push(rng.random::<bool>() as u8),
                    Some(centre) => {
                        let v = centre + (rng.random::<f32>() - 0.5) * 0.1;
                        match dtype {
                            DType::F32 => buf.extend_from_slice(&v.to_le_bytes()),
                            DType::BF16 => buf.extend_from_slice(&half::bf16::from_f32(v).to_le_bytes()),
                            DType::F16 => buf.extend_from_slice(&half::f16::from_f32(v).to_le_bytes()),
                        }
                    }
                }
            }
            file.write_all(&buf)?;
            left -= n;
        }
    }
    file.flush()?;
    let size = std::fs::metadata(out.join("model.safetensors"))?.len();
    println!("wrote {} ({:.2} GB, {} layers, {})", out.display(), size as f64 / 1e9, layers, dtype.name());
    Ok(())
}
