//! Checkpoints built in the test whose values identify their components (the per-head layouts checked by
//! construction), sharded and streamed sources, resuming, duplicates, sharding a run.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use ccc_core::file::{self, CccFile};
use ccc_core::progress::RecordingProgress;
use ccc_core::{CccMeta, CccTensor, Component, Mode, NoProgress, StepSelection, Summary};
use ccc_summarize::{
    local, run, summarize_source, Checkpoint, Mapping, Output, Plan, RunOptions, SafetensorsFile, SafetensorsStream,
    WeightSource,
};
use common::*;
use safetensors::tensor::TensorView;
use safetensors::Dtype;

/// Write `config` and the f32 tensors `(name, shape, values)` as a checkpoint directory.
fn write_ckpt(dir: &Path, config: serde_json::Value, tensors: &[(String, Vec<usize>, Vec<f32>)]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(&config).unwrap()).unwrap();
    write_st(&dir.join("model.safetensors"), tensors);
}

fn write_st(path: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)]) {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| (n.clone(), s.clone(), v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, TensorView)> =
        bytes.iter().map(|(n, s, b)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), b).unwrap())).collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

/// A matrix whose row `o` is all `f(o)` (rows are outputs of a Linear weight).
fn by_row(rows: usize, cols: usize, f: impl Fn(usize) -> f32) -> Vec<f32> {
    (0..rows).flat_map(|o| std::iter::repeat_n(f(o), cols)).collect()
}

/// A matrix whose column `i` is all `f(i)`.
fn by_col(rows: usize, cols: usize, f: impl Fn(usize) -> f32) -> Vec<f32> {
    (0..rows).flat_map(|_| (0..cols).map(&f)).collect()
}

fn full_of(dir: &Path) -> CccTensor {
    let out = tempfile::tempdir().unwrap();
    summarize_dir(dir, "all", out.path()).0
}

fn value(t: &CccTensor, name: &str, c: usize) -> f32 {
    let k = t.meta.components.iter().position(|x| x.name() == name).unwrap_or_else(|| panic!("no {name}"));
    t.get(c, 0, k)
}

#[test]
fn gpt_neox_heads_by_construction() {
    let (c, h_n, l_n, f, v) = (12, 3, 2, 20, 7);
    let r = c / h_n;
    let d = tempfile::tempdir().unwrap();
    let ck = d.path().join("step5");
    let cfg = serde_json::json!({"model_type": "gpt_neox", "hidden_size": c, "num_attention_heads": h_n,
        "num_hidden_layers": l_n, "intermediate_size": f, "vocab_size": v, "tie_word_embeddings": false});
    let mut t = vec![
        ("gpt_neox.embed_in.weight".to_string(), vec![v, c], by_col(v, c, |i| i as f32)),
        ("lm_head.weight".to_string(), vec![v, c], by_col(v, c, |i| 2.0 * i as f32)),
    ];
    for l in 0..l_n {
        let p = format!("gpt_neox.layers.{l}.");
        // Row 3rh + part·r + j holds 100·l + 10·h + part + 1: (layer, head, q/k/v) readable from the value.
        let qkv = by_row(3 * c, c, |o| (100 * l + 10 * (o / (3 * r)) + (o % (3 * r)) / r + 1) as f32);
        t.push((format!("{p}attention.query_key_value.weight"), vec![3 * c, c], qkv));
        t.push((
            format!("{p}attention.dense.weight"),
            vec![c, c],
            by_col(c, c, |i| (100 * l + 10 * (i / r) + 5) as f32),
        ));
        t.push((format!("{p}mlp.dense_h_to_4h.weight"), vec![f, c], by_row(f, c, |_| 3.0)));
        t.push((format!("{p}mlp.dense_4h_to_h.weight"), vec![c, f], by_row(c, f, |_| 4.0)));
        t.push((format!("{p}attention.bias"), vec![1, 1], vec![0.0]));
        t.push((format!("{p}input_layernorm.weight"), vec![c], (0..c).map(|i| i as f32).collect()));
        t.push((format!("{p}post_attention_layernorm.weight"), vec![c], vec![1.0; c]));
    }
    write_ckpt(&ck, cfg, &t);
    let full = full_of(&ck);
    for l in 0..l_n {
        for h in 0..h_n {
            for (part, k) in ["Q", "K", "V"].iter().enumerate() {
                let want = ((100 * l + 10 * h + part + 1) as f32).powi(2);
                for co in 0..c {
                    assert_eq!(value(&full, &format!("L{l}.H{h}.{k}"), co), want, "L{l}.H{h}.{k}");
                }
            }
            assert_eq!(value(&full, &format!("L{l}.H{h}.O"), 0), ((100 * l + 10 * h + 5) as f32).powi(2));
        }
        // Gains 0..12: median 5.5, so coordinate i gives (i - 5.5)².
        for co in 0..c {
            assert_eq!(value(&full, &format!("L{l}.ln_1"), co), (co as f32 - 5.5).powi(2));
            assert_eq!(value(&full, &format!("L{l}.ln_2"), co), 0.0);
        }
    }
    // emb_in column c holds c: mean of squares over the vocabulary is c²; `lm_head` is accepted as emb_out.
    assert_eq!(value(&full, "emb_in", 3), 9.0);
    assert_eq!(value(&full, "emb_out", 3), 36.0);
}

fn hf_olmo_ckpt(dir: &Path, kv: usize, affine: bool, tying: bool) {
    let (c, h_n, l_n, f, v) = (8, 4, 2, 6, 5);
    let r = c / h_n;
    let cfg = serde_json::json!({"model_type": "hf_olmo", "d_model": c, "n_heads": h_n, "n_kv_heads": kv,
        "n_layers": l_n, "vocab_size": v, "embedding_size": v, "weight_tying": tying,
        "layer_norm_with_affine": affine});
    let mut t = vec![("model.transformer.wte.weight".to_string(), vec![v, c], by_col(v, c, |i| i as f32 + 1.0))];
    if !tying {
        t.push(("model.transformer.ff_out.weight".to_string(), vec![v, c], by_col(v, c, |_| 7.0)));
    }
    let rows = (h_n + 2 * kv) * r;
    for l in 0..l_n {
        let p = format!("model.transformer.blocks.{l}.");
        // Contiguous: Q rows [0, H·r) valued 10+h, K rows valued 20+h, V rows valued 30+h.
        let att = by_row(rows, c, |o| {
            if o < h_n * r {
                (10 + o / r) as f32
            } else if o < (h_n + kv) * r {
                (20 + (o - h_n * r) / r) as f32
            } else {
                (30 + (o - (h_n + kv) * r) / r) as f32
            }
        });
        t.push((format!("{p}att_proj.weight"), vec![rows, c], att));
        t.push((format!("{p}attn_out.weight"), vec![c, c], by_col(c, c, |i| (40 + i / r) as f32)));
        // Fused [up; gate]: 2F rows counted whole.
        t.push((format!("{p}ff_proj.weight"), vec![2 * f, c], by_row(2 * f, c, |o| if o < f { 1.0 } else { 3.0 })));
        t.push((format!("{p}ff_out.weight"), vec![c, f], by_row(c, f, |_| 2.0)));
        if affine {
            t.push((format!("{p}attn_norm.weight"), vec![c], (0..c).map(|i| i as f32).collect()));
            t.push((format!("{p}ff_norm.weight"), vec![c], vec![1.0; c]));
        }
    }
    write_ckpt(dir, cfg, &t);
}

#[test]
fn hf_olmo_original_format() {
    let d = tempfile::tempdir().unwrap();
    let ck = d.path().join("step1000-tokens4B");
    hf_olmo_ckpt(&ck, 2, true, false);
    let full = full_of(&ck);
    assert_eq!(full.meta.architecture, "hf_olmo");
    assert_eq!(full.steps, vec![1000]);
    assert_eq!(full.meta.n_kv_head, 2);
    for l in 0..2 {
        for h in 0..4 {
            assert_eq!(value(&full, &format!("L{l}.H{h}.Q"), 0), ((10 + h) as f32).powi(2));
            assert_eq!(value(&full, &format!("L{l}.H{h}.O"), 0), ((40 + h) as f32).powi(2));
        }
        for h in 0..2 {
            assert_eq!(value(&full, &format!("L{l}.H{h}.K"), 1), ((20 + h) as f32).powi(2));
            assert_eq!(value(&full, &format!("L{l}.H{h}.V"), 1), ((30 + h) as f32).powi(2));
        }
        assert_eq!(value(&full, &format!("L{l}.mlp_in"), 2), (1.0 + 9.0) / 2.0);
        assert_eq!(value(&full, &format!("L{l}.mlp_out"), 2), 4.0);
        assert_eq!(value(&full, &format!("L{l}.ln_1"), 0), 3.5f32.powi(2));
    }
    assert_eq!(value(&full, "emb_out", 0), 49.0);
    let k = full.meta.components.iter().position(|c| c.name() == "L0.mlp_in").unwrap();
    assert_eq!(full.lengths[k], 12);
    assert!(!full.meta.components.iter().any(|c| c.name() == "L0.H2.K"), "GQA: only 2 kv heads");

    // OLMo-1B style: tied, norms without gains.
    let ck2 = d.path().join("step2000");
    hf_olmo_ckpt(&ck2, 4, false, true);
    let full2 = full_of(&ck2);
    let names: Vec<String> = full2.meta.components.iter().map(|c| c.name()).collect();
    assert!(!names.iter().any(|n| n == "emb_out" || n.contains("ln_")), "{names:?}");
    assert!(names.iter().any(|n| n == "L1.H3.K"));
}

#[test]
fn custom_mapping_file() {
    // A GPT-NeoX checkpoint described by a user mapping (renamed architecture, no norms rule).
    let text = ccc_summarize::arch::BUILTIN[0].1.replace("name = \"gpt_neox\"", "name = \"my_neox\"");
    let cut = text.find("[[tensors]]\npattern = \"gpt_neox.layers.{layer}.input_layernorm.weight\"").unwrap();
    let mapping = Mapping::parse(&text[..cut], Path::new("my.toml")).unwrap();
    let ck = fixtures().join("tiny-neox/step2000");
    let found = local::discover(&[ck], &StepSelection::all()).unwrap();
    let cks = boxed(found.checkpoints);
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("m.safetensors");
    let mut opts = RunOptions::new(vec![Output { mode: Mode::Full, path: out.clone() }], "m");
    opts.mapping = Some(mapping);
    run(&cks, &opts, &NoProgress).unwrap();
    let t = file::read(&out).unwrap();
    assert_eq!(t.meta.architecture, "my_neox");
    assert!(!t.meta.components.iter().any(|c| c.kind.is_norm()));
}

/// A reader that returns at most a few bytes per call, as a network stream may.
struct Trickle<'a>(&'a [u8], usize);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.1 = (self.1 * 7 + 3) % 1000 + 1;
        let n = buf.len().min(self.0.len()).min(self.1);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn stream_and_sharded_sources_match_the_file() {
    let st = fixtures().join("tiny-neox/step2000/model.safetensors");
    let ck = local::LocalCheckpoint::open(&fixtures().join("tiny-neox/step2000"), None).unwrap();
    let config = ck.config().unwrap();
    let mut file_src = SafetensorsFile::open(&st).unwrap();
    let plan = Plan::for_checkpoint(&config, file_src.tensors(), None, true).unwrap();
    let want = summarize_source(&mut file_src, &plan, Summary::MeanSq, false, 1000, None).unwrap();

    let bytes = std::fs::read(&st).unwrap();
    // Buffered reads of a few bytes at a time: most rows are split between two buffers.
    let trickle = std::io::BufReader::with_capacity(4096, Trickle(&bytes, 0));
    let mut stream = SafetensorsStream::new(trickle, "trickle").unwrap();
    let got = summarize_source(&mut stream, &plan, Summary::MeanSq, false, 3000, None).unwrap();
    assert_eq!(got, want);

    // Two shards and an index, as transformers writes them.
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("step2000");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixtures().join("tiny-neox/step2000/config.json"), dir.join("config.json")).unwrap();
    let raw = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = raw.names().into_iter().map(str::to_string).collect();
    names.sort();
    let mut weight_map = BTreeMap::new();
    for (i, part) in names.chunks(names.len().div_ceil(2)).enumerate() {
        let file = format!("model-0000{}-of-00002.safetensors", i + 1);
        let views: Vec<(String, TensorView)> = part.iter().map(|n| (n.clone(), raw.tensor(n).unwrap())).collect();
        safetensors::serialize_to_file(views, None, &dir.join(&file)).unwrap();
        for n in part {
            weight_map.insert(n.clone(), file.clone());
        }
    }
    let index = serde_json::json!({"metadata": {}, "weight_map": weight_map});
    std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();
    let sharded = local::LocalCheckpoint::open(&dir, None).unwrap();
    let mut src = sharded.open().unwrap();
    assert_eq!(src.total_bytes(), file_src.total_bytes());
    let got = summarize_source(src.as_mut(), &plan, Summary::MeanSq, false, 1 << 20, None).unwrap();
    assert_eq!(got, want);
}

#[test]
fn chunk_size_and_summaries() {
    // Other summaries against a direct computation on one component; results do not depend on the chunk size.
    let ck = local::LocalCheckpoint::open(&fixtures().join("tiny-llama/step400"), None).unwrap();
    let config = ck.config().unwrap();
    let raw = safetensors::SafeTensors::deserialize(
        &std::fs::read(fixtures().join("tiny-llama/step400/model.safetensors")).unwrap(),
    )
    .unwrap()
    .tensor("model.layers.1.mlp.down_proj.weight")
    .unwrap()
    .data()
    .to_vec();
    let w: Vec<f32> = raw.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    let (c_n, f) = (64, 176);
    for summary in Summary::ALL {
        let mut a = ck.open().unwrap();
        let plan = Plan::for_checkpoint(&config, a.tensors(), None, true).unwrap();
        let x = summarize_source(a.as_mut(), &plan, summary, false, 1, None).unwrap();
        let mut b = ck.open().unwrap();
        let y = summarize_source(b.as_mut(), &plan, summary, false, 1 << 30, None).unwrap();
        assert_eq!(x, y, "{summary}");
        let k = plan.components(Mode::Full).iter().position(|c| c.name() == "L1.mlp_out").unwrap();
        let full = x.full_row_major();
        for c in 0..c_n {
            let row = &w[c * f..(c + 1) * f];
            let sq: f64 = row.iter().map(|&v| (v as f64).powi(2)).sum();
            let want = match summary {
                Summary::MeanSq => sq / f as f64,
                Summary::L2Sq => sq,
                Summary::L2 => sq.sqrt(),
                Summary::L1 => row.iter().map(|&v| (v as f64).abs()).sum(),
                Summary::MaxAbs => row.iter().map(|&v| v.abs() as f64).fold(0.0, f64::max),
            };
            let got = full[c * plan.components(Mode::Full).len() + k] as f64;
            assert!((got - want).abs() <= 1e-6 * want, "{summary} c={c}: {got} vs {want}");
        }
    }
}

fn neox_checkpoints(steps: &str) -> Vec<Box<dyn Checkpoint>> {
    boxed(local::discover(&[fixtures().join("tiny-neox")], &steps.parse().unwrap()).unwrap().checkpoints)
}

#[test]
fn resume_fills_only_missing_steps() {
    let d = tempfile::tempdir().unwrap();
    let reference = file::read(&fixtures().join("tiny-neox-full.ccc.safetensors")).unwrap();
    let out = d.path().join("r.safetensors");
    // An interrupted run: the file exists with every step, two columns filled — with sentinel values, so that a
    // recomputation would show.
    let meta = CccMeta { model: "tiny-neox".into(), ..reference.meta.clone() };
    let mut t = CccTensor::empty(meta, 64, reference.steps.clone(), reference.lengths.clone()).unwrap();
    t.filled.iter_mut().for_each(|f| *f = false);
    let mut f = CccFile::create(&out, &t).unwrap();
    let sentinel = vec![42.0f32; 64 * reference.n_comp()];
    f.write_column(0, &sentinel).unwrap();
    f.write_column(5, &sentinel).unwrap();
    drop(f);
    let opts = RunOptions::new(vec![Output { mode: Mode::Full, path: out.clone() }], "tiny-neox");
    let report = run(&neox_checkpoints("all"), &opts, &NoProgress).unwrap();
    assert_eq!(report.already, vec![0, 16]);
    assert_eq!(report.computed.len(), 12);
    let got = file::read(&out).unwrap();
    assert!(got.filled.iter().all(|&f| f));
    for t in 0..got.n_ckpt() {
        if t == 0 || t == 5 {
            assert_eq!(got.column(t), sentinel, "filled column {t} was recomputed");
        } else {
            assert!(max_rel_err(&got.column(t), &reference.column(t)) <= 1e-5);
        }
    }
    // Nothing left to do: nothing is opened.
    let again = run(&neox_checkpoints("all"), &opts, &NoProgress).unwrap();
    assert!(again.computed.is_empty() && again.already.len() == 14);
}

/// A run that fails on its last checkpoint keeps every column finished before, filled, whatever the number of
/// jobs; a second run without the bad checkpoint only computes what is missing.
#[test]
fn columns_finished_before_an_error_are_kept() {
    for jobs in [1, 2] {
        let d = tempfile::tempdir().unwrap();
        let run_dir = d.path().join("run");
        for step in ["step0", "step1", "step2", "step4"] {
            let to = run_dir.join(step);
            std::fs::create_dir_all(&to).unwrap();
            for f in ["config.json", "model.safetensors"] {
                std::fs::copy(fixtures().join("tiny-neox").join(step).join(f), to.join(f)).unwrap();
            }
        }
        let bad = run_dir.join("step4/model.safetensors");
        let len = std::fs::metadata(&bad).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&bad).unwrap().set_len(len / 2).unwrap();
        let out = d.path().join("k.safetensors");
        let mut opts = RunOptions::new(vec![Output { mode: Mode::Full, path: out.clone() }], "tiny-neox");
        opts.jobs = std::num::NonZeroUsize::new(jobs);
        let found = local::discover(std::slice::from_ref(&run_dir), &StepSelection::all()).unwrap();
        let err = run(&boxed(found.checkpoints), &opts, &NoProgress).unwrap_err().to_string();
        assert!(err.contains("step4") && err.contains("truncated"), "{err}");
        let h = file::read_header(&out).unwrap();
        assert_eq!(h.steps, [0, 1, 2, 4]);
        assert_eq!(h.filled, [true, true, true, false], "jobs {jobs}");
        let found = local::discover(&[run_dir], &"..2".parse().unwrap()).unwrap();
        let again = run(&boxed(found.checkpoints), &opts, &NoProgress).unwrap();
        assert!(again.computed.is_empty() && again.already == [0, 1, 2], "jobs {jobs}: {again:?}");
    }
}

#[test]
fn incremental_adds_new_steps() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("i.safetensors");
    let opts = RunOptions::new(vec![Output { mode: Mode::Full, path: out.clone() }], "tiny-neox");
    run(&neox_checkpoints("0,4,16"), &opts, &NoProgress).unwrap();
    assert_eq!(file::read_header(&out).unwrap().steps, vec![0, 4, 16]);
    let report = run(&neox_checkpoints("..64"), &opts, &NoProgress).unwrap();
    assert_eq!(report.already, vec![0, 4, 16]);
    assert_eq!(report.computed, vec![1, 2, 8, 32, 64]);
    let got = file::read(&out).unwrap();
    let fresh_dir = tempfile::tempdir().unwrap();
    let (fresh, _) = summarize_dir(&fixtures().join("tiny-neox"), "..64", fresh_dir.path());
    assert_eq!(got.steps, fresh.steps);
    assert_eq!(got.mags, fresh.mags);
    // A file of another model cannot be extended.
    let found = local::discover(&[fixtures().join("tiny-llama")], &StepSelection::all()).unwrap();
    let err = run(&boxed(found.checkpoints), &opts, &NoProgress).unwrap_err().to_string();
    assert!(err.contains("cannot add these checkpoints"), "{err}");
}

#[test]
fn duplicates_are_reported_and_recorded() {
    let d = tempfile::tempdir().unwrap();
    let run_dir = d.path().join("run");
    for (name, from) in [("step0", "step0"), ("step10", "step2000"), ("step20", "step2000"), ("step30", "step0")] {
        let to = run_dir.join(name);
        std::fs::create_dir_all(&to).unwrap();
        for f in ["config.json", "model.safetensors"] {
            std::fs::copy(fixtures().join("tiny-neox").join(from).join(f), to.join(f)).unwrap();
        }
    }
    std::fs::create_dir_all(run_dir.join("tokenizer")).unwrap();
    let found = local::discover(&[run_dir], &StepSelection::all()).unwrap();
    assert_eq!(found.skipped.len(), 1);
    let out = d.path().join("d.safetensors");
    let opts = RunOptions::new(vec![Output { mode: Mode::Compact, path: out.clone() }], "dup");
    let progress = RecordingProgress::default();
    let report = run(&boxed(found.checkpoints), &opts, &progress).unwrap();
    let dups: Vec<(i64, i64)> = report.duplicates.iter().map(|d| (d.step, d.same_as)).collect();
    assert_eq!(dups, vec![(20, 10), (30, 0)]);
    let warnings = progress.warnings.lock().unwrap();
    assert!(warnings.iter().any(|w| w.contains("step 20") && w.contains("step 10")), "{warnings:?}");
    let meta = file::read_header(&out).unwrap().meta;
    assert_eq!(meta.duplicates, report.duplicates);
}

/// A step added by a later run is compared with the columns already in the file, in either mode (the new column's
/// hash is taken from the values in memory, the old ones' from the file).
#[test]
fn duplicates_of_steps_from_an_earlier_run_are_found() {
    let d = tempfile::tempdir().unwrap();
    let run_dir = d.path().join("run");
    let copy = |name: &str, from: &str| {
        let to = run_dir.join(name);
        std::fs::create_dir_all(&to).unwrap();
        for f in ["config.json", "model.safetensors"] {
            std::fs::copy(fixtures().join("tiny-neox").join(from).join(f), to.join(f)).unwrap();
        }
    };
    copy("step0", "step0");
    copy("step10", "step2000");
    let first: Vec<Box<dyn Checkpoint>> =
        boxed(local::discover(std::slice::from_ref(&run_dir), &StepSelection::all()).unwrap().checkpoints);
    copy("step20", "step2000");
    let second: Vec<Box<dyn Checkpoint>> =
        boxed(local::discover(std::slice::from_ref(&run_dir), &StepSelection::all()).unwrap().checkpoints);
    for mode in [Mode::Full, Mode::Compact] {
        let out = d.path().join(format!("{mode}.safetensors"));
        let opts = RunOptions::new(vec![Output { mode, path: out.clone() }], "dup");
        assert!(run(&first, &opts, &NoProgress).unwrap().duplicates.is_empty());
        let report = run(&second, &opts, &NoProgress).unwrap();
        assert_eq!(report.computed, vec![20], "{mode}");
        let dups: Vec<(i64, i64)> = report.duplicates.iter().map(|d| (d.step, d.same_as)).collect();
        assert_eq!(dups, vec![(20, 10)], "{mode}");
        assert_eq!(file::read_header(&out).unwrap().meta.duplicates, report.duplicates);
    }
}

#[test]
fn duplicate_steps_are_an_error() {
    let a = fixtures().join("tiny-neox/step0");
    let err = local::discover(&[a.clone(), a], &StepSelection::all()).unwrap_err().to_string();
    assert!(err.contains("two checkpoints have step 0"), "{err}");
}

#[test]
fn shards_cover_the_run() {
    let d = tempfile::tempdir().unwrap();
    let mut parts = Vec::new();
    for i in 1..=3 {
        let cks = ccc_summarize::shard(neox_checkpoints("all"), |c| c.size_hint(), format!("{i}/3").parse().unwrap());
        let out = d.path().join(format!("s{i}.safetensors"));
        let opts = RunOptions::new(vec![Output { mode: Mode::Full, path: out.clone() }], "tiny-neox");
        run(&cks, &opts, &NoProgress).unwrap();
        parts.push(file::read(&out).unwrap());
    }
    let names: Vec<String> = (1..=3).map(|i| format!("s{i}")).collect();
    let merged = ccc_core::merge(&parts, &names).unwrap();
    let reference = file::read(&fixtures().join("tiny-neox-full.ccc.safetensors")).unwrap();
    assert_eq!(merged.steps, reference.steps);
    assert!(merged.filled.iter().all(|&f| f));
    assert!(max_rel_err(&merged.mags, &reference.mags) <= 1e-5);
    let sizes: Vec<usize> = parts.iter().map(|p| p.n_ckpt()).collect();
    assert!(sizes.iter().all(|&n| n == 4 || n == 5), "{sizes:?}");
    let _ = Component::kind_only(ccc_core::ComponentKind::EmbIn);
}
