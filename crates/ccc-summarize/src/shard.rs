//! Splitting a run's checkpoints into N deterministic, size-balanced shards (`--shard i/N`), e.g. for the jobs
//! of a cluster array; the shards' output files are combined with `ccc merge`.

use std::fmt;
use std::str::FromStr;

use crate::error::SummarizeError;

/// One shard of N: `index` in `1..=count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    /// Which shard (1-based).
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl FromStr for ShardSpec {
    type Err = SummarizeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            SummarizeError::InvalidOption(format!(
                "bad shard `{s}`: expected i/N with 1 ≤ i ≤ N, e.g. `--shard 2/4` for the second of four shards"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(ShardSpec { index, count })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The items of shard `spec`, in their original order.
///
/// Deterministic for a given list: items are dealt largest first (ties by position) to the shard with the
/// smallest total so far (ties to the lowest shard), so shards get about equal bytes. Unknown sizes (0) count
/// as 1. Every item lands in exactly one shard.
pub fn shard<T>(items: Vec<T>, size: impl Fn(&T) -> u64, spec: ShardSpec) -> Vec<T> {
    let sizes: Vec<u64> = items.iter().map(|t| size(t).max(1)).collect();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let mut load = vec![0u64; spec.count];
    let mut owner = vec![0usize; items.len()];
    for i in order {
        let (s, _) = load.iter().enumerate().min_by_key(|(j, l)| (**l, *j)).unwrap_or((0, &0));
        load[s] = load[s].saturating_add(sizes[i]);
        owner[i] = s;
    }
    items.into_iter().zip(owner).filter(|(_, o)| *o + 1 == spec.index).map(|(t, _)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!("2/4".parse::<ShardSpec>().unwrap(), ShardSpec { index: 2, count: 4 });
        for bad in ["0/4", "5/4", "1/0", "x", "1/", "/2"] {
            assert!(bad.parse::<ShardSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn partitions_and_balances() {
        let items: Vec<u64> = (0..23).map(|i| 100 + (i * 37) % 50).collect();
        let n = 4;
        let mut all = Vec::new();
        let mut totals = Vec::new();
        for i in 1..=n {
            let s = shard(items.clone(), |&x| x, ShardSpec { index: i, count: n });
            totals.push(s.iter().sum::<u64>());
            all.extend(s);
        }
        all.sort();
        let mut want = items.clone();
        want.sort();
        assert_eq!(all, want);
        let (lo, hi) = (totals.iter().min().unwrap(), totals.iter().max().unwrap());
        assert!(hi - lo <= 150, "{totals:?}");
        assert_eq!(
            shard(items.clone(), |&x| x, ShardSpec { index: 3, count: 4 }),
            shard(items, |&x| x, ShardSpec { index: 3, count: 4 })
        );
    }
}
