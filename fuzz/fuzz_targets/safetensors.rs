//! The safetensors reader (header parser and streaming source) on arbitrary bytes.
#![no_main]

use ccc_summarize::{SafetensorsStream, WeightSource};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut source) = SafetensorsStream::new(data, "fuzz.safetensors") {
        let mut sink = common::CheckSink::default();
        let _ = source.stream(&mut sink, 48);
    }
});
