//! Every built-in architecture against an independent computation written here from the raw tensors (read with
//! the `safetensors` crate, sliced per docs/tensor.md), in full and compact mode; dtype variants against f32.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use ccc_core::CccTensor;
use common::*;
use safetensors::SafeTensors;

type Raw = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

fn load_raw(path: &Path) -> Raw {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut out = Raw::new();
    for (name, view) in st.tensors() {
        let vals: Vec<f32> = match view.dtype() {
            safetensors::Dtype::F32 => {
                view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
            }
            _ => continue,
        };
        out.insert(name.to_string(), (view.shape().to_vec(), vals));
    }
    out
}

/// `mean_sq` of `w[o, c]` over outputs `o` in `rows` (a Linear `(out, in)` weight, coordinate = column).
fn cols(raw: &Raw, name: &str, rows: std::ops::Range<usize>) -> Vec<f64> {
    let (shape, v) = &raw[name];
    let n_c = shape[1];
    (0..n_c).map(|c| rows.clone().map(|o| (v[o * n_c + c] as f64).powi(2)).sum::<f64>() / rows.len() as f64).collect()
}

/// `mean_sq` of `w[c, i]` over inputs `i` in `range` (coordinate = row).
fn rows(raw: &Raw, name: &str, range: std::ops::Range<usize>) -> Vec<f64> {
    let (shape, v) = &raw[name];
    let n_in = shape[1];
    (0..shape[0])
        .map(|c| range.clone().map(|i| (v[c * n_in + i] as f64).powi(2)).sum::<f64>() / range.len() as f64)
        .collect()
}

fn norm(raw: &Raw, name: &str) -> Vec<f64> {
    let v = &raw[name].1;
    let mut s: Vec<f64> = v.iter().map(|&x| x as f64).collect();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    let med = if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 };
    v.iter().map(|&x| (x as f64 - med).powi(2)).collect()
}

/// The weighted mean of several `mean_sq` vectors (a row spread over several matrices).
fn concat(parts: &[(Vec<f64>, usize)]) -> Vec<f64> {
    let total: usize = parts.iter().map(|p| p.1).sum();
    (0..parts[0].0.len()).map(|c| parts.iter().map(|(v, n)| v[c] * *n as f64).sum::<f64>() / total as f64).collect()
}

/// Component name → (values per coordinate, length), computed from docs/tensor.md for one architecture.
fn reference(arch: &str, raw: &Raw, cfg: &serde_json::Value) -> BTreeMap<String, (Vec<f64>, usize)> {
    let g = |k: &str| cfg[k].as_u64().unwrap() as usize;
    let mut out = BTreeMap::new();
    match arch {
        "gpt_neox" => {
            let (c, l_n, h_n) = (g("hidden_size"), g("num_hidden_layers"), g("num_attention_heads"));
            let r = c / h_n;
            out.insert("emb_in".into(), (cols(raw, "gpt_neox.embed_in.weight", 0..g("vocab_size")), g("vocab_size")));
            out.insert("emb_out".into(), (cols(raw, "embed_out.weight", 0..g("vocab_size")), g("vocab_size")));
            for l in 0..l_n {
                let p = format!("gpt_neox.layers.{l}.");
                for h in 0..h_n {
                    for (i, k) in ["Q", "K", "V"].iter().enumerate() {
                        let s = 3 * r * h + i * r;
                        out.insert(
                            format!("L{l}.H{h}.{k}"),
                            (cols(raw, &format!("{p}attention.query_key_value.weight"), s..s + r), r),
                        );
                    }
                    out.insert(
                        format!("L{l}.H{h}.O"),
                        (rows(raw, &format!("{p}attention.dense.weight"), h * r..(h + 1) * r), r),
                    );
                }
                let f = raw[&format!("{p}mlp.dense_h_to_4h.weight")].0[0];
                out.insert(format!("L{l}.mlp_in"), (cols(raw, &format!("{p}mlp.dense_h_to_4h.weight"), 0..f), f));
                out.insert(format!("L{l}.mlp_out"), (rows(raw, &format!("{p}mlp.dense_4h_to_h.weight"), 0..f), f));
                out.insert(format!("L{l}.ln_1"), (norm(raw, &format!("{p}input_layernorm.weight")), 1));
                out.insert(format!("L{l}.ln_2"), (norm(raw, &format!("{p}post_attention_layernorm.weight")), 1));
            }
        }
        "llama" | "olmo" | "qwen2" => {
            let (c, l_n, h_n) = (g("hidden_size"), g("num_hidden_layers"), g("num_attention_heads"));
            let kv = cfg.get("num_key_value_heads").and_then(|v| v.as_u64()).map(|v| v as usize).unwrap_or(h_n);
            let r = cfg.get("head_dim").and_then(|v| v.as_u64()).map(|v| v as usize).unwrap_or(c / h_n);
            let v_n = g("vocab_size");
            out.insert("emb_in".into(), (cols(raw, "model.embed_tokens.weight", 0..v_n), v_n));
            if !cfg["tie_word_embeddings"].as_bool().unwrap() {
                out.insert("emb_out".into(), (cols(raw, "lm_head.weight", 0..v_n), v_n));
            }
            for l in 0..l_n {
                let p = format!("model.layers.{l}.");
                for h in 0..h_n {
                    out.insert(
                        format!("L{l}.H{h}.Q"),
                        (cols(raw, &format!("{p}self_attn.q_proj.weight"), h * r..(h + 1) * r), r),
                    );
                    out.insert(
                        format!("L{l}.H{h}.O"),
                        (rows(raw, &format!("{p}self_attn.o_proj.weight"), h * r..(h + 1) * r), r),
                    );
                }
                for h in 0..kv {
                    out.insert(
                        format!("L{l}.H{h}.K"),
                        (cols(raw, &format!("{p}self_attn.k_proj.weight"), h * r..(h + 1) * r), r),
                    );
                    out.insert(
                        format!("L{l}.H{h}.V"),
                        (cols(raw, &format!("{p}self_attn.v_proj.weight"), h * r..(h + 1) * r), r),
                    );
                }
                let f = raw[&format!("{p}mlp.up_proj.weight")].0[0];
                let gate = cols(raw, &format!("{p}mlp.gate_proj.weight"), 0..f);
                let up = cols(raw, &format!("{p}mlp.up_proj.weight"), 0..f);
                out.insert(format!("L{l}.mlp_in"), (concat(&[(gate, f), (up, f)]), 2 * f));
                out.insert(format!("L{l}.mlp_out"), (rows(raw, &format!("{p}mlp.down_proj.weight"), 0..f), f));
                if raw.contains_key(&format!("{p}input_layernorm.weight")) {
                    out.insert(format!("L{l}.ln_1"), (norm(raw, &format!("{p}input_layernorm.weight")), 1));
                    out.insert(format!("L{l}.ln_2"), (norm(raw, &format!("{p}post_attention_layernorm.weight")), 1));
                }
            }
        }
        "gpt2" => {
            let (c, l_n, h_n) = (g("n_embd"), g("n_layer"), g("n_head"));
            let r = c / h_n;
            let v_n = g("vocab_size");
            out.insert("emb_in".into(), (cols(raw, "transformer.wte.weight", 0..v_n), v_n));
            for l in 0..l_n {
                let p = format!("transformer.h.{l}.");
                // Conv1D (in, out): c_attn rows are coordinates, columns [0,C) Q, [C,2C) K, [2C,3C) V.
                for h in 0..h_n {
                    for (i, k) in ["Q", "K", "V"].iter().enumerate() {
                        let s = i * c + h * r;
                        out.insert(
                            format!("L{l}.H{h}.{k}"),
                            (rows(raw, &format!("{p}attn.c_attn.weight"), s..s + r), r),
                        );
                    }
                    // c_proj (in, out): rows are head inputs, the coordinate is the column.
                    out.insert(
                        format!("L{l}.H{h}.O"),
                        (cols(raw, &format!("{p}attn.c_proj.weight"), h * r..(h + 1) * r), r),
                    );
                }
                let f = raw[&format!("{p}mlp.c_fc.weight")].0[1];
                out.insert(format!("L{l}.mlp_in"), (rows(raw, &format!("{p}mlp.c_fc.weight"), 0..f), f));
                out.insert(format!("L{l}.mlp_out"), (cols(raw, &format!("{p}mlp.c_proj.weight"), 0..f), f));
                out.insert(format!("L{l}.ln_1"), (norm(raw, &format!("{p}ln_1.weight")), 1));
                out.insert(format!("L{l}.ln_2"), (norm(raw, &format!("{p}ln_2.weight")), 1));
            }
        }
        _ => unreachable!(),
    }
    out
}

fn check_against_reference(name: &str, arch: &str, steps: &[i64]) {
    let run_dir = fixtures().join(name);
    let dir = tempfile::tempdir().unwrap();
    let (full, compact) = summarize_dir(&run_dir, "all", dir.path());
    assert_eq!(full.steps, steps, "{name}");
    assert_eq!(full.meta.architecture, arch);
    for (t, step) in steps.iter().enumerate() {
        let ck = run_dir.join(format!("step{step}"));
        let raw = load_raw(&ck.join("model.safetensors"));
        let cfg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(ck.join("config.json")).unwrap()).unwrap();
        let want = reference(arch, &raw, &cfg);
        let names: Vec<String> = full.meta.components.iter().map(|c| c.name()).collect();
        let mut want_names: Vec<&String> = want.keys().collect();
        want_names.sort();
        let mut got_names: Vec<&String> = names.iter().collect();
        got_names.sort();
        assert_eq!(got_names, want_names, "{name}: component set");
        let mut compact_want: BTreeMap<String, (Vec<f64>, usize)> = BTreeMap::new();
        for (k, comp) in full.meta.components.iter().enumerate() {
            let (vals, len) = &want[&comp.name()];
            assert_eq!(full.lengths[k], *len as i64, "{name}: length of {comp}");
            for (c, &v) in vals.iter().enumerate() {
                assert_close(full.get(c, t, k) as f64, v, 1e-6, &format!("{name} step {step} {comp} c={c}"));
            }
            let e = compact_want.entry(comp.kind.name().to_string()).or_insert((vec![0.0; vals.len()], 0));
            e.0.iter_mut().zip(vals).for_each(|(a, b)| *a += b);
            e.1 += len;
        }
        check_compact(&compact, t, &compact_want, name);
    }
}

fn check_compact(compact: &CccTensor, t: usize, want: &BTreeMap<String, (Vec<f64>, usize)>, name: &str) {
    assert_eq!(compact.n_comp(), want.len(), "{name}: compact components");
    for (k, comp) in compact.meta.components.iter().enumerate() {
        let (vals, len) = &want[&comp.name()];
        assert_eq!(compact.lengths[k], *len as i64, "{name}: compact length of {comp}");
        for (c, &v) in vals.iter().enumerate() {
            assert_close(compact.get(c, t, k) as f64, v, 1e-6, &format!("{name} compact {comp} c={c}"));
        }
    }
}

fn assert_close(got: f64, want: f64, rel: f64, what: &str) {
    let tol = rel * want.abs().max(1e-30);
    assert!((got - want).abs() <= tol.max(f32::MIN_POSITIVE as f64), "{what}: got {got}, want {want}");
}

#[test]
fn gpt_neox() {
    check_against_reference("tiny-neox", "gpt_neox", &[0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1500, 2000]);
}

#[test]
fn llama_gqa() {
    check_against_reference("tiny-llama", "llama", &[0, 200, 400]);
}

#[test]
fn gpt2_tied_conv1d() {
    check_against_reference("tiny-gpt2", "gpt2", &[0, 200, 400]);
}

#[test]
fn olmo_without_norm_weights() {
    check_against_reference("tiny-olmo", "olmo", &[0, 200, 400]);
}

#[test]
fn qwen2_tied_with_biases() {
    check_against_reference("tiny-qwen2", "qwen2", &[0, 200, 400]);
}

#[test]
fn mini_neox() {
    check_against_reference("mini-neox", "gpt_neox", &[0, 512, 13000]);
}

/// Per matrix component, `max_c |got - want| <= tol * max_c |want|` (precision relative to the component's
/// scale). Norm components `(w - median)²` are compared as `|w - median|`, whose error is about the rounding of
/// gains near 1: at most `tol` (absolute).
fn assert_columns_close(got: &CccTensor, want: &CccTensor, tol: f64, what: &str) {
    assert_eq!(got.meta.components, want.meta.components);
    for k in 0..want.n_comp() {
        if want.meta.components[k].kind.is_norm() {
            for c in 0..want.n_coord {
                let (a, b) = ((got.get(c, 0, k) as f64).sqrt(), (want.get(c, 0, k) as f64).sqrt());
                assert!((a - b).abs() <= tol, "{what}: {} c={c}: |w - median| {a} vs {b}", want.meta.components[k]);
            }
            continue;
        }
        let scale = (0..want.n_coord).map(|c| want.get(c, 0, k).abs() as f64).fold(0.0, f64::max);
        let err =
            (0..want.n_coord).map(|c| (got.get(c, 0, k) as f64 - want.get(c, 0, k) as f64).abs()).fold(0.0, f64::max);
        assert!(err <= tol * scale, "{what}: {}: error {err} vs scale {scale}", want.meta.components[k]);
    }
}

#[test]
fn half_precision_variants_match_f32() {
    let d = tempfile::tempdir().unwrap();
    let (f32_full, _) = summarize_dir(&fixtures().join("tiny-neox/step2000"), "all", &d.path().join("a").tap_mkdir());
    // f16: 11-bit significand, squares within ~2·2⁻¹¹; bf16: 8-bit, ~2·2⁻⁸ (relative to the component's scale).
    for (variant, tol) in [("step2000-f16", 2e-3), ("step2000-bf16", 1.6e-2)] {
        let out = d.path().join(variant).tap_mkdir();
        let (full, _) = summarize_dir(&fixtures().join("tiny-neox/variants").join(variant), "all", &out);
        assert_columns_close(&full, &f32_full, tol, variant);
        assert_ne!(full.mags, f32_full.mags, "{variant}: rounding must show");
    }
}

#[test]
fn pytorch_bin_variant_matches_safetensors() {
    let d = tempfile::tempdir().unwrap();
    let (st, _) = summarize_dir(&fixtures().join("tiny-neox/step2000"), "all", &d.path().join("a").tap_mkdir());
    let (bin, _) =
        summarize_dir(&fixtures().join("tiny-neox/variants/step2000-bin"), "all", &d.path().join("b").tap_mkdir());
    assert_eq!(bin.mags, st.mags);
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
