//! Property tests of the `.bin` readers: arbitrary and mutated bytes never panic (an error or a valid result),
//! and random strided views of random storages stream exactly the bytes an element-by-element computation gives.

use ccc_torch_testkit::*;
use proptest::prelude::*;

use crate::error::SummarizeError;
use crate::source::{TensorSink, WeightSource};
use crate::tensor::TensorInfo;
use crate::torch::pickle::{load_state_dict, PickleLimits};
use crate::torch::zip::ZipIndex;
use crate::torch::TorchSource;

/// Collects all rows and checks the sink contract.
#[derive(Default)]
struct Collect {
    got: std::collections::BTreeMap<String, Vec<u8>>,
}

impl TensorSink for Collect {
    fn wants(&self, _info: &TensorInfo) -> bool {
        true
    }

    fn rows(&mut self, info: &TensorInfo, first_row: usize, bytes: &[u8]) -> Result<(), SummarizeError> {
        let row_bytes = info.row_len() * info.dtype.size();
        assert_eq!(bytes.len() % row_bytes, 0);
        let v = self.got.entry(info.name.clone()).or_default();
        assert_eq!(v.len(), first_row * row_bytes);
        v.extend_from_slice(bytes);
        assert!(v.len() <= info.numel() * info.dtype.size());
        Ok(())
    }
}

/// A valid checkpoint with a few views (the seed for mutations).
fn seed() -> (Vec<u8>, Vec<u8>) {
    let specs = vec![
        TensorSpec::contiguous("a", "0", "FloatStorage", &[4, 3]),
        TensorSpec {
            name: "a_t".into(),
            size: vec![3, 4],
            stride: vec![1, 3],
            ..TensorSpec::contiguous("a_t", "0", "FloatStorage", &[4, 3])
        },
        TensorSpec { wrap: Wrap::Parameter, ..TensorSpec::contiguous("h", "1", "HalfStorage", &[5]) },
    ];
    let pickle = state_dict_pickle(2, &specs, &Container::OrderedDict);
    let file = torch_zip("m", &pickle, &[("0", f32_bytes(&[1.0; 12])), ("1", vec![7u8; 10])]);
    (file, pickle)
}

fn open_and_stream(bytes: Vec<u8>) {
    if let Ok(source) = TorchSource::from_reader(bytes, "prop.bin".into()) {
        let mut source = source.with_gather_window(16);
        let _ = source.stream(&mut Collect::default(), 32);
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    Remove(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
    ]
}

fn mutate(mut v: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        if v.is_empty() {
            break;
        }
        let n = v.len();
        match *m {
            Mutation::Set(i, b) => v[i % n] = b,
            Mutation::Truncate(i) => v.truncate(i % n),
            Mutation::Insert(i, b) => v.insert(i % n, b),
            Mutation::Remove(i) => {
                v.remove(i % n);
            }
        }
    }
    v
}

/// A random storage and a random strided view inside it: a permutation of a contiguous layout of `dims`,
/// at a random offset, optionally every other element along one dim.
fn view_case() -> impl Strategy<Value = (Vec<u64>, Vec<u64>, u64, u64)> {
    (prop::collection::vec(1u64..5, 0..4), any::<u64>(), 0u64..7, any::<bool>()).prop_map(
        |(dims, perm_seed, offset, step)| {
            let r = dims.len();
            let mut stride = vec![1u64; r];
            for i in (0..r.saturating_sub(1)).rev() {
                stride[i] = stride[i + 1] * dims[i + 1];
            }
            let mut stride: Vec<u64> = stride.iter().map(|s| if step { s * 2 } else { *s }).collect();
            let mut size = dims.clone();
            // Permute dims and strides together (a transpose / permute view).
            let mut s = perm_seed;
            for i in (1..r).rev() {
                let j = (s % (i as u64 + 1)) as usize;
                s /= i as u64 + 1;
                size.swap(i, j);
                stride.swap(i, j);
            }
            let extent: u64 = size.iter().zip(&stride).map(|(d, s)| (d - 1) * s).sum();
            let numel = offset + extent + 1 + (perm_seed % 3);
            (size, stride, offset, numel)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = ZipIndex::parse(bytes.as_slice());
        let _ = load_state_dict(&bytes, &PickleLimits::default());
        open_and_stream(bytes);
    }

    #[test]
    fn arbitrary_bytes_behind_a_zip_signature_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        open_and_stream([&b"PK\x03\x04"[..], &bytes].concat());
    }

    #[test]
    fn mutated_checkpoints_never_panic(ms in prop::collection::vec(mutation(), 1..6)) {
        let (file, _) = seed();
        open_and_stream(mutate(file, &ms));
    }

    #[test]
    fn mutated_pickles_never_panic_and_views_fit(ms in prop::collection::vec(mutation(), 1..6)) {
        let (_, pickle) = seed();
        if let Ok(sd) = load_state_dict(&mutate(pickle, &ms), &PickleLimits::default()) {
            for (name, t) in &sd.tensors {
                let s = &sd.storages[t.storage];
                if t.size.iter().all(|&d| d > 0) {
                    let last: u64 = t.offset + t.size.iter().zip(&t.stride).map(|(d, s)| (d - 1) * s).sum::<u64>();
                    prop_assert!(last < s.numel, "{name}: view escapes its storage");
                }
            }
        }
    }

    #[test]
    fn random_views_stream_their_elements((size, stride, offset, numel) in view_case(), proto in 2u8..=5,
                                          chunk in 1usize..64, window in 1usize..64) {
        let values: Vec<f32> = (0..numel).map(|i| i as f32 * 0.5 - 3.0).collect();
        let storage = f32_bytes(&values);
        let spec = TensorSpec {
            name: "v".into(),
            key: "0".into(),
            class: "FloatStorage".into(),
            storage_numel: numel,
            offset,
            size: size.clone(),
            stride: stride.clone(),
            wrap: Wrap::Plain,
        };
        let file = torch_zip("m", &state_dict_pickle(proto, &[spec], &Container::Dict), &[("0", storage)]);
        let mut source = TorchSource::from_reader(file, "prop.bin".into()).unwrap().with_gather_window(window);
        let mut sink = Collect::default();
        source.stream(&mut sink, chunk).unwrap();
        // Independent computation: element idx (row-major over `size`) is storage[offset + Σ idx·stride].
        let n: u64 = size.iter().product();
        let mut want = Vec::new();
        for flat in 0..n {
            let (mut rem, mut at) = (flat, offset);
            for d in (0..size.len()).rev() {
                at += (rem % size[d]) * stride[d];
                rem /= size[d];
            }
            want.extend_from_slice(&values[at as usize].to_le_bytes());
        }
        prop_assert_eq!(sink.got.get("v").cloned().unwrap_or_default(), want);
    }
}
