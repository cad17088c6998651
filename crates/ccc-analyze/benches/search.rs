//! Evaluations per second of `ccc search` (docs/search.md §2) on a planted pythia-70m-shaped tensor
//! (512 coordinates × 40 checkpoints × 218 components), with all threads, from random start points; the target is
//! ≥ 10⁴ incremental evaluations/s on a 2-core machine.
//!
//! Run: `cargo bench -p ccc-analyze --bench search`. divan reports the time of one search of `EVALUATIONS`
//! evaluations and the throughput in items (= evaluations) per second.

#[path = "../tests/common/planted.rs"]
mod planted;

use std::sync::atomic::AtomicBool;

use ccc_analyze::files::ExperimentsFile;
use ccc_analyze::{search, Budget, SearchOptions};
use ccc_core::NoProgress;
use divan::counter::ItemsCount;
use divan::Bencher;

fn main() {
    divan::main();
}

/// Evaluations of one benchmarked search.
const EVALUATIONS: u64 = 40_000;

#[divan::bench(sample_count = 3, sample_size = 1)]
fn evaluations_512x40x218(bencher: Bencher) {
    let (t, _) = planted::planted(512, 40, 6, 8, 0);
    let opts = SearchOptions {
        budget: Budget::Evaluations(EVALUATIONS),
        nulls: 0,
        random: 0,
        random_starts: 16,
        timings: false,
        ..SearchOptions::default()
    };
    let none = ExperimentsFile::default();
    bencher.counter(ItemsCount::new(EVALUATIONS)).bench_local(|| {
        let r = search(&t, &none, &opts, &NoProgress, &AtomicBool::new(false)).unwrap();
        assert_eq!(r.file.evaluations, EVALUATIONS);
        r
    });
}
