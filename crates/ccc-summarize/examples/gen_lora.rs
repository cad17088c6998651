//! Generate a PEFT LoRA run with random adapters for benchmarking `ccc summarize --base … --adapter …`.
//!
//! ```text
//! cargo run --release -p ccc-summarize --example gen_lora -- OUT_DIR [--checkpoints N] [--rank R] [--layers L]
//!     [--hidden C] [--targets query_key_value,dense,…] [--seed S]
//! ```
//!
//! Writes `OUT_DIR/checkpoint-{10,20,…}/` with `adapter_config.json` and `adapter_model.safetensors` (f32), LoRA
//! on GPT-NeoX module names of the `gen_checkpoint` example's default shape (pythia-410m: hidden 1024, 24 layers,
//! MLP 4096), by default rank 8 on `query_key_value` and `dense` (100 checkpoints: 2.3 MB each). Values from a
//! seeded ChaCha8 generator.

use std::path::PathBuf;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::{Dtype, TensorView};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let (mut n, mut rank, mut layers, mut hidden, mut seed) = (100usize, 8usize, 24usize, 1024usize, 0u64);
    let mut targets = vec!["query_key_value".to_string(), "dense".to_string()];
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--checkpoints" => n = val()?.parse()?,
            "--rank" => rank = val()?.parse()?,
            "--layers" => layers = val()?.parse()?,
            "--hidden" => hidden = val()?.parse()?,
            "--seed" => seed = val()?.parse()?,
            "--targets" => targets = val()?.split(',').map(str::to_string).collect(),
            _ if out.is_none() && !a.starts_with('-') => out = Some(a.into()),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let out = out.ok_or("usage: gen_lora OUT_DIR [--checkpoints N] [--rank R] …")?;
    let c = hidden;
    // (module suffix, out, in) of a GPT-NeoX layer.
    let modules = [
        ("attention.query_key_value", 3 * c, c),
        ("attention.dense", c, c),
        ("mlp.dense_h_to_4h", 4 * c, c),
        ("mlp.dense_4h_to_h", c, 4 * c),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for i in 1..=n {
        let dir = out.join(format!("checkpoint-{}", i * 10));
        std::fs::create_dir_all(&dir)?;
        let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        for l in 0..layers {
            for (m, o, inp) in modules {
                if !targets.iter().any(|t| m.ends_with(t.as_str())) {
                    continue;
                }
                let name = format!("base_model.model.gpt_neox.layers.{l}.{m}");
                for (factor, shape) in [("lora_A", [rank, inp]), ("lora_B", [o, rank])] {
                    let vals: Vec<f32> = (0..shape[0] * shape[1]).map(|_| rng.random_range(-0.02f32..0.02)).collect();
                    tensors.push((
                        format!("{name}.{factor}.weight"),
                        shape.to_vec(),
                        bytemuck::cast_slice(&vals).to_vec(),
                    ));
                }
            }
        }
        let views: Vec<(String, TensorView)> = tensors
            .iter()
            .map(|(name, shape, bytes)| Ok((name.clone(), TensorView::new(Dtype::F32, shape.clone(), bytes)?)))
            .collect::<Result<_, safetensors::SafeTensorError>>()?;
        safetensors::serialize_to_file(views, None, &dir.join("adapter_model.safetensors"))?;
        let cfg = serde_json::json!({"peft_type": "LORA", "r": rank, "lora_alpha": 2 * rank,
            "target_modules": targets, "fan_in_fan_out": false, "use_rslora": false});
        std::fs::write(dir.join("adapter_config.json"), serde_json::to_string_pretty(&cfg)?)?;
    }
    Ok(())
}
