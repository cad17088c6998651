//! The coordinate-outlier methods on 2-D trajectories (docs/analysis.md §6): each finds the coordinates whose
//! trajectory stands out, from the `(x, y)` = (group 1, group 2) channels alone.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::error::AnalyzeError;
use crate::robust::{mark_outliers, median_in_place, outliers};
use crate::trajectory::Trajectories;

/// Number of random projection angles per checkpoint of [`OutlierMethod::UnionLincomb`].
pub const N_ANGLES: usize = 20;

/// A coordinate-outlier method on the 2-D trajectories (docs/analysis.md §6). `x` is the group-1 channel, `y` group 2.
///
/// Every method returns the MAD outliers (docs/analysis.md §1) of one or more derived vectors; the `Union*` methods take
/// the true union over all checkpoints (the reference tool's slip of keeping only the last checkpoint is fixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutlierMethod {
    /// `MAD-union-lincomb`: union over every checkpoint `t` and [`N_ANGLES`] random angles `a` of
    /// `outliers(cos a·x_t + sin a·y_t)`. The only method that draws random numbers.
    UnionLincomb,
    /// `MAD-union-dif`: union over `t` of `outliers(x_t − y_t)`.
    UnionDif,
    /// `MAD-union-sum`: union over `t` of `outliers(x_t + y_t)`.
    UnionSum,
    /// `MAD-1median-2dif`: `outliers(median_t x − median_t y)`.
    MedianThenDif,
    /// `MAD-2median-1dif`: `outliers(median_t (x − y))`.
    DifThenMedian,
    /// `MAD-last-dif`: `outliers(x_last − y_last)`.
    LastDif,
    /// `MAD-last-sum`: `outliers(x_last + y_last)`.
    LastSum,
}

impl OutlierMethod {
    /// All methods, in the order the experiments list uses.
    pub const ALL: [OutlierMethod; 7] = [
        OutlierMethod::UnionLincomb,
        OutlierMethod::UnionDif,
        OutlierMethod::UnionSum,
        OutlierMethod::MedianThenDif,
        OutlierMethod::DifThenMedian,
        OutlierMethod::LastDif,
        OutlierMethod::LastSum,
    ];

    /// The reference name, e.g. `MAD-union-lincomb`.
    pub fn name(self) -> &'static str {
        match self {
            OutlierMethod::UnionLincomb => "MAD-union-lincomb",
            OutlierMethod::UnionDif => "MAD-union-dif",
            OutlierMethod::UnionSum => "MAD-union-sum",
            OutlierMethod::MedianThenDif => "MAD-1median-2dif",
            OutlierMethod::DifThenMedian => "MAD-2median-1dif",
            OutlierMethod::LastDif => "MAD-last-dif",
            OutlierMethod::LastSum => "MAD-last-sum",
        }
    }

    /// Whether the method draws random numbers.
    pub fn is_random(self) -> bool {
        self == OutlierMethod::UnionLincomb
    }

    /// The outlier coordinates (ascending) of the trajectories. Only [`OutlierMethod::UnionLincomb`] draws from
    /// `rng` (`T × 20` angles, checkpoint by checkpoint). An empty result is valid; so is an empty tensor.
    pub fn apply(&self, tr: &Trajectories, rng: &mut ChaCha8Rng) -> Vec<usize> {
        let (n_c, n_t) = (tr.n_coord, tr.n_ckpt);
        if n_c == 0 || n_t == 0 {
            return Vec::new();
        }
        let mut flags = vec![false; n_c];
        let mut scratch = Vec::with_capacity(n_c);
        let mut v = vec![0.0f64; n_c];
        let fill = |v: &mut Vec<f64>, f: &dyn Fn(f64, f64) -> f64, t: usize| {
            for (c, vc) in v.iter_mut().enumerate() {
                let (x, y) = tr.point(c, t);
                *vc = f(x, y);
            }
        };
        match self {
            OutlierMethod::UnionLincomb => {
                for t in 0..n_t {
                    for _ in 0..N_ANGLES {
                        let a: f64 = rng.random::<f64>() * 2.0 * std::f64::consts::PI;
                        let (s, c) = a.sin_cos();
                        fill(&mut v, &|x, y| x * c + y * s, t);
                        mark_outliers(&v, &mut flags, &mut scratch);
                    }
                }
            }
            OutlierMethod::UnionDif | OutlierMethod::UnionSum => {
                let sign = if *self == OutlierMethod::UnionDif { -1.0 } else { 1.0 };
                for t in 0..n_t {
                    fill(&mut v, &|x, y| x + sign * y, t);
                    mark_outliers(&v, &mut flags, &mut scratch);
                }
            }
            OutlierMethod::MedianThenDif => {
                let mut col = vec![0.0; n_t];
                for (c, vc) in v.iter_mut().enumerate() {
                    col.copy_from_slice(&tr.x[c * n_t..(c + 1) * n_t]);
                    let mx = median_in_place(&mut col);
                    col.copy_from_slice(&tr.y[c * n_t..(c + 1) * n_t]);
                    *vc = mx - median_in_place(&mut col);
                }
                return outliers(&v);
            }
            OutlierMethod::DifThenMedian => {
                let mut col = vec![0.0; n_t];
                for (c, vc) in v.iter_mut().enumerate() {
                    for (t, d) in col.iter_mut().enumerate() {
                        let (x, y) = tr.point(c, t);
                        *d = x - y;
                    }
                    *vc = median_in_place(&mut col);
                }
                return outliers(&v);
            }
            OutlierMethod::LastDif => {
                fill(&mut v, &|x, y| x - y, n_t - 1);
                return outliers(&v);
            }
            OutlierMethod::LastSum => {
                fill(&mut v, &|x, y| x + y, n_t - 1);
                return outliers(&v);
            }
        }
        (0..n_c).filter(|&c| flags[c]).collect()
    }
}

impl fmt::Display for OutlierMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OutlierMethod {
    type Err = AnalyzeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutlierMethod::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            AnalyzeError::InvalidOption(format!(
                "unknown outlier method `{s}`; expected one of {}",
                OutlierMethod::ALL.map(|m| m.name()).join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn tr(n_coord: usize, n_ckpt: usize, f: impl Fn(usize, usize) -> (f64, f64)) -> Trajectories {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for c in 0..n_coord {
            for t in 0..n_ckpt {
                let (a, b) = f(c, t);
                x.push(a);
                y.push(b);
            }
        }
        Trajectories { n_coord, n_ckpt, x, y }
    }

    /// A smooth, static cloud, with coordinate 3 off in x at checkpoint 1 only, and coordinate 7 off in y at the end.
    fn planted() -> Trajectories {
        tr(20, 4, |c, t| {
            let base = (c as f64 * 0.37).sin() * 0.1 + 1.0;
            let x = if c == 3 && t == 1 { base + 50.0 } else { base };
            let y = if c == 7 && t == 3 { base * 0.5 - 40.0 } else { base * 0.5 };
            (x, y)
        })
    }

    #[test]
    fn union_methods_take_every_checkpoint() {
        let t = planted();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(OutlierMethod::UnionDif.apply(&t, &mut rng), vec![3, 7]);
        assert_eq!(OutlierMethod::UnionSum.apply(&t, &mut rng), vec![3, 7]);
        assert_eq!(OutlierMethod::UnionLincomb.apply(&t, &mut rng), vec![3, 7]);
        // Only the last checkpoint: coordinate 7.
        assert_eq!(OutlierMethod::LastDif.apply(&t, &mut rng), vec![7]);
        assert_eq!(OutlierMethod::LastSum.apply(&t, &mut rng), vec![7]);
        // A single spike does not move a median over 4 checkpoints.
        assert_eq!(OutlierMethod::MedianThenDif.apply(&t, &mut rng), Vec::<usize>::new());
        assert_eq!(OutlierMethod::DifThenMedian.apply(&t, &mut rng), Vec::<usize>::new());
    }

    #[test]
    fn lincomb_is_seeded() {
        let t = planted();
        let a = OutlierMethod::UnionLincomb.apply(&t, &mut ChaCha8Rng::seed_from_u64(5));
        let b = OutlierMethod::UnionLincomb.apply(&t, &mut ChaCha8Rng::seed_from_u64(5));
        assert_eq!(a, b);
    }

    #[test]
    fn names_round_trip() {
        for m in OutlierMethod::ALL {
            assert_eq!(m.name().parse::<OutlierMethod>().unwrap(), m);
            assert_eq!(m.is_random(), m == OutlierMethod::UnionLincomb);
        }
        assert!("MAD-union".parse::<OutlierMethod>().is_err());
    }
}
