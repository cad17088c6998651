//! A seeded synthetic CCC tensor with planted outlier coordinates and component groups, for benchmarks.
//!
//! ```text
//! cargo run --release -p ccc-analyze --example gen_tensor -- OUT.safetensors [--coords 2048] [--ckpts 50]
//!     [--layers 16] [--heads 16] [--seed 0] [--pythia]
//! ```
//!
//! `--pythia` adds what a GPT-NeoX (Pythia) model has besides: an untied `emb_out` and the two norm gains per layer
//! (`ln_1`, `ln_2`) — pythia-70m's 218 components with `--layers 6 --heads 8`.
//!
//! The default shape is OLMo-1B's: 2048 coordinates × 50 checkpoints × 1057 components (`emb_in`, then per layer
//! 16 heads of Q, K, V, O and the two MLP matrices; tied embeddings, no norm gains). The model: every
//! `(c, k)` has a positive base magnitude that drifts smoothly over training; components fall in three planted
//! groups (growing, shrinking, flat); ~1% of the coordinates are outliers, much larger in group-1 components
//! from a third of the way through training. The truth is stored in the metadata (`truth_coords_out`,
//! `truth_comps_grp1`, `truth_comps_grp2`).
//!
//! The file is written a column (checkpoint) at a time, so any shape — Pythia-12B's 18.6 GB — needs one column of
//! memory.

use ccc_core::file::CccFile;
use ccc_core::ComponentKind::{EmbIn, EmbOut, Ln1, Ln2, MlpIn, MlpOut, K, O, Q, V};
use ccc_core::{CccMeta, Component, Mode, Summary};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut out = None;
    let mut pythia = false;
    let (mut n_coord, mut n_ckpt, mut n_layer, mut n_head, mut seed) = (2048usize, 50usize, 16usize, 16usize, 0u64);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            args.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{name} needs a number"))
        };
        match a.as_str() {
            "--coords" => n_coord = num("--coords")? as usize,
            "--ckpts" => n_ckpt = num("--ckpts")? as usize,
            "--layers" => n_layer = num("--layers")? as usize,
            "--heads" => n_head = num("--heads")? as usize,
            "--seed" => seed = num("--seed")?,
            "--pythia" => pythia = true,
            s if !s.starts_with('-') && out.is_none() => out = Some(std::path::PathBuf::from(s)),
            s => return Err(format!("unknown argument `{s}`").into()),
        }
    }
    let out = out.ok_or(
        "usage: gen_tensor OUT.safetensors [--coords N] [--ckpts N] [--layers N] [--heads N] [--seed N] [--pythia]",
    )?;
    let kinds: &[_] = if pythia {
        &[EmbIn, EmbOut, Q, K, V, O, MlpIn, MlpOut, Ln1, Ln2]
    } else {
        &[EmbIn, Q, K, V, O, MlpIn, MlpOut]
    };
    let components = Component::full_list(n_layer, n_head, n_head, kinds);
    let n_comp = components.len();
    let d_head = (n_coord / n_head.max(1)).max(1) as i64;
    let lengths: Vec<i64> = components
        .iter()
        .map(|c| match c.kind {
            EmbIn | EmbOut => 50_304,
            Ln1 | Ln2 => 1,
            MlpIn => 16_384,
            MlpOut => 8_192,
            _ => d_head,
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Planted truth.
    let group: Vec<u8> = (0..n_comp).map(|_| rng.random_range(0..3u8)).collect();
    let mut coords_out: Vec<usize> = (0..n_coord).filter(|_| rng.random::<f64>() < 0.01).collect();
    if coords_out.is_empty() && n_coord > 0 {
        coords_out.push(0);
    }
    let mut is_out = vec![false; n_coord];
    coords_out.iter().for_each(|&c| is_out[c] = true);
    let base_c: Vec<f32> = (0..n_coord).map(|_| 0.5 + rng.random::<f32>()).collect();
    let base_k: Vec<f32> = (0..n_comp).map(|_| 0.2 + 2.0 * rng.random::<f32>()).collect();
    let steps: Vec<i64> = (0..n_ckpt as i64).map(|i| i * 1000).collect();
    let meta = CccMeta {
        model: format!("synthetic OLMo-1B-shaped (seed {seed})"),
        architecture: "olmo".into(),
        mode: Mode::Full,
        n_layer,
        n_head,
        n_kv_head: n_head,
        summary: Summary::MeanSq,
        components,
        duplicates: vec![],
        extra: [
            ("synthetic".to_string(), "gen_tensor/1".to_string()),
            ("seed".to_string(), seed.to_string()),
            ("truth_coords_out".to_string(), format!("{coords_out:?}")),
            (
                "truth_comps_grp1".to_string(),
                format!("{:?}", (0..n_comp).filter(|&k| group[k] == 0).collect::<Vec<_>>()),
            ),
            (
                "truth_comps_grp2".to_string(),
                format!("{:?}", (0..n_comp).filter(|&k| group[k] == 1).collect::<Vec<_>>()),
            ),
        ]
        .into_iter()
        .collect(),
    };
    // Streamed: one column in memory at a time, written in place (a 20 GB tensor needs one column of RAM).
    let mut file = CccFile::create_empty(&out, meta, n_coord, steps, lengths)?;
    let mut col = vec![0.0f32; n_coord * n_comp];
    for s in 0..n_ckpt {
        let f = s as f32 / n_ckpt.max(2) as f32;
        for c in 0..n_coord {
            for k in 0..n_comp {
                let trend = match group[k] {
                    0 => 1.0 + 2.0 * f,
                    1 => 1.0 / (1.0 + 2.0 * f),
                    _ => 1.0,
                };
                let noise = 1.0 + 0.1 * (rng.random::<f32>() - 0.5);
                let spike = if is_out[c] && group[k] == 0 && 3 * s >= n_ckpt { 8.0 } else { 1.0 };
                col[c * n_comp + k] = base_c[c] * base_k[k] * trend * noise * spike;
            }
        }
        file.write_column_values(s, &col)?;
    }
    file.sync_values()?;
    file.mark_filled(&(0..n_ckpt).collect::<Vec<_>>())?;
    eprintln!("wrote {} ({n_coord} × {n_ckpt} × {n_comp}, {} planted outliers)", out.display(), coords_out.len());
    Ok(())
}
