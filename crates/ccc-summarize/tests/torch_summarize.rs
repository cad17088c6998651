//! `.bin` checkpoints through the whole summarizer: a series of sharded `pytorch_model-0000k-of-00002.bin` files
//! with a `pytorch_model.bin.index.json`, built in the test from the tiny-neox safetensors weights — half of the
//! matrices saved as transposed views (storage = Wᵀ, stride (1, rows)), the vectors of each shard packed into one
//! shared storage at offsets, one shard in protocol 2 as an OrderedDict and one in protocol 4 — must give the
//! same CCC tensors, bit for bit, as the safetensors files, and the same duplicate report.

use std::path::{Path, PathBuf};

use ccc_core::{file, CccTensor, Mode, NoProgress, StepSelection};
use ccc_summarize::{local, run, Checkpoint, Output, RunOptions, RunReport};
use ccc_torch_testkit::*;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fixtures/tiny-neox")
}

fn class_of(d: safetensors::Dtype) -> &'static str {
    match d {
        safetensors::Dtype::F32 => "FloatStorage",
        safetensors::Dtype::F16 => "HalfStorage",
        safetensors::Dtype::BF16 => "BFloat16Storage",
        safetensors::Dtype::F64 => "DoubleStorage",
        safetensors::Dtype::I64 => "LongStorage",
        safetensors::Dtype::BOOL => "BoolStorage",
        safetensors::Dtype::U8 => "ByteStorage",
        other => panic!("unexpected dtype {other:?}"),
    }
}

/// Write `safetensors_file`'s tensors as a 2-shard `.bin` checkpoint in `dir` (with config.json from `config`).
fn write_sharded_bin(safetensors_file: &Path, config: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(config, dir.join("config.json")).unwrap();
    let bytes = std::fs::read(safetensors_file).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(str::to_owned).collect();
    names.sort();
    let shard_name = |k: usize| format!("pytorch_model-{:05}-of-00002.bin", k + 1);
    let mut weight_map = serde_json::Map::new();
    for k in 0..2 {
        let mut specs = Vec::new();
        let mut storages: Vec<(String, Vec<u8>)> = Vec::new();
        let mut shared: Vec<u8> = Vec::new();
        for (i, name) in names.iter().enumerate().filter(|(i, _)| i % 2 == k) {
            weight_map.insert(name.clone(), shard_name(k).into());
            let v = st.tensor(name).unwrap();
            let class = class_of(v.dtype());
            let elem = v.dtype().bitsize() / 8;
            let shape: Vec<u64> = v.shape().iter().map(|&d| d as u64).collect();
            let mut spec = TensorSpec::contiguous(name, "", class, &shape);
            if shape.len() == 1 && class == "FloatStorage" {
                // Vectors: one shared storage, each at its own offset.
                spec.key = "shared".into();
                spec.offset = (shared.len() / elem) as u64;
                shared.extend_from_slice(v.data());
            } else if shape.len() == 2 && i % 4 < 2 {
                // Matrices: every other one saved as the transpose of a contiguous Wᵀ.
                let (r, c) = (shape[0] as usize, shape[1] as usize);
                let mut t = vec![0u8; v.data().len()];
                for row in 0..r {
                    for col in 0..c {
                        let src = (row * c + col) * elem;
                        let dst = (col * r + row) * elem;
                        t[dst..dst + elem].copy_from_slice(&v.data()[src..src + elem]);
                    }
                }
                spec.key = storages.len().to_string();
                spec.stride = vec![1, r as u64];
                storages.push((spec.key.clone(), t));
            } else {
                spec.key = storages.len().to_string();
                storages.push((spec.key.clone(), v.data().to_vec()));
            }
            specs.push(spec);
        }
        for s in specs.iter_mut().filter(|s| s.key == "shared") {
            s.storage_numel = (shared.len() / 4) as u64;
        }
        storages.push(("shared".into(), shared));
        let (proto, container) = if k == 0 { (2, Container::OrderedDict) } else { (4, Container::Dict) };
        let pickle = state_dict_pickle(proto, &specs, &container);
        let refs: Vec<(&str, Vec<u8>)> = storages.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let stem = shard_name(k).trim_end_matches(".bin").to_string();
        std::fs::write(dir.join(shard_name(k)), torch_zip(&stem, &pickle, &refs)).unwrap();
    }
    let index = serde_json::json!({ "metadata": { "total_size": bytes.len() }, "weight_map": weight_map });
    std::fs::write(dir.join("pytorch_model.bin.index.json"), serde_json::to_vec_pretty(&index).unwrap()).unwrap();
}

fn summarize(input: &Path, out: &Path) -> (CccTensor, CccTensor, RunReport) {
    let found = local::discover(&[input.to_path_buf()], &"all".parse::<StepSelection>().unwrap()).unwrap();
    let cks: Vec<Box<dyn Checkpoint>> =
        found.checkpoints.into_iter().map(|c| Box::new(c) as Box<dyn Checkpoint>).collect();
    std::fs::create_dir_all(out).unwrap();
    let full = out.join("x.full.safetensors");
    let compact = out.join("x.compact.safetensors");
    let opts = RunOptions::new(
        vec![Output { mode: Mode::Full, path: full.clone() }, Output { mode: Mode::Compact, path: compact.clone() }],
        "test",
    );
    let report = run(&cks, &opts, &NoProgress).unwrap();
    (file::read(&full).unwrap(), file::read(&compact).unwrap(), report)
}

#[test]
fn sharded_strided_bin_series_summarizes_like_safetensors() {
    let d = tempfile::tempdir().unwrap();
    let (st_dir, bin_dir) = (d.path().join("st"), d.path().join("bin"));
    // Steps 0 and 2000, and step 3: a duplicate of step 0 (a defect real checkpoint series have).
    for (step, source) in [(0, "step0"), (3, "step0"), (2000, "step2000")] {
        let src = fixtures().join(source);
        let st_step = st_dir.join(format!("step{step}"));
        std::fs::create_dir_all(&st_step).unwrap();
        for f in ["config.json", "model.safetensors"] {
            std::fs::copy(src.join(f), st_step.join(f)).unwrap();
        }
        write_sharded_bin(
            &src.join("model.safetensors"),
            &src.join("config.json"),
            &bin_dir.join(format!("step{step}")),
        );
    }
    let (st_full, st_compact, st_report) = summarize(&st_dir, &d.path().join("out-st"));
    let (bin_full, bin_compact, bin_report) = summarize(&bin_dir, &d.path().join("out-bin"));
    assert_eq!(bin_full.steps, vec![0, 3, 2000]);
    assert_eq!(bin_full.steps, st_full.steps);
    assert!(bin_full.filled.iter().all(|&f| f));
    assert!(bin_full.mags.iter().zip(&st_full.mags).all(|(a, b)| a.to_bits() == b.to_bits()), "full differs");
    assert!(bin_compact.mags.iter().zip(&st_compact.mags).all(|(a, b)| a.to_bits() == b.to_bits()), "compact differs");
    assert_eq!(bin_full.mags.len(), st_full.mags.len());
    // Duplicate detection works the same for .bin.
    let dup = |r: &RunReport| r.duplicates.iter().map(|d| (d.step, d.same_as)).collect::<Vec<_>>();
    assert_eq!(dup(&bin_report), vec![(3, 0)]);
    assert_eq!(dup(&bin_report), dup(&st_report));
    assert_eq!(bin_full.meta.duplicates, st_full.meta.duplicates);
}
