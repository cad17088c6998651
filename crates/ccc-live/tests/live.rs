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

#[test]
fn a_live_peft_run_grows_from_its_adapters() {
    use ccc_live::complete::{look, Look};
    use ccc_summarize::adapter::{self, AdapterMode, Base};
    use ccc_summarize::{Checkpoint, ReadMethod};
    let d = tempfile::tempdir().unwrap();
    let base = Base::open(&fixture("tiny-llama/step400"), None, ReadMethod::Map).unwrap();
    let run = fixture("lora/tiny-llama-lora");
    for mode in [AdapterMode::Delta, AdapterMode::Merged] {
        let out = d.path().join(format!("live-{mode}.safetensors"));
        let mut opts = LiveOptions::new(&out, "tiny-llama-lora");
        opts.adapter = Some((base.clone(), mode));
        let mut live = Live::new(opts);
        for s in [0i64, 10, 20] {
            let dir = run.join(format!("checkpoint-{s}"));
            assert!(matches!(look(&dir), Look::Whole(_)), "{}", dir.display());
            live.add(&dir, s, &NoProgress).unwrap();
        }
        // The same bytes of values as the run summarized at once.
        let at_once = d.path().join(format!("once-{mode}.safetensors"));
        let found = adapter::discover(
            std::slice::from_ref(&run),
            &ccc_core::StepSelection::all(),
            &Default::default(),
            &base,
            mode,
        )
        .unwrap();
        let cks: Vec<Box<dyn Checkpoint>> =
            found.checkpoints.into_iter().map(|c| Box::new(c) as Box<dyn Checkpoint>).collect();
        let opts = ccc_summarize::RunOptions::new(
            vec![ccc_summarize::Output { mode: ccc_core::Mode::Full, path: at_once.clone() }],
            "tiny-llama-lora",
        );
        ccc_summarize::run(&cks, &opts, &NoProgress).unwrap();
        let (got, want) = (ccc_core::file::read(&out).unwrap(), ccc_core::file::read(&at_once).unwrap());
        assert_eq!((got.steps.clone(), got.mags.clone()), (want.steps, want.mags), "{mode}");
    }
    // An adapter still being written is not complete; without a base, an adapter is one clear error.
    let partial = d.path().join("checkpoint-30");
    std::fs::create_dir(&partial).unwrap();
    std::fs::copy(run.join("checkpoint-10/adapter_config.json"), partial.join("adapter_config.json")).unwrap();
    assert!(matches!(look(&partial), Look::Incomplete(w) if w.contains("no adapter weights")));
    let bytes = std::fs::read(run.join("checkpoint-10/adapter_model.safetensors")).unwrap();
    std::fs::write(partial.join("adapter_model.safetensors"), &bytes[..bytes.len() - 100]).unwrap();
    assert!(matches!(look(&partial), Look::Incomplete(_)));
    let mut plain = Live::new(LiveOptions::new(d.path().join("plain.safetensors"), "x"));
    let err = plain.add(&run.join("checkpoint-10"), 10, &NoProgress).unwrap_err().to_string();
    assert!(err.contains("PEFT adapter") && err.contains("--base"), "{err}");
}
