//! Write a synthetic `ccc/1` tensor of a given shape, for benchmarks and for looking at figures at scale.
//!
//! `cargo run --release -p ccc-figures --example synth_tensor -- OUT.safetensors [olmo1b|small|gqa|compact]`
//!
//! `olmo1b`: 2048 coordinates × 50 checkpoints (steps 20000…730000) × 1057 components (16 layers, 16 heads, tied
//! embeddings, no norm gains), the shape of OLMo-1B. Values: per-component scales, smooth per-kind growth curves,
//! a few outlier coordinates that emerge during training, multiplicative noise; all from one seeded generator.

use ccc_core::ComponentKind::*;
use ccc_core::{file, CccMeta, CccTensor, Component, Mode, Summary};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.first().ok_or("usage: synth_tensor OUT [olmo1b|small|gqa|compact]")?;
    let preset = args.get(1).map_or("olmo1b", String::as_str);
    let (n_coord, n_ckpt, n_layer, n_head, n_kv, kinds, mode): (usize, usize, usize, usize, usize, Vec<_>, Mode) =
        match preset {
            "olmo1b" => (2048, 50, 16, 16, 16, vec![EmbIn, Q, K, V, O, MlpIn, MlpOut], Mode::Full),
            "small" => (96, 160, 2, 2, 2, vec![EmbIn, EmbOut, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2], Mode::Full),
            "gqa" => (256, 30, 6, 8, 2, vec![EmbIn, EmbOut, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2], Mode::Full),
            "compact" => (512, 40, 12, 12, 12, vec![EmbIn, EmbOut, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2], Mode::Compact),
            other => return Err(format!("unknown preset `{other}`").into()),
        };
    let components = match mode {
        Mode::Full => Component::full_list(n_layer, n_head, n_kv, &kinds),
        Mode::Compact => Component::compact_list(&kinds),
    };
    let n_comp = components.len();
    let meta = CccMeta {
        model: format!("synthetic-{preset}"),
        architecture: "olmo".into(),
        mode,
        n_layer,
        n_head,
        n_kv_head: n_kv,
        summary: Summary::MeanSq,
        components: components.clone(),
        duplicates: vec![],
        extra: Default::default(),
    };
    let steps: Vec<i64> = if preset == "olmo1b" {
        (0..n_ckpt)
            .map(|i| ((20_000.0 + i as f64 * 710_000.0 / (n_ckpt - 1) as f64) / 1000.0).round() as i64 * 1000)
            .collect()
    } else {
        // 0, 1, 2, 4, …, then evenly spaced: the usual irregular schedule.
        let mut s = vec![0i64];
        let mut p = 1;
        while s.len() < n_ckpt / 3 {
            s.push(p);
            p *= 2;
        }
        let last = *s.last().unwrap_or(&0);
        let mut v = last;
        while s.len() < n_ckpt {
            v += 500;
            s.push(v);
        }
        s
    };
    let lengths: Vec<i64> =
        components.iter().map(|c| if c.kind == EmbIn || c.kind == EmbOut { 50_000 } else { 128 }).collect();
    let mut t = CccTensor::empty(meta, n_coord, steps, lengths)?;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut unif = move || (rng.next_u32() as f64 + 0.5) / 4_294_967_296.0;
    let scale: Vec<f64> = (0..n_comp).map(|_| (0.5 * (unif() - 0.5)).exp()).collect();
    let phase: Vec<f64> = (0..n_comp).map(|k| components[k].kind as usize as f64 * 0.35 + 0.2 * unif()).collect();
    let coord_amp: Vec<f64> =
        (0..n_coord).map(|c| if c % 97 == 13 || c % 211 == 5 { 4.0 + 6.0 * unif() } else { 0.3 * unif() }).collect();
    let coord_kind_pref: Vec<f64> = (0..n_coord).map(|_| unif()).collect();
    for c in 0..n_coord {
        for s in 0..n_ckpt {
            let x = s as f64 / (n_ckpt.max(2) - 1) as f64;
            for k in 0..n_comp {
                let growth = 1.0 + (3.0 * x + phase[k]).sin() * 0.3 + x * (1.0 + phase[k]);
                let emerge = coord_amp[c]
                    * (x * 4.0).tanh()
                    * if (k as f64 / n_comp as f64) < coord_kind_pref[c] { 1.0 } else { 0.3 };
                let noise = (0.15 * (unif() - 0.5)).exp();
                let i = t.index(c, s, k);
                t.mags[i] = (scale[k] * growth * (1.0 + emerge) * noise) as f32;
            }
        }
    }
    t.filled.iter_mut().for_each(|f| *f = true);
    file::write(std::path::Path::new(out), &t)?;
    eprintln!("wrote {out}: {} × {} × {}", n_coord, n_ckpt, n_comp);
    Ok(())
}
