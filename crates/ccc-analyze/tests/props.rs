//! Property tests: scores lie in [0, 1], do not depend on which group is called 1, and MAD outliers find
//! planted spikes.

use ccc_analyze::outliers::OutlierMethod;
use ccc_analyze::robust::outliers;
use ccc_analyze::{score, trajectories, Aggregation, Trajectories};
use ccc_core::{CccMeta, CccTensor, Component, ComponentKind, Mode, Summary};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn tensor(n_coord: usize, n_ckpt: usize, n_comp: usize, values: &[f32]) -> CccTensor {
    let components = (0..n_comp).map(|i| Component::head(ComponentKind::Q, 0, i)).collect();
    let meta = CccMeta {
        model: "prop".into(),
        architecture: "x".into(),
        mode: Mode::Full,
        n_layer: 1,
        n_head: n_comp,
        n_kv_head: n_comp,
        summary: Summary::MeanSq,
        components,
        duplicates: vec![],
        extra: Default::default(),
    };
    let mut t = CccTensor::empty(meta, n_coord, (0..n_ckpt as i64).collect(), (1..=n_comp as i64).collect()).unwrap();
    let n = t.mags.len();
    t.mags.copy_from_slice(&values[..n]);
    t.filled.iter_mut().for_each(|f| *f = true);
    t
}

/// A random tensor (3..12 coordinates × 3..8 checkpoints × 2..6 components), a split of the components in two
/// non-empty groups, and a set of inlier coordinates.
fn case() -> impl Strategy<Value = (CccTensor, Vec<usize>, Vec<usize>, Vec<usize>)> {
    (3usize..12, 3usize..8, 2usize..6).prop_flat_map(|(c, t, k)| {
        (
            proptest::collection::vec(0.0f32..10.0, c * t * k),
            proptest::collection::vec(any::<bool>(), k),
            proptest::collection::vec(any::<bool>(), c),
        )
            .prop_map(move |(v, split, inl)| {
                let mut g1: Vec<usize> = (0..k).filter(|&i| split[i]).collect();
                let mut g2: Vec<usize> = (0..k).filter(|&i| !split[i]).collect();
                if g1.is_empty() {
                    g1.push(g2.remove(0));
                }
                if g2.is_empty() {
                    g2.push(g1.remove(0));
                }
                let inliers = (0..c).filter(|&i| inl[i]).collect();
                (tensor(c, t, k, &v), g1, g2, inliers)
            })
    })
}

fn swapped(tr: &Trajectories) -> Trajectories {
    Trajectories { n_coord: tr.n_coord, n_ckpt: tr.n_ckpt, x: tr.y.clone(), y: tr.x.clone() }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn scores_are_in_unit_interval((t, g1, g2, inl) in case(), grid in 1usize..30) {
        for agg in Aggregation::ALL {
            let tr = trajectories(&t, &g1, &g2, agg);
            let s = score(&tr, &inl, t.n_coord - inl.len(), grid);
            prop_assert!((0.0..=1.0).contains(&s.fraction));
            if let Some(irr) = s.irregularity {
                prop_assert!((-1e-9..=1.0 + 1e-9).contains(&irr), "irregularity {irr}");
            } else {
                prop_assert!(inl.is_empty());
            }
        }
    }

    #[test]
    fn scores_do_not_depend_on_group_order((t, g1, g2, inl) in case(), grid in 1usize..30) {
        let a = trajectories(&t, &g1, &g2, Aggregation::Sum);
        let b = trajectories(&t, &g2, &g1, Aggregation::Sum);
        prop_assert_eq!(&b, &swapped(&a));
        let (sa, sb) = (score(&a, &inl, 0, grid), score(&b, &inl, 0, grid));
        match (sa.irregularity, sb.irregularity) {
            (Some(x), Some(y)) => prop_assert!((x - y).abs() < 1e-9, "{x} vs {y}"),
            (x, y) => prop_assert_eq!(x, y),
        }
        prop_assert_eq!(sa.fraction, sb.fraction);
        // The deterministic outlier methods find the same coordinates with the groups swapped.
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for m in OutlierMethod::ALL.into_iter().filter(|m| !m.is_random()) {
            prop_assert_eq!(m.apply(&a, &mut rng), m.apply(&b, &mut rng), "{}", m);
        }
    }

    #[test]
    fn planted_spikes_are_found(
        base in proptest::collection::vec(0.0f64..1.0, 20..200),
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..5),
        height in 50.0f64..1e6,
        sign in any::<bool>(),
    ) {
        // Evenly spread inliers in [0, 1) (a MAD near 1/4), shuffled by the jitter.
        let n = base.len();
        let mut v: Vec<f64> = base.iter().enumerate().map(|(i, u)| ((i * 7919) % n) as f64 / n as f64 + u / n as f64).collect();
        let mut spikes: Vec<usize> = picks.iter().map(|p| p.index(v.len())).collect();
        spikes.sort();
        spikes.dedup();
        for &i in &spikes {
            v[i] += if sign { height } else { -height };
        }
        prop_assert_eq!(outliers(&v), spikes);
    }
}
