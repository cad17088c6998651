//! `.bin` checkpoints built in the test, byte by byte (see `ccc-torch-testkit` for the layout and how it mirrors
//! `torch.save`): strided views, shared storages, every float dtype, non-float buffers, nested state dicts,
//! protocols 2–5, parameters and tensor subclasses, zip64 and big-endian archives. Each tensor's streamed bytes are
//! checked against an independent element-by-element computation from the storage bytes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ccc_torch_testkit::*;

use crate::error::SummarizeError;
use crate::read_at::ReadMethod;
use crate::source::{TensorSink, WeightSource};
use crate::tensor::{DType, TensorInfo};
use crate::torch::pickle::storage_dtype;
use crate::torch::source::DEFAULT_GATHER_WINDOW;
use crate::torch::{open_source_with, TorchSource};

#[derive(Default)]
struct Collect {
    floats_only: bool,
    got: BTreeMap<String, (TensorInfo, Vec<u8>)>,
    ended: Vec<String>,
}

impl TensorSink for Collect {
    fn wants(&self, info: &TensorInfo) -> bool {
        !self.floats_only || info.dtype.is_float()
    }

    fn rows(&mut self, info: &TensorInfo, first_row: usize, bytes: &[u8]) -> Result<(), SummarizeError> {
        let row_bytes = info.row_len() * info.dtype.size();
        assert_eq!(bytes.len() % row_bytes, 0, "{}: partial row", info.name);
        let entry = self.got.entry(info.name.clone()).or_insert_with(|| (info.clone(), Vec::new()));
        assert_eq!(entry.1.len(), first_row * row_bytes, "{}: rows out of order", info.name);
        entry.1.extend_from_slice(bytes);
        Ok(())
    }

    fn end_tensor(&mut self, info: &TensorInfo) -> Result<(), SummarizeError> {
        self.ended.push(info.name.clone());
        Ok(())
    }
}

/// The bytes of the view, element by element: element `idx` is at `offset + Σ idx[d]·stride[d]` of the storage.
fn expected(storage: &[u8], elem: usize, t: &TensorSpec) -> Vec<u8> {
    let numel: u64 = t.size.iter().product();
    let mut out = Vec::new();
    for flat in 0..numel {
        let mut rem = flat;
        let mut at = t.offset;
        for d in (0..t.size.len()).rev() {
            at += (rem % t.size[d]) * t.stride[d];
            rem /= t.size[d];
        }
        let at = at as usize * elem;
        out.extend_from_slice(&storage[at..at + elem]);
    }
    out
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Write a checkpoint, stream it with several chunk sizes, and compare every tensor with [`expected`].
fn check(specs: &[TensorSpec], storages: &[(&str, Vec<u8>)], proto: u8, container: &Container) {
    let windows = [1usize, 12, 4096, DEFAULT_GATHER_WINDOW];
    check_with(specs, storages, proto, container, &[1, 7, 64, 4096, 1 << 20], &windows)
}

/// [`check`] for each chunk size × gather window.
fn check_with(
    specs: &[TensorSpec],
    storages: &[(&str, Vec<u8>)],
    proto: u8,
    container: &Container,
    chunks: &[usize],
    windows: &[usize],
) {
    let pickle = state_dict_pickle(proto, specs, container);
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "pytorch_model.bin", &torch_zip("pytorch_model", &pickle, storages));
    for (&chunk, &window) in chunks.iter().flat_map(|c| windows.iter().map(move |w| (c, w))) {
        let mut source = TorchSource::open_with(&path, ReadMethod::Map).unwrap().with_gather_window(window);
        assert_eq!(source.tensors().len(), specs.len());
        let mut sink = Collect::default();
        source.stream(&mut sink, chunk).unwrap();
        for t in specs {
            let (_, bytes) = storages.iter().find(|(k, _)| *k == t.key).unwrap();
            let elem = dtype_of(&t.class).size();
            assert!(sink.ended.contains(&t.name), "{}: end_tensor not called", t.name);
            let info = source.tensors().iter().find(|i| i.name == t.name).unwrap();
            let got = sink.got.get(&t.name).map(|(_, b)| b.clone()).unwrap_or_default();
            assert_eq!(info.dtype, dtype_of(&t.class), "{}", t.name);
            assert_eq!(info.shape, t.size.iter().map(|&d| d as usize).collect::<Vec<_>>(), "{}", t.name);
            assert!(got == expected(bytes, elem, t), "{}: wrong bytes with chunk {chunk}, window {window}", t.name);
        }
    }
}

fn dtype_of(class: &str) -> DType {
    storage_dtype(class).unwrap()
}

/// 0, 1, 2, … as f32.
fn iota(n: usize) -> Vec<u8> {
    f32_bytes(&(0..n).map(|i| i as f32).collect::<Vec<_>>())
}

fn view(name: &str, key: &str, numel: u64, offset: u64, size: &[u64], stride: &[u64]) -> TensorSpec {
    TensorSpec {
        name: name.into(),
        key: key.into(),
        class: "FloatStorage".into(),
        storage_numel: numel,
        offset,
        size: size.to_vec(),
        stride: stride.to_vec(),
        wrap: Wrap::Plain,
    }
}

#[test]
fn strided_views_and_shared_storages() {
    // One storage of 24 floats seen as: the whole (6, 4) matrix; its transpose; a narrowed block with an offset;
    // every other column; a 3-D permutation; a single element (0-d); an empty view.
    let specs = vec![
        view("full", "0", 24, 0, &[6, 4], &[4, 1]),
        view("transposed", "0", 24, 0, &[4, 6], &[1, 4]),
        view("block", "0", 24, 5, &[3, 2], &[4, 1]),
        view("every_other_column", "0", 24, 1, &[6, 2], &[4, 2]),
        view("permuted", "0", 24, 0, &[4, 2, 3], &[1, 12, 4]),
        view("scalar", "0", 24, 7, &[], &[]),
        view("row", "0", 24, 8, &[4], &[1]),
        view("column", "0", 24, 2, &[6], &[4]),
        view("empty", "0", 24, 0, &[0, 4], &[4, 1]),
        view("broadcast", "0", 24, 3, &[3, 4], &[0, 1]),
        // Dimensions of size 1 may carry any stride (torch keeps whatever the view had).
        view("unit_dims", "0", 24, 4, &[1, 4, 1], &[i64::MAX as u64, 1, 1 << 40]),
    ];
    check(&specs, &[("0", iota(24))], 2, &Container::Dict);
}

#[test]
fn transposed_matrix_larger_than_the_gather_window() {
    // 300 × 300 floats (360 KB) transposed: every chunk of rows touches the whole storage, read in windows.
    let specs =
        vec![view("t", "0", 90_000, 0, &[300, 300], &[1, 300]), view("w", "1", 90_000, 0, &[300, 300], &[300, 1])];
    let storages = [("0", iota(90_000)), ("1", iota(90_000))];
    check_with(&specs, &storages, 2, &Container::Dict, &[4096, 1 << 20], &[64 << 10, DEFAULT_GATHER_WINDOW]);
}

#[test]
fn every_float_dtype_and_non_float_buffers() {
    let mut specs = Vec::new();
    let mut storages = Vec::new();
    let classes = [
        ("DoubleStorage", 8),
        ("FloatStorage", 4),
        ("HalfStorage", 2),
        ("BFloat16Storage", 2),
        ("LongStorage", 8),
        ("IntStorage", 4),
        ("ShortStorage", 2),
        ("CharStorage", 1),
        ("ByteStorage", 1),
        ("BoolStorage", 1),
    ];
    for (i, (class, elem)) in classes.iter().enumerate() {
        let key = i.to_string();
        specs.push(TensorSpec::contiguous(&format!("t.{class}"), &key, class, &[3, 5]));
        // Arbitrary bit patterns (including NaN payloads): bytes must pass through untouched.
        storages.push((key, (0..15 * elem).map(|b| (b * 37 + i * 11) as u8).collect::<Vec<u8>>()));
    }
    let storages: Vec<(&str, Vec<u8>)> = storages.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    check(&specs, &storages, 2, &Container::Dict);

    // A sink that wants only float tensors never receives the others, but they are listed with their dtype.
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "m.bin", &torch_zip("m", &state_dict_pickle(2, &specs, &Container::Dict), &storages));
    let mut source = open_source_with(&path, ReadMethod::Map).unwrap();
    let listed: Vec<DType> = source.tensors().iter().map(|t| t.dtype).collect();
    assert_eq!(listed.len(), 10);
    assert!(listed.contains(&DType::I64) && listed.contains(&DType::Bool) && listed.contains(&DType::BF16));
    let mut sink = Collect { floats_only: true, ..Default::default() };
    source.stream(&mut sink, 1 << 16).unwrap();
    let got: Vec<DType> = sink.got.values().map(|(i, _)| i.dtype).collect();
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|d| d.is_float()));
    assert_eq!(sink.ended.len(), 4);
}

fn simple_specs() -> (Vec<TensorSpec>, Vec<(&'static str, Vec<u8>)>) {
    let specs = vec![
        TensorSpec::contiguous("layers.0.weight", "0", "FloatStorage", &[4, 3]),
        TensorSpec::contiguous("layers.0.bias", "1", "FloatStorage", &[4]),
        view("layers.0.weight_t", "0", 12, 0, &[3, 4], &[1, 3]),
    ];
    (specs, vec![("0", iota(12)), ("1", f32_bytes(&[-1.0, 0.5, 1e-30, f32::MAX]))])
}

#[test]
fn protocols_2_to_5() {
    // Protocol 4 and 5 pickles use FRAME, SHORT_BINUNICODE, STACK_GLOBAL and MEMOIZE instead of GLOBAL/BINPUT.
    let (specs, storages) = simple_specs();
    for proto in 2..=5 {
        check(&specs, &storages, proto, &Container::Dict);
    }
    let p4 = state_dict_pickle(4, &specs, &Container::Dict);
    assert_eq!(&p4[..3], &[0x80, 4, 0x95], "protocol 4 starts with PROTO 4, FRAME");
}

#[test]
fn ordered_dict_with_metadata_and_nested_state_dicts() {
    let (specs, storages) = simple_specs();
    check(&specs, &storages, 2, &Container::OrderedDict);
    for key in ["state_dict", "model", "module"] {
        check(&specs, &storages, 2, &Container::NestedUnder(key.into()));
        check(&specs, &storages, 4, &Container::NestedUnder(key.into()));
    }
}

#[test]
fn parameters_and_tensor_subclasses() {
    let (mut specs, storages) = simple_specs();
    specs[0].wrap = Wrap::Parameter;
    specs[1].wrap = Wrap::FromType;
    specs[2].wrap = Wrap::FromType;
    check(&specs, &storages, 2, &Container::OrderedDict);
    check(&specs, &storages, 4, &Container::Dict);
}

#[test]
fn archive_top_directory_and_zip64_fields() {
    let (specs, storages) = simple_specs();
    let pickle = state_dict_pickle(2, &specs, &Container::Dict);
    let records: Vec<(String, Vec<u8>)> = std::iter::once(("archive/data.pkl".to_string(), pickle))
        .chain(storages.iter().map(|(k, v)| (format!("archive/data/{k}"), v.clone())))
        .collect();
    let refs: Vec<(&str, &[u8])> = records.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "x.pt", &write_zip_with(&refs, ZipOpts { force_zip64: true, ..Default::default() }));
    let mut source = TorchSource::open_with(&path, ReadMethod::Map).unwrap();
    let mut sink = Collect::default();
    source.stream(&mut sink, 1 << 10).unwrap();
    assert_eq!(sink.got["layers.0.bias"].1, storages[1].1);
    assert_eq!(sink.got["layers.0.weight_t"].1, expected(&storages[0].1, 4, &specs[2]));
}

#[test]
fn big_endian_archives_are_delivered_little_endian() {
    let specs = vec![
        TensorSpec::contiguous("w", "0", "FloatStorage", &[2, 3]),
        TensorSpec::contiguous("h", "1", "HalfStorage", &[5]),
        view("wt", "0", 6, 0, &[3, 2], &[1, 3]),
    ];
    let w: Vec<f32> = vec![1.5, -2.0, 3.25, 1e-20, 7.0, -0.0];
    let h: Vec<u16> = vec![0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000];
    let w_be: Vec<u8> = w.iter().flat_map(|x| x.to_be_bytes()).collect();
    let h_be: Vec<u8> = h.iter().flat_map(|x| x.to_be_bytes()).collect();
    let pickle = state_dict_pickle(2, &specs, &Container::Dict);
    let recs: Vec<(&str, &[u8])> =
        vec![("be/data.pkl", &pickle), ("be/byteorder", b"big"), ("be/data/0", &w_be), ("be/data/1", &h_be)];
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "be.bin", &write_zip(&recs));
    let mut source = open_source_with(&path, ReadMethod::Map).unwrap();
    let mut sink = Collect::default();
    source.stream(&mut sink, 8).unwrap();
    assert_eq!(sink.got["w"].1, f32_bytes(&w));
    assert_eq!(sink.got["h"].1, h.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>());
    assert_eq!(sink.got["wt"].1, expected(&f32_bytes(&w), 4, &specs[2]));
}
