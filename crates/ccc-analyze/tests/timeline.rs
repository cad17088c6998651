//! Issue 22 ("Over training") on a planted tensor: outliers that emerge mid-training are found in the window
//! where they emerge (or the next), few others are called emerging, a change point lands near the planted step,
//! and the trajectory clusters gather the late coordinates.

mod common;

use ccc_analyze::files::{AnalysisFile, TimelineFile, TrajectoryClustersFile};
use ccc_analyze::timeline::{
    over_training, ClusterCount, OverTrainingOptions, TimelineOptions, TrainLog, WindowSpec, DEFAULT_CONSENSUS,
};
use ccc_analyze::{analyze, AnalyzeOptions};
use ccc_core::NoProgress;
use common::emerging::{planted_tensor, EARLY, LATE, PLANTED_CKPT, PLANTED_STEP};

fn opts() -> AnalyzeOptions {
    AnalyzeOptions { timings: false, ..AnalyzeOptions::default() }
}

/// A training log of the planted run: warmup to step 300, a loss spike at the planted step.
fn log() -> TrainLog {
    let mut csv = String::from("step,loss,learning_rate\n");
    for s in (0..4000).step_by(50) {
        let lr = if s < 300 { s as f64 / 300.0 } else { 1.0 - (s - 300) as f64 / 8000.0 };
        let loss = 5.0 * (-(s as f64) / 1500.0).exp() + 1.0 + if s == PLANTED_STEP { 0.8 } else { 0.0 };
        csv.push_str(&format!("{s},{loss},{lr}\n"));
    }
    TrainLog::parse(std::path::Path::new("planted.csv"), &csv).unwrap()
}

#[test]
fn four_windows_find_the_planted_emergence() {
    let t = planted_tensor();
    let o = opts();
    let whole = analyze(&t, &o, &NoProgress).unwrap();
    let ot = OverTrainingOptions {
        timeline: Some(TimelineOptions { windows: WindowSpec::Count(4), ..TimelineOptions::default() }),
        train_log: Some(log()),
        clusters: Some(ClusterCount::Auto),
        consensus: DEFAULT_CONSENSUS,
        ..OverTrainingOptions::default()
    };
    let done = over_training(&t, &whole, &o, &ot, &NoProgress).unwrap();
    let tl = done.timeline.as_ref().unwrap().file();

    // The planted checkpoint opens window 2 (of 10 checkpoints each).
    let planted_window = tl.windows.iter().position(|w| w.steps.contains(&PLANTED_STEP)).unwrap();
    assert_eq!(planted_window, 2);
    let found = LATE
        .iter()
        .filter(|&&c| tl.coords[c].emerges_at.is_some_and(|w| w == planted_window || w == planted_window + 1))
        .count();
    eprintln!("late found: {found}/{}; emerging {:?}", LATE.len(), tl.emerging);
    assert!(found * 10 >= LATE.len() * 8, "found {found} of {:?}: {:?}", LATE, tl.emerging);
    let wrong: Vec<usize> = tl.emerging.iter().copied().filter(|c| !LATE.contains(c)).collect();
    assert!(wrong.len() <= 1, "wrongly emerging: {wrong:?}");
    for c in EARLY {
        assert_eq!(tl.coords[c].emerges_at, Some(0), "early outlier {c}: {:?}", tl.coords[c]);
    }

    // A change point within two checkpoints of the planted one.
    let near = tl.change_points.iter().any(|&s| (s - PLANTED_STEP).abs() <= 2 * 100);
    assert!(near, "change points {:?}, series {:?}", tl.change_points, tl.series.outlier_count);
    // … marked beside the log's events: the spike at the planted step is the nearest event.
    let d = tl.change_point_details.iter().find(|d| (d.step - PLANTED_STEP).abs() <= 200).unwrap();
    assert_eq!(d.nearest_event.map(|e| e.step), Some(PLANTED_STEP), "{d:?} {:?}", tl.events);
    assert!(tl.events.iter().any(|e| e.step == 300 && e.kind.name() == "warmup_end"), "{:?}", tl.events);
    assert!(tl.training_log.as_ref().unwrap().series["loss"].len() == 80);

    // Trajectory clusters: ≥ 80% of the late coordinates in one cluster where they are the majority.
    let cl = done.clusters.as_ref().unwrap();
    let best = cl
        .clusters
        .iter()
        .map(|c| (c.coords.iter().filter(|x| LATE.contains(x)).count(), c.coords.len()))
        .max()
        .unwrap();
    eprintln!(
        "clusters k = {}: sizes {:?}, late in best {best:?}",
        cl.k,
        cl.clusters.iter().map(|c| c.coords.len()).collect::<Vec<_>>()
    );
    assert!(best.0 * 10 >= LATE.len() * 8 && best.0 * 2 > best.1, "{best:?} of k = {}", cl.k);

    // The files round-trip through their owners and are deterministic.
    let dir = tempfile::tempdir().unwrap();
    done.write_to(dir.path()).unwrap();
    // (serde_json parses floats to within an ulp, not always exactly: compare the log with a tolerance.)
    let mut back = TimelineFile::read(dir.path()).unwrap();
    let (log_back, log) = (back.training_log.take().unwrap(), tl.training_log.clone().unwrap());
    assert_eq!(log_back.steps, log.steps);
    for (k, v) in &log.series {
        for (a, b) in v.iter().zip(&log_back.series[k]) {
            assert!((a.unwrap() - b.unwrap()).abs() <= 1e-12 * a.unwrap().abs().max(1.0));
        }
    }
    assert_eq!((&back.windows, &back.emerging, &back.change_points), (&tl.windows, &tl.emerging, &tl.change_points));
    assert!(back.coords.iter().zip(&tl.coords).all(|(a, b)| a.emerges_at == b.emerges_at));
    assert!(back.comps.iter().zip(&tl.comps).all(|(a, b)| a.labels == b.labels && a.switches == b.switches));
    assert!(TrajectoryClustersFile::read(dir.path())
        .unwrap()
        .clusters
        .iter()
        .map(|c| &c.coords)
        .eq(cl.clusters.iter().map(|c| &c.coords)));
    let again = over_training(&t, &whole, &o, &ot, &NoProgress).unwrap();
    assert_eq!(again.timeline.unwrap().file().to_bytes().unwrap(), tl.to_bytes().unwrap());
    let _ = PLANTED_CKPT;
}

#[test]
fn bad_windows_and_logs_are_clear_errors() {
    let t = planted_tensor();
    let o = opts();
    let whole = analyze(&t, &o, &NoProgress).unwrap();
    let run = |spec: &str| {
        let ot = OverTrainingOptions {
            timeline: Some(TimelineOptions { windows: spec.parse().unwrap(), ..TimelineOptions::default() }),
            consensus: DEFAULT_CONSENSUS,
            ..OverTrainingOptions::default()
        };
        over_training(&t, &whole, &o, &ot, &NoProgress).map(|_| ()).unwrap_err().to_string()
    };
    assert!(run("20").contains("at most 13 windows"));
    assert!(run("0..150,150..").contains("`0..150` holds 2 checkpoint(s)"));
    assert!(run("10000..").contains("holds no checkpoint"));
    let late_log = TrainLog::parse(std::path::Path::new("l.csv"), "step,loss\n90000,1\n95000,2\n").unwrap();
    let ot = OverTrainingOptions { train_log: Some(late_log), consensus: 0.5, ..OverTrainingOptions::default() };
    let e = over_training(&t, &whole, &o, &ot, &NoProgress).map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("do not overlap"), "{e}");
}

#[test]
fn component_subsets_run_on_each_subset() {
    let t = planted_tensor();
    let o = opts();
    let whole = analyze(&t, &o, &NoProgress).unwrap();
    let ot = OverTrainingOptions {
        subsets: ccc_analyze::timeline::parse_subsets("attention,mlp,norms,L0,L1").unwrap(),
        consensus: DEFAULT_CONSENSUS,
        ..OverTrainingOptions::default()
    };
    let done = over_training(&t, &whole, &o, &ot, &NoProgress).unwrap();
    let f = done.subsets.unwrap().file();
    assert_eq!(f.subsets.len(), 5);
    assert_eq!(f.subsets[0].components.len(), 2 * 2 * 4);
    // Every component is placed in the subsets that hold it: an attention head of layer 0 in `attention` and `L0`.
    let q = f.comps.iter().find(|c| c.name == "L0.H0.Q").unwrap();
    assert_eq!(q.places.iter().map(|p| p.subset).collect::<Vec<_>>(), [0, 3]);
    // The early outliers are outliers everywhere, so in the merged consensus.
    for c in EARLY {
        assert!(f.outliers.contains(&c), "{:?}", f.outliers);
    }
    let e = ccc_analyze::timeline::parse_subsets("embeddings").unwrap();
    let ot = OverTrainingOptions { subsets: e, consensus: 0.5, ..OverTrainingOptions::default() };
    let err = over_training(&t, &whole, &o, &ot, &NoProgress).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("`embeddings` holds 1 component(s)"), "{err}");
}
