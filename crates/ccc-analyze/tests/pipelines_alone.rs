//! Each pipeline run alone (selected by its index, as `--pipelines 17`) gives what it gives among all 40: the
//! scheduler shares intermediates between pipelines, but what a pipeline computes and draws from the random
//! generator must not depend on which others run (the ground for running pipelines separately, e.g. sharded).

use std::path::PathBuf;

use ccc_analyze::{analyze, AnalyzeOptions};
use ccc_core::NoProgress;

#[test]
fn each_pipeline_alone_gives_what_it_gives_among_all() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/golden/synthetic-small.safetensors");
    let tensor = ccc_core::file::read(&path).unwrap();
    for seed in [0, 5] {
        let opts = AnalyzeOptions { seed, timings: false, ..AnalyzeOptions::default() };
        let all = analyze(&tensor, &opts, &NoProgress).unwrap();
        assert_eq!(all.pipelines.len(), 40);
        for p in &all.pipelines {
            let index = p.pipeline.index;
            let sel = AnalyzeOptions { pipelines: Some(index.to_string()), ..opts.clone() };
            let alone = analyze(&tensor, &sel, &NoProgress).unwrap();
            assert_eq!(alone.pipelines.len(), 1, "pipeline {index}");
            let a = &alone.pipelines[0];
            assert_eq!(a.pipeline, p.pipeline);
            assert_eq!(
                (a.status, &a.reason, &a.groups),
                (p.status, &p.reason, &p.groups),
                "seed {seed}, pipeline {index}"
            );
        }
    }
}
