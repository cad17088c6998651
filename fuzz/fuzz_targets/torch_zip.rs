//! The zip index on arbitrary bytes, then the whole `.bin` pipeline (zip → restricted unpickler → views checked
//! against records → streaming, gathering strided views) on the same bytes. Must never panic, hang or
//! allocate beyond the file's size.
#![no_main]

use ccc_summarize::internals::{TorchSource, ZipIndex};
use ccc_summarize::WeightSource;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(index) = ZipIndex::parse(data) {
        for e in index.entries() {
            if let Ok((at, len)) = index.data_range(data, e) {
                assert!(at + len <= data.len() as u64);
            }
        }
    }
    if let Ok(source) = TorchSource::from_reader(data.to_vec(), "fuzz.bin".into()) {
        let mut source = source.with_gather_window(64);
        let mut sink = common::CheckSink::default();
        let _ = source.stream(&mut sink, 48);
    }
});
