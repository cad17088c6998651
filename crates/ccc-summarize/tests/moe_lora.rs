//! Mixture-of-experts checkpoints and PEFT LoRA runs (issue 25) against reference values computed independently
//! with numpy by `tests/data/fixtures/make_moe_lora.py` (from the saved weights, and from peft's own ΔW of every
//! adapted layer): every component of every step, in full mode; compact mode as the sums of the full components.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ccc_core::{file, CccTensor, Mode, NoProgress, StepSelection, Summary};
use ccc_summarize::adapter::{self, AdapterMode, Base};
use ccc_summarize::{local, run, summarize_source, Checkpoint, Output, ReadMethod, RunOptions};
use common::*;

type Components = BTreeMap<String, Vec<f64>>;

/// The reference values of one run: step → (`merged` / `delta` / `""` for MoE) → component → values.
fn reference(run: &str) -> BTreeMap<i64, BTreeMap<String, Components>> {
    // The DoRA run and the later MoE models have their own files, made by their own scripts.
    let file = match run {
        r if r.ends_with("-dora") => "dora_reference.json",
        "tiny-qwen3-moe" | "tiny-phimoe" | "tiny-qwen3" | "tiny-glm4-moe" | "tiny-ernie4_5-moe" | "tiny-granitemoe"
        | "tiny-gpt-oss" => "moe_more_reference.json",
        "lora/tiny-llama-lm-head" | "lora/tiny-gpt2-bias" => "lora_saved_reference.json",
        _ => "moe_lora_reference.json",
    };
    let text = std::fs::read_to_string(fixtures().join(file)).unwrap();
    let all: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = BTreeMap::new();
    for (step, v) in all["runs"][run].as_object().unwrap_or_else(|| panic!("no reference for {run}")) {
        let parse = |o: &serde_json::Value| -> Components {
            o.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()))
                .collect()
        };
        let by_mode: BTreeMap<String, Components> = if v.get("merged").is_some() {
            ["merged", "delta"].iter().map(|m| (m.to_string(), parse(&v[*m]))).collect()
        } else {
            [(String::new(), parse(v))].into_iter().collect()
        };
        out.insert(step.parse().unwrap(), by_mode);
    }
    out
}

fn run_both(checkpoints: &[Box<dyn Checkpoint>], dir: &Path, summary: Summary) -> (CccTensor, CccTensor) {
    let full = dir.join("x.full.safetensors");
    let compact = dir.join("x.compact.safetensors");
    let mut opts = RunOptions::new(
        vec![Output { mode: Mode::Full, path: full.clone() }, Output { mode: Mode::Compact, path: compact.clone() }],
        "test",
    );
    opts.summary = summary;
    run(checkpoints, &opts, &NoProgress).unwrap();
    (file::read(&full).unwrap(), file::read(&compact).unwrap())
}

/// The reference is f64 from f32 weights, printed to 9 digits; ccc stores f32.
const REL_TOL: f64 = 2e-6;

fn assert_close(got: f64, want: f64, rel_tol: f64, what: &str) {
    let tol = rel_tol * want.abs();
    assert!((got - want).abs() <= tol.max(1e-30), "{what}: got {got}, want {want}");
}

/// Every full component equals the reference, and every compact component the sum of its full ones.
fn check(full: &CccTensor, compact: &CccTensor, want: &BTreeMap<i64, Components>, rel_tol: f64, name: &str) {
    let steps: Vec<i64> = want.keys().copied().collect();
    assert_eq!(full.steps, steps, "{name}: steps");
    for (t, (step, comps)) in want.iter().enumerate() {
        let mut names: Vec<String> = full.meta.components.iter().map(|c| c.name()).collect();
        names.sort();
        assert_eq!(names, comps.keys().cloned().collect::<Vec<_>>(), "{name}: components");
        let mut sums: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for (k, comp) in full.meta.components.iter().enumerate() {
            let vals = &comps[&comp.name()];
            assert_eq!(vals.len(), full.n_coord, "{name}");
            for (c, &v) in vals.iter().enumerate() {
                assert_close(full.get(c, t, k) as f64, v, rel_tol, &format!("{name} step {step} {comp} c={c}"));
            }
            let s = sums.entry(comp.kind.name()).or_insert_with(|| vec![0.0; vals.len()]);
            s.iter_mut().zip(vals).for_each(|(a, b)| *a += b);
        }
        assert_eq!(compact.n_comp(), sums.len(), "{name}: compact components");
        for (k, comp) in compact.meta.components.iter().enumerate() {
            for (c, &v) in sums[comp.kind.name()].iter().enumerate() {
                let got = compact.get(c, t, k) as f64;
                assert!((got - v).abs() <= 1e-5 * v.abs().max(1e-30), "{name} compact {comp} c={c}: {got} vs {v}");
            }
        }
    }
}

fn check_moe(name: &str, arch: &str, experts_lengths: (i64, i64), shared: Option<(i64, i64)>) {
    let dir = tempfile::tempdir().unwrap();
    let (full, compact) = summarize_dir(&fixtures().join(name), "all", dir.path());
    assert_eq!(full.meta.architecture, arch);
    let want: BTreeMap<i64, Components> =
        reference(name).into_iter().map(|(s, mut m)| (s, m.remove("").unwrap())).collect();
    check(&full, &compact, &want, REL_TOL, name);
    let len = |n: &str| full.lengths[full.meta.components.iter().position(|c| c.name() == n).unwrap()];
    assert_eq!((len("L1.E3.mlp_in"), len("L1.E3.mlp_out")), experts_lengths, "{name}");
    assert_eq!(len("L0.router"), 4, "{name}: the router's row is one entry per expert");
    if let Some(s) = shared {
        assert_eq!((len("L0.mlp_in"), len("L0.mlp_out")), s, "{name}: the shared expert");
    }
    // Canonical order: a layer's dense (shared) MLP, then its experts; routers last.
    let names: Vec<String> = full.meta.components.iter().map(|c| c.name()).collect();
    let at = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(at("L0.E3.mlp_in") < at("L1.E0.mlp_in") && at("L1.E3.mlp_in") < at("L0.E0.mlp_out"));
    assert_eq!(names.last().unwrap(), "L1.router");
}

#[test]
fn mixtral() {
    check_moe("tiny-mixtral", "mixtral", (96, 48), None);
}

#[test]
fn olmoe() {
    check_moe("tiny-olmoe", "olmoe", (96, 48), None);
}

#[test]
fn qwen2_moe_with_shared_expert() {
    check_moe("tiny-qwen2-moe", "qwen2_moe", (48, 24), Some((80, 40)));
}

#[test]
fn qwen3_moe_with_a_dense_layer_and_wide_heads() {
    // Layer 2 is dense (`mlp_only_layers`): an MLP and no router there; H·head_dim = 64 ≠ C = 32.
    check_moe("tiny-qwen3-moe", "qwen3_moe", (48, 24), None);
    let dir = tempfile::tempdir().unwrap();
    let (full, _) = summarize_dir(&fixtures().join("tiny-qwen3-moe"), "all", dir.path());
    let names: Vec<String> = full.meta.components.iter().map(|c| c.name()).collect();
    let len = |n: &str| full.lengths[names.iter().position(|c| c == n).unwrap_or_else(|| panic!("no {n}"))];
    assert_eq!((len("L2.mlp_in"), len("L2.mlp_out")), (96, 48));
    assert_eq!(len("L0.H3.Q"), 16);
    assert!(!names.iter().any(|n| n.starts_with("L2.E") || n == "L2.router" || n == "L0.mlp_in"), "{names:?}");
}

#[test]
fn qwen3_dense() {
    let dir = tempfile::tempdir().unwrap();
    let (full, compact) = summarize_dir(&fixtures().join("tiny-qwen3"), "all", dir.path());
    assert_eq!(full.meta.architecture, "qwen3");
    let want = reference("tiny-qwen3").into_iter().map(|(s, mut m)| (s, m.remove("").unwrap())).collect();
    check(&full, &compact, &want, REL_TOL, "tiny-qwen3");
}

/// A model whose first layer is dense and the next two MoE with shared experts: every component against the
/// reference, and per layer the components it has.
fn check_dense_first_moe(name: &str, arch: &str) -> CccTensor {
    let dir = tempfile::tempdir().unwrap();
    let (full, compact) = summarize_dir(&fixtures().join(name), "all", dir.path());
    assert_eq!(full.meta.architecture, arch);
    let want = reference(name).into_iter().map(|(s, mut m)| (s, m.remove("").unwrap())).collect();
    check(&full, &compact, &want, REL_TOL, name);
    let names: Vec<String> = full.meta.components.iter().map(|c| c.name()).collect();
    let has = |n: &str| names.iter().any(|c| c == n);
    assert!(has("L0.mlp_in") && !has("L0.router") && !has("L0.E0.mlp_in"), "{name}: layer 0 is dense");
    for l in [1, 2] {
        for c in ["mlp_in", "mlp_out", "router", "E3.mlp_in", "E3.mlp_out"] {
            assert!(has(&format!("L{l}.{c}")), "{name}: L{l}.{c}");
        }
    }
    assert!(!names.iter().any(|n| n.starts_with("L3.")), "{name}: {names:?}");
    full
}

#[test]
fn glm4_moe_with_shared_experts_and_an_mtp_layer() {
    check_dense_first_moe("tiny-glm4-moe", "glm4_moe");
    // The multi-token prediction layer stored after the model's 3 is ignored, not an error.
    let ck = local::LocalCheckpoint::open(&fixtures().join("tiny-glm4-moe/step2"), None).unwrap();
    let src = ck.open().unwrap();
    let plan = ck.plan(&ck.config().unwrap(), src.tensors(), None, true).unwrap();
    let mtp: Vec<&str> =
        plan.ignored().iter().filter(|i| i.name.starts_with("model.layers.3.")).map(|i| i.reason.as_str()).collect();
    // Its weights named like a layer's are ignored as such; the others (`eh_proj`) match no rule anyway.
    assert!(mtp.iter().filter(|r| r.contains("multi-token prediction")).count() > 10, "{mtp:?}");
}

#[test]
fn ernie4_5_moe_with_tied_embeddings() {
    let full = check_dense_first_moe("tiny-ernie4_5-moe", "ernie4_5_moe");
    assert!(!full.meta.components.iter().any(|c| c.name() == "emb_out"), "tied");
}

#[test]
fn granitemoe_experts_fused_in_3d_tensors() {
    // input_linear [E, 2F, C] (the residual its last axis) and output_linear [E, C, F] (its middle axis).
    check_moe("tiny-granitemoe", "granitemoe", (96, 48), None);
}

#[test]
fn gpt_oss_experts_fused_and_stored_in_out() {
    // gate_up_proj [E, C, 2F] (the residual its middle axis) and down_proj [E, F, C] (its last axis); H·head_dim ≠ C.
    check_moe("tiny-gpt-oss", "gpt_oss", (96, 48), None);
}

#[test]
fn fused_experts_from_a_pytorch_bin_view() {
    // GraniteMoE's step 2 saved by torch.save with its expert tensors as strided views (storage transposed):
    // gathered along their first dimension, they give the safetensors file's values.
    let dir = tempfile::tempdir().unwrap();
    let (from_bin, _) =
        summarize_dir(&fixtures().join("tiny-granitemoe-bin"), "all", &dir.path().join("a").tap_mkdir());
    let (from_st, _) = summarize_dir(&fixtures().join("tiny-granitemoe"), "2", &dir.path().join("b").tap_mkdir());
    assert_eq!((from_bin.steps.clone(), from_bin.mags.clone()), (from_st.steps, from_st.mags));
}

#[test]
fn phimoe() {
    check_moe("tiny-phimoe", "phimoe", (96, 48), None);
}

fn lora_checkpoints(run: &str, base: &str, mode: AdapterMode, read: ReadMethod) -> Vec<Box<dyn Checkpoint>> {
    lora_run(run, base, mode, read).0
}

/// The checkpoints of a LoRA run, and their base.
fn lora_run(run: &str, base: &str, mode: AdapterMode, read: ReadMethod) -> (Vec<Box<dyn Checkpoint>>, Arc<Base>) {
    let base = Base::open(&fixtures().join(base), None, read).unwrap();
    let found = adapter::discover(
        &[fixtures().join("lora").join(run)],
        &StepSelection::all(),
        &Default::default(),
        &base,
        mode,
    )
    .unwrap();
    let ck = found.checkpoints.into_iter().map(|c| Box::new(c.with_read_method(read)) as Box<dyn Checkpoint>);
    (ck.collect(), base)
}

fn check_lora(run: &str, base: &str) {
    for mode in [AdapterMode::Merged, AdapterMode::Delta] {
        let dir = tempfile::tempdir().unwrap();
        let checkpoints = lora_checkpoints(run, base, mode, ReadMethod::Map);
        let (full, compact) = run_both(&checkpoints, dir.path(), Summary::MeanSq);
        let want: BTreeMap<i64, Components> = reference(&format!("lora/{run}"))
            .into_iter()
            .map(|(s, mut m)| (s, m.remove(mode.name()).unwrap()))
            .collect();
        // DoRA's ΔW is the merged weight less W0, both f32 (in peft as in ccc): the digits they share cancel, and
        // what is left carries the rounding of the merge magnified by |W0| / |ΔW| (about 30 here).
        let rel_tol = if run.ends_with("-dora") && mode == AdapterMode::Delta { 1e-5 } else { REL_TOL };
        check(&full, &compact, &want, rel_tol, &format!("{run} {mode}"));
    }
}

#[test]
fn lora_list_targets_rank_and_alpha_patterns() {
    check_lora("tiny-llama-lora", "tiny-llama/step400");
}

#[test]
fn lora_rslora_regex_targets_and_bin_weights() {
    check_lora("tiny-llama-rslora", "tiny-llama/step400");
}

#[test]
fn lora_fan_in_fan_out_conv1d() {
    check_lora("tiny-gpt2-lora", "tiny-gpt2/step400");
}

#[test]
fn dora_magnitudes_rescale_the_merged_rows() {
    // Merged against peft's own merge_and_unload; delta as that less W0 (which ccc gets by streaming the base).
    check_lora("tiny-llama-dora", "tiny-llama/step400");
}

#[test]
fn modules_to_save_copies_replace_their_weights() {
    // lm_head trained whole: merged takes the copy, delta is the copy less W0 (the base is streamed for it).
    check_lora("tiny-llama-lm-head", "tiny-llama/step400");
}

#[test]
fn trained_biases_and_whole_conv1d_copies() {
    // c_attn's bias (`bias="lora_only"`, saved as `…c_attn.base_layer.bias`) and c_fc's bias are not summarized;
    // c_fc's weight, stored (in, out), is replaced whole.
    check_lora("tiny-gpt2-bias", "tiny-gpt2/step400");
}

#[test]
fn delta_components_keep_the_base_names_and_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = lora_checkpoints("tiny-llama-lora", "tiny-llama/step400", AdapterMode::Delta, ReadMethod::Map);
    let (full, _) = run_both(&checkpoints, dir.path(), Summary::MeanSq);
    let len = |n: &str| full.lengths[full.meta.components.iter().position(|c| c.name() == n).unwrap()];
    // gate_proj alone is adapted, but mlp_in is gate and up: up's ΔW counts as zeros.
    assert_eq!(len("L0.mlp_in"), 2 * 176);
    assert_eq!(len("L1.H1.V"), 16);
    assert!(!full.meta.components.iter().any(|c| c.name() == "L0.H0.K" || c.name() == "emb_in"));
    // checkpoint-0 is the initialization, B = 0: ΔW is zero.
    assert!(full.column(0).iter().all(|&x| x == 0.0));
    assert!(full.column(1).iter().any(|&x| x > 0.0));
}

/// `l1` and `max_abs` need ΔW's entries (no fast path): built a chunk of rows at a time, they agree with the
/// squared summaries' view of the same ΔW (max_abs² ≥ mean_sq, l1 = 0 exactly where mean_sq is 0), and the
/// pread reader gives the same bits as the mapped one.
#[test]
fn materialized_delta_summaries() {
    let dir = tempfile::tempdir().unwrap();
    let ck = |read| lora_checkpoints("tiny-gpt2-lora", "tiny-gpt2/step400", AdapterMode::Delta, read);
    let (sq, _) = run_both(&ck(ReadMethod::Map), &dir.path().join("a").tap_mkdir(), Summary::MeanSq);
    let (mx, _) = run_both(&ck(ReadMethod::Map), &dir.path().join("b").tap_mkdir(), Summary::MaxAbs);
    let (mx2, _) = run_both(&ck(ReadMethod::Pread), &dir.path().join("c").tap_mkdir(), Summary::MaxAbs);
    assert_eq!(mx.mags, mx2.mags);
    for (a, b) in sq.mags.iter().zip(&mx.mags) {
        assert!((*b as f64).powi(2) >= *a as f64 * (1.0 - 1e-5), "max_abs {b}, mean_sq {a}");
        assert!(*b > 0.0);
    }
}

/// Merged mode reads the base once per batch of adapters: one batch for the whole run (the default budget), a
/// batch per adapter (a budget too small for two), and each adapter summarized alone give the same bits, for a
/// summary with a closed form of ΔW's rows and one without.
#[test]
fn merged_batches_give_the_same_bits() {
    for (run, base) in [("tiny-llama-lora", "tiny-llama/step400"), ("tiny-gpt2-lora", "tiny-gpt2/step400")] {
        for summary in [Summary::MeanSq, Summary::L1] {
            let dir = tempfile::tempdir().unwrap();
            let (ck, b) = lora_run(run, base, AdapterMode::Merged, ReadMethod::Map);
            assert!(ck.len() >= 2, "{run}: a run of several adapters");
            let (one_batch, c1) = run_both(&ck, &dir.path().join("a").tap_mkdir(), summary);
            assert_eq!(b.passes(), 1, "{run}: one pass over the base for all adapters");
            let tiny = dir.path().join("b").tap_mkdir();
            let (batches, c2) = run_with_budget(&ck, &tiny, summary, 1);
            assert_eq!(b.passes(), 1 + ck.len(), "{run}: then one pass per adapter");
            assert_eq!(one_batch.mags, batches.mags, "{run} {summary:?}: one batch vs a batch per adapter");
            assert_eq!(c1.mags, c2.mags);
            // Each adapter alone, streamed over its own pass of the base (`Checkpoint::open`, not a batch).
            for (t, c) in ck.iter().enumerate() {
                let mut src = c.open().unwrap();
                let plan = c.plan(&c.config().unwrap(), src.tensors(), None, true).unwrap();
                let alone = summarize_source(src.as_mut(), &plan, summary, false, 1 << 12, None).unwrap();
                assert_eq!(alone.full_row_major(), one_batch.column(t), "{run} {summary:?}: step {}", c.step());
            }
        }
    }
}

fn run_with_budget(
    checkpoints: &[Box<dyn Checkpoint>],
    dir: &Path,
    summary: Summary,
    budget: u64,
) -> (CccTensor, CccTensor) {
    let full = dir.join("x.full.safetensors");
    let compact = dir.join("x.compact.safetensors");
    let mut opts = RunOptions::new(
        vec![Output { mode: Mode::Full, path: full.clone() }, Output { mode: Mode::Compact, path: compact.clone() }],
        "test",
    );
    opts.summary = summary;
    opts.memory_budget = budget;
    run(checkpoints, &opts, &NoProgress).unwrap();
    (file::read(&full).unwrap(), file::read(&compact).unwrap())
}

trait Mkdir {
    fn tap_mkdir(self) -> PathBuf;
}

impl Mkdir for PathBuf {
    fn tap_mkdir(self) -> PathBuf {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

fn adapter_error(run: &str, base: &str, edit: impl Fn(&Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures().join("lora").join(run).join("checkpoint-10");
    let ck = dir.path().join("checkpoint-10");
    std::fs::create_dir(&ck).unwrap();
    for f in std::fs::read_dir(&src).unwrap().flatten() {
        std::fs::copy(f.path(), ck.join(f.file_name())).unwrap();
    }
    edit(&ck);
    let base = Base::open(&fixtures().join(base), None, ReadMethod::Map).unwrap();
    let opened = adapter::AdapterCheckpoint::open(&ck, None, Arc::clone(&base), AdapterMode::Delta);
    match opened {
        Err(e) => e.to_string(),
        Ok(c) => match c.open() {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{run} on {base:?} was accepted"),
        },
    }
}

#[test]
fn unsupported_peft_types_are_named() {
    for (t, dora) in [("IA3", false), ("LOHA", false), ("LORA", true)] {
        let e = adapter_error("tiny-llama-lora", "tiny-llama/step400", |ck| {
            let p = ck.join("adapter_config.json");
            let mut cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            cfg["peft_type"] = t.into();
            cfg["use_dora"] = dora.into();
            std::fs::write(&p, cfg.to_string()).unwrap();
        });
        // DoRA is read (its magnitude vectors with the factors): a `use_dora` adapter without them names the file.
        let (want, file) = if dora {
            ("without its magnitude vector".to_string(), "adapter_model.safetensors")
        } else {
            (format!("peft_type `{t}` is not supported"), "adapter_config.json")
        };
        assert!(e.contains(&want) && e.contains(file), "{e}");
    }
}

#[test]
fn adapter_of_another_model_is_an_error() {
    // A GPT-2 adapter on a Llama base: its targets are not in the base.
    let e = adapter_error("tiny-gpt2-lora", "tiny-llama/step400", |_| {});
    assert!(e.contains("adapts `transformer.h.0.attn.c_attn`") && e.contains("no weight"), "{e}");
    // A Llama adapter on OLMo (same names, 4 key/value heads instead of 2): the shapes do not fit.
    let e = adapter_error("tiny-llama-lora", "tiny-olmo/step400", |_| {});
    assert!(e.contains("v_proj") && e.contains("do not fit"), "{e}");
    // A rank that contradicts the config.
    let e = adapter_error("tiny-llama-lora", "tiny-llama/step400", |ck| {
        let p = ck.join("adapter_config.json");
        let text = std::fs::read_to_string(&p).unwrap().replace("\"down_proj\": 2", "\"down_proj\": 3");
        std::fs::write(&p, text).unwrap();
    });
    assert!(e.contains("rank 2") && e.contains("says 3"), "{e}");
}
