//! [`Live`] on real checkpoints (tiny-neox, made by transformers): the tensor grown one checkpoint at a time is the
//! tensor summarized at once, analyses come every N checkpoints, and the report reloads itself.

use std::path::PathBuf;

use ccc_core::NoProgress;
use ccc_live::{Live, LiveOptions};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fixtures").join(rel)
}

#[test]
fn a_live_tensor_grows_and_is_analyzed_every_n_checkpoints() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("live.safetensors");
    let mut opts = LiveOptions::new(&out, "tiny-neox");
    opts.analyze_every = 2;
    opts.report = Some(d.path().join("report"));
    let mut live = Live::new(opts);
    let steps = [0i64, 1, 2, 4, 8, 16];
    let mut analyses = Vec::new();
    for &s in &steps {
        live.add(&fixture(&format!("tiny-neox/step{s}")), s, &NoProgress).unwrap();
        if live.analysis_due() {
            analyses.push(live.analyze(&NoProgress).unwrap());
        }
    }
    assert_eq!(live.filled_steps().unwrap(), steps);
    assert_eq!(analyses.iter().map(|u| (u.checkpoints, u.step)).collect::<Vec<_>>(), [(2, 1), (4, 4), (6, 16)]);
    assert_eq!(analyses[0].changes, Default::default(), "nothing to compare the first analysis with");
    assert_eq!(analyses[2].first_component, "emb_in");
    let page = std::fs::read_to_string(analyses[2].report.as_ref().unwrap()).unwrap();
    assert!(page.contains("<meta http-equiv=\"refresh\" content=\"10\">"));
    // The same values as summarizing the checkpoints at once.
    let reference = ccc_core::file::read(&fixture("tiny-neox-full.ccc.safetensors")).unwrap();
    let keep: Vec<usize> = steps.iter().map(|s| reference.step_index(*s).unwrap()).collect();
    let got = ccc_core::file::read(&out).unwrap();
    let want = reference.select_checkpoints(&keep).unwrap();
    assert_eq!(got.steps, want.steps);
    let worst = got.mags.iter().zip(&want.mags).map(|(a, b)| (a - b).abs() / b.abs().max(1e-30)).fold(0f32, f32::max);
    assert!(worst <= 1e-5, "{worst}");
}
