//! The restricted unpickler on arbitrary bytes: an error or a state dict whose views fit their storages, never a
//! panic, a hang or unbounded memory.
#![no_main]

use ccc_summarize::internals::{load_state_dict, PickleLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sd) = load_state_dict(data, &PickleLimits::default()) {
        for (_, t) in &sd.tensors {
            assert!(t.storage < sd.storages.len());
            assert_eq!(t.size.len(), t.stride.len());
        }
    }
});
