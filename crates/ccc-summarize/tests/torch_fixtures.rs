//! The committed `torch.save` checkpoints (`tests/data/fixtures/tiny-neox/variants/step{0,2000}-bin`) stream
//! exactly the bytes of the safetensors files holding the same weights (`step0`, `step2000`), read independently
//! with the `safetensors` crate.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ccc_summarize::local::WeightFiles;
use ccc_summarize::{DType, SummarizeError, TensorInfo, TensorSink};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fixtures/tiny-neox").join(rel)
}

/// Collects every tensor's rows, checking the sink contract (rows in order, each once, whole rows).
#[derive(Default)]
struct Collect {
    got: BTreeMap<String, (TensorInfo, Vec<u8>)>,
    max_chunk: usize,
}

impl TensorSink for Collect {
    fn wants(&self, _info: &TensorInfo) -> bool {
        true
    }

    fn rows(&mut self, info: &TensorInfo, first_row: usize, bytes: &[u8]) -> Result<(), SummarizeError> {
        let row_bytes = info.row_len() * info.dtype.size();
        assert_eq!(bytes.len() % row_bytes, 0, "{}: partial row", info.name);
        let entry = self.got.entry(info.name.clone()).or_insert_with(|| (info.clone(), Vec::new()));
        assert_eq!(entry.1.len(), first_row * row_bytes, "{}: rows out of order", info.name);
        entry.1.extend_from_slice(bytes);
        self.max_chunk = self.max_chunk.max(bytes.len());
        Ok(())
    }
}

fn st_dtype(d: safetensors::Dtype) -> DType {
    match d {
        safetensors::Dtype::F32 => DType::F32,
        safetensors::Dtype::F16 => DType::F16,
        safetensors::Dtype::BF16 => DType::BF16,
        safetensors::Dtype::F64 => DType::F64,
        other => panic!("unexpected dtype {other:?}"),
    }
}

fn compare(step: &str, chunk: usize) {
    let bin = fixture(&format!("variants/{step}-bin/pytorch_model.bin"));
    let mut source = WeightFiles::Torch(bin).open().unwrap();
    let st_bytes = std::fs::read(fixture(&format!("{step}/model.safetensors"))).unwrap();
    let st = safetensors::SafeTensors::deserialize(&st_bytes).unwrap();

    let listed: BTreeMap<String, TensorInfo> = source.tensors().iter().map(|t| (t.name.clone(), t.clone())).collect();
    assert_eq!(listed.len(), st.len(), "tensor count");
    let mut sink = Collect::default();
    source.stream(&mut sink, chunk).unwrap();
    assert_eq!(sink.got.len(), st.len());
    let mut total = 0u64;
    for (name, view) in st.tensors() {
        let (info, bytes) = sink.got.get(&name).unwrap_or_else(|| panic!("{name} not streamed"));
        assert_eq!(info, &listed[&name]);
        assert_eq!(info.dtype, st_dtype(view.dtype()), "{name}");
        assert_eq!(info.shape, view.shape(), "{name}");
        assert!(bytes.as_slice() == view.data(), "{name}: bytes differ from the safetensors file");
        total += bytes.len() as u64;
    }
    assert_eq!(source.total_bytes(), total);
    // Chunks are whole rows of at most `chunk` bytes, unless a single row is larger.
    let max_row = listed.values().map(|t| t.row_len() * t.dtype.size()).max().unwrap();
    assert!(sink.max_chunk <= chunk.max(max_row), "chunk of {} bytes for a limit of {chunk}", sink.max_chunk);
}

#[test]
fn step0_bin_equals_step0_safetensors() {
    compare("step0", 1 << 20);
}

#[test]
fn step2000_bin_equals_step2000_safetensors() {
    compare("step2000", 1 << 20);
}

#[test]
fn small_chunks_give_the_same_bytes() {
    compare("step2000", 100);
    compare("step2000", 1000);
}

#[test]
fn tensors_are_listed_in_file_order() {
    let source = WeightFiles::Torch(fixture("variants/step0-bin/pytorch_model.bin")).open().unwrap();
    let names: Vec<&str> = source.tensors().iter().map(|t| t.name.as_str()).collect();
    // torch.save writes storages in the order the pickle first meets them, numbered 0, 1, 2, … — the dict order.
    assert_eq!(names.first(), Some(&"embed_out.weight"));
    assert_eq!(names.get(1), Some(&"gpt_neox.embed_in.weight"));
}
