//! Generate a Mixtral-format mixture-of-experts checkpoint with random weights for benchmarking `ccc summarize`.
//!
//! ```text
//! cargo run --release -p ccc-summarize --example gen_moe -- OUT_DIR [--layers N] [--hidden C] [--experts E]
//!     [--ffn F] [--seed S]
//! ```
//!
//! Default: hidden 1024, 8 layers, 8 experts of MLP width 2048, 16 heads (4 key/value heads), vocab 32000, bf16:
//! about 1.2 GB. `OUT_DIR/config.json` and `OUT_DIR/model.safetensors` are written, the values streamed from a
//! seeded ChaCha8 generator (memory O(1 MB)).

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let (mut layers, mut c, mut experts, mut f, mut seed) = (8usize, 1024usize, 8usize, 2048usize, 0u64);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--layers" => layers = val()?.parse()?,
            "--hidden" => c = val()?.parse()?,
            "--experts" => experts = val()?.parse()?,
            "--ffn" => f = val()?.parse()?,
            "--seed" => seed = val()?.parse()?,
            _ if out.is_none() && !a.starts_with('-') => out = Some(a.into()),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let out = out.ok_or("usage: gen_moe OUT_DIR [--layers N] …")?;
    std::fs::create_dir_all(&out)?;
    let (heads, kv, vocab) = (16usize, 4usize, 32000usize);
    let r = c / heads;
    let mut specs: Vec<(String, Vec<usize>, f32)> = vec![("model.embed_tokens.weight".into(), vec![vocab, c], 0.0)];
    for l in 0..layers {
        let p = format!("model.layers.{l}");
        specs.push((format!("{p}.self_attn.q_proj.weight"), vec![heads * r, c], 0.0));
        specs.push((format!("{p}.self_attn.k_proj.weight"), vec![kv * r, c], 0.0));
        specs.push((format!("{p}.self_attn.v_proj.weight"), vec![kv * r, c], 0.0));
        specs.push((format!("{p}.self_attn.o_proj.weight"), vec![c, heads * r], 0.0));
        specs.push((format!("{p}.block_sparse_moe.gate.weight"), vec![experts, c], 0.0));
        for e in 0..experts {
            let q = format!("{p}.block_sparse_moe.experts.{e}");
            specs.push((format!("{q}.w1.weight"), vec![f, c], 0.0));
            specs.push((format!("{q}.w2.weight"), vec![c, f], 0.0));
            specs.push((format!("{q}.w3.weight"), vec![f, c], 0.0));
        }
        specs.push((format!("{p}.input_layernorm.weight"), vec![c], 1.0));
        specs.push((format!("{p}.post_attention_layernorm.weight"), vec![c], 1.0));
    }
    specs.push(("model.norm.weight".into(), vec![c], 1.0));
    specs.push(("lm_head.weight".into(), vec![vocab, c], 0.0));
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, shape, _) in &specs {
        let n: usize = shape.iter().product::<usize>() * 2;
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + n]}),
        );
        offset += n;
    }
    let mut h = serde_json::to_vec(&header)?;
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out.join("model.safetensors"))?);
    w.write_all(&(h.len() as u64).to_le_bytes())?;
    w.write_all(&h)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for (_, shape, centre) in &specs {
        let n: usize = shape.iter().product();
        for _ in 0..n {
            let v = half::bf16::from_f32(centre + rng.random_range(-0.05f32..0.05));
            w.write_all(&v.to_le_bytes())?;
        }
    }
    w.flush()?;
    let cfg = serde_json::json!({"model_type": "mixtral", "architectures": ["MixtralForCausalLM"], "hidden_size": c,
        "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv, "intermediate_size": f,
        "num_local_experts": experts, "num_experts_per_tok": 2, "vocab_size": vocab, "tie_word_embeddings": false,
        "torch_dtype": "bfloat16"});
    std::fs::write(out.join("config.json"), serde_json::to_string_pretty(&cfg)?)?;
    Ok(())
}
