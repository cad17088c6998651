//! One run of the search: simulated annealing of the irregularity under an ε-constraint on the fraction
//! (docs/search.md §1), every accepted grouping offered to the run's Pareto archive.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::archive::{Archive, Found};
use super::data::SearchData;
use super::eval::Evaluator;
use super::moves::{draw, Limits, Move};

/// A grouping to start from: memberships and outlier flags, and the index of the start point it descends from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Start {
    pub in1: Vec<bool>,
    pub in2: Vec<bool>,
    pub out: Vec<bool>,
    pub origin: usize,
}

impl Start {
    /// The start of a found grouping.
    pub fn of(f: &Found, n_coord: usize, n_comp: usize) -> Start {
        let mask = |idx: &[usize], n: usize| {
            let mut m = vec![false; n];
            idx.iter().for_each(|&i| m[i] = true);
            m
        };
        Start {
            in1: mask(&f.grp1, n_comp),
            in2: mask(&f.grp2, n_comp),
            out: mask(&f.coords_out, n_coord),
            origin: f.start,
        }
    }

    /// Outlier count.
    pub fn n_out(&self) -> usize {
        self.out.iter().filter(|&&b| b).count()
    }
}

/// Shared counters of a search: evaluations done and the best irregularity so far (as `f64` bits), for progress.
#[derive(Debug)]
pub(crate) struct Counters {
    pub evaluations: AtomicU64,
    pub best_bits: AtomicU64,
}

impl Counters {
    pub fn new() -> Counters {
        Counters { evaluations: AtomicU64::new(0), best_bits: AtomicU64::new(f64::INFINITY.to_bits()) }
    }

    fn best(&self, irr: f64) {
        // Irregularities are ≥ 0 (up to rounding), so the bits of non-negative floats order as the floats.
        if irr >= 0.0 {
            self.best_bits.fetch_min(irr.to_bits(), Ordering::Relaxed);
        }
    }

    pub fn best_so_far(&self) -> Option<f64> {
        let v = f64::from_bits(self.best_bits.load(Ordering::Relaxed));
        v.is_finite().then_some(v)
    }
}

/// Fraction of the budget spent finding the temperature scale (greedy proposals only).
const CALIBRATION: u64 = 32;
/// Acceptance probability of a typical worsening at the start.
const P0: f64 = 0.2;
/// The final temperature as a fraction of the first: the end of a run is a greedy descent.
const COOL: f64 = 1e-3;

/// Anneal from `start` for `budget` evaluations (the first one is the start's own), within `limits`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn anneal(
    d: &SearchData,
    grid: usize,
    start: &Start,
    limits: Limits,
    budget: u64,
    rng: &mut ChaCha8Rng,
    cancel: &AtomicBool,
    counters: &Counters,
    archive: &mut Archive,
) {
    let mut e = Evaluator::new(d, grid, start.in1.clone(), start.in2.clone(), start.out.clone());
    let origin = start.origin;
    counters.evaluations.fetch_add(1, Ordering::Relaxed);
    let Some(mut cur) = e.irregularity() else { return };
    archive.offer(e.sizes().2, cur, || e.pending_found(origin));
    counters.best(cur);
    let calibration = CALIBRATION.min(budget / 8);
    let (mut worse_sum, mut worse_n) = (0.0f64, 0u32);
    let mut temp = 0.0f64;
    let mut done = 1u64;
    let mut misses = 0u32;
    while done < budget && !cancel.load(Ordering::Relaxed) {
        let Some(mv) = draw(&e, limits, d.n_coord, d.n_comp, rng) else {
            misses += 1;
            if misses > 10_000 {
                break; // nothing can move within the limits
            }
            continue;
        };
        misses = 0;
        let n_out_after = match mv {
            Move::Outlier { add, remove } => e.sizes().2 + add.is_some() as usize - remove.is_some() as usize,
            _ => e.sizes().2,
        };
        let cand = e.propose(mv);
        done += 1;
        counters.evaluations.fetch_add(1, Ordering::Relaxed);
        let Some(cand) = cand else {
            e.reject();
            continue;
        };
        let delta = cand - cur;
        if done <= calibration && delta > 0.0 {
            worse_sum += delta;
            worse_n += 1;
        }
        if done == calibration.max(1) {
            // A typical worsening is accepted with probability P0 at first.
            temp = if worse_n > 0 { (worse_sum / worse_n as f64) / -P0.ln() } else { cur.abs() * 1e-3 };
        }
        let t = if done <= calibration {
            0.0
        } else {
            temp * COOL.powf((done - calibration) as f64 / (budget - calibration).max(1) as f64)
        };
        // A record at another outlier count is archived but not followed: the run stays near its ε level.
        let record = archive.improves(n_out_after, cand);
        if record {
            archive.offer(n_out_after, cand, || e.pending_found(origin));
            counters.best(cand);
        }
        let same_level = n_out_after == e.sizes().2;
        let take = delta <= 0.0 || (record && same_level) || (t > 0.0 && rng.random::<f64>() < (-delta / t).exp());
        if take {
            e.accept();
            cur = cand;
        } else {
            e.reject();
        }
    }
}
