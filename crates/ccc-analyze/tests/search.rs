//! `ccc search` on planted synthetic tensors (issue 21): the front beats the experiments and the null, its
//! scores are exactly `score_groups`', and a seed and budget fix every byte.

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use ccc_analyze::files::{AnalysisFile, SearchFile};
use ccc_analyze::{analyze, score_groups, search, AnalyzeOptions, Budget, SearchOptions};
use ccc_core::NoProgress;
use common::planted::planted;

fn opts() -> SearchOptions {
    SearchOptions {
        budget: Budget::Evaluations(6000),
        nulls: 2,
        random: 20,
        timings: false,
        ..SearchOptions::default()
    }
}

#[test]
fn planted_structure_beats_experiments_and_null_with_exact_scores() {
    let (t, _) = planted(96, 12, 2, 4, 1);
    let a = analyze(&t, &AnalyzeOptions { timings: false, ..AnalyzeOptions::default() }, &NoProgress).unwrap();
    let exps = a.experiments_file();
    let o = opts();
    let r = search(&t, &exps, &o, &NoProgress, &AtomicBool::new(false)).unwrap();
    let f = &r.file;
    assert!(!f.front.is_empty());
    assert!(!f.interrupted);
    assert_eq!(f.evaluations, 6000 * 3);
    for w in f.front.windows(2) {
        assert!(w[0].scores.fraction < w[1].scores.fraction && w[0].scores.irregularity > w[1].scores.irregularity);
    }
    for p in &f.front {
        // The limits hold.
        assert!(p.groups.comps_grp1.len() >= 2 && p.groups.comps_grp2.len() >= 2);
        assert!(p.scores.fraction <= 0.2);
        // Exactly what `ccc score --groups` gives.
        let (_, s) = score_groups(&t, &p.groups.to_groups(), None, o.aggregation, o.grid, o.seed).unwrap();
        assert_eq!(s.irregularity, Some(p.scores.irregularity));
        assert_eq!(s.fraction, p.scores.fraction);
        // Planted structure: far more regular than any null, and than random groupings.
        let ratio = p.null_ratio.unwrap();
        assert!(ratio < 0.5, "null ratio {ratio}");
        assert_eq!(p.p_value, Some(1.0 / 3.0));
        assert!(p.random_percentile.unwrap() <= 5.0, "{:?}", p.random_percentile);
    }
    assert_eq!(f.null.fronts.len(), 2);
    // Every point of the experiments' own front is strictly dominated by a front point.
    assert!(!f.experiments_front.is_empty());
    for e in &f.experiments_front {
        let j = e.dominated_by.unwrap_or_else(|| panic!("experiment {} not dominated", e.id));
        let p = &f.front[j].scores;
        assert!(p.fraction <= e.scores.fraction && p.irregularity < e.scores.irregularity);
    }
    assert!(ccc_analyze::search::verdict(f).starts_with("Yes"), "{}", ccc_analyze::search::verdict(f));

    // Deterministic: the same seed and budget give the same bytes; the file reads back.
    let again = search(&t, &exps, &o, &NoProgress, &AtomicBool::new(false)).unwrap();
    let bytes = f.to_bytes().unwrap();
    assert_eq!(bytes, again.file.to_bytes().unwrap());
    // (serde_json reads floats to within an ulp, so compare the fields that are not floats.)
    let back = SearchFile::from_bytes(&bytes, Path::new("search.json")).unwrap();
    assert_eq!(back.front.len(), f.front.len());
    assert_eq!(back.front[0].groups, f.front[0].groups);
    assert_eq!((back.evaluations, back.starts), (f.evaluations, f.starts));
    let other = search(&t, &exps, &SearchOptions { seed: 1, ..o.clone() }, &NoProgress, &AtomicBool::new(false));
    assert_ne!(other.unwrap().file.to_bytes().unwrap(), bytes);
}

#[test]
fn null_tensor_structure_does_not_beat_the_null() {
    // Coordinates already permuted within each component: no coupling left to find.
    let (mut t, _) = planted(96, 12, 2, 4, 2);
    let (c, s, k) = (t.n_coord, t.n_ckpt(), t.n_comp());
    let orig = t.mags.clone();
    for kk in 0..k {
        for cc in 0..c {
            let src = (cc * 37 + kk * 11) % c; // a different bijection per component (37 is prime to 96)
            for ss in 0..s {
                t.mags[(cc * s + ss) * k + kk] = orig[(src * s + ss) * k + kk];
            }
        }
    }
    let o = SearchOptions { random: 0, random_starts: 8, ..opts() };
    let none = ccc_analyze::files::ExperimentsFile::default();
    let r = search(&t, &none, &o, &NoProgress, &AtomicBool::new(false)).unwrap();
    let best = r.file.front.iter().filter_map(|p| p.null_ratio).fold(f64::INFINITY, f64::min);
    assert!(best > 0.7, "a null-like tensor beat the null: ratio {best}");
    assert!(!ccc_analyze::search::verdict(&r.file).starts_with("Yes"));
}

#[test]
fn clear_errors() {
    let none = ccc_analyze::files::ExperimentsFile::default();
    let run = |t: &ccc_core::CccTensor, o: &SearchOptions| search(t, &none, o, &NoProgress, &AtomicBool::new(false));
    let (t, _) = planted(20, 2, 1, 2, 0);
    let e = run(&t, &opts()).unwrap_err().to_string();
    assert!(e.contains("at least 3 checkpoints"), "{e}");
    let (t, _) = planted(20, 5, 1, 2, 0);
    let e = run(&t, &SearchOptions { min_group: 20, ..opts() }).unwrap_err().to_string();
    assert!(e.contains("cannot form two groups of at least 20"), "{e}");
    let e = run(&t, &SearchOptions { max_fraction: 1.5, ..opts() }).unwrap_err().to_string();
    assert!(e.contains("max-fraction"), "{e}");
    // A Ctrl-C before the start still gives a (small) result, marked interrupted.
    let r = search(&t, &none, &opts(), &NoProgress, &AtomicBool::new(true)).unwrap();
    assert!(r.file.interrupted);
}
