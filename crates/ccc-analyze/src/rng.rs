//! The one seeded generator of an analysis and its random streams (docs/analysis.md §9).
//!
//! Every random task draws from its own stream of the seed, so results do not depend on the order in which
//! parallel tasks run, nor on which other tasks run (a pipeline run alone draws what it draws in a full run).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::pipeline::{Clusterer, CoordFolding};

/// A random task of the analysis; each has its own stream of the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// The random component groupings (`comps_grps:random`).
    RandomGroups,
    /// A clustering of the coordinate folding, per family and clusterer.
    CoordClustering(CoordFolding, Clusterer),
    /// The component biclustering (a fixed seed in the reference: every component matrix starts afresh).
    CompBiclustering,
    /// `spectral_2x2` (a fixed seed in the reference).
    Spectral2x2,
    /// `MAD-union-lincomb` of experiment `i` (numbered before sorting).
    Lincomb(u64),
    /// `ccc search`: the random start points (the same for the real tensor and every null).
    SearchStarts,
    /// `ccc search`: the coordinate permutations of null tensor `i`.
    NullTensor(u64),
    /// `ccc search`: random grouping `j` of the percentiles.
    RandomGrouping(u64),
    /// `ccc search`: run `run` of round `round` on tensor `tensor` (0 the real one, `i + 1` null `i`).
    SearchRun { tensor: u64, round: u64, run: u64 },
    /// The trajectory clustering with `k` clusters (`0`: the silhouette sample).
    TrajectoryClusters(u64),
}

impl Stream {
    /// The stream id. These numbers fix every random result of an analysis: changing one changes outputs.
    fn id(self) -> u64 {
        match self {
            Stream::RandomGroups => 1,
            Stream::CoordClustering(family, clusterer) => {
                let family = match family {
                    CoordFolding::First => 0,
                    CoordFolding::Second => 1,
                };
                let clusterer = match clusterer {
                    Clusterer::SpCo => 0,
                    Clusterer::Agg => 1,
                    Clusterer::SpBiLog => 2,
                    Clusterer::SpBiBistoch => 3,
                };
                10 + 4 * family + clusterer
            }
            Stream::CompBiclustering => 30,
            Stream::Spectral2x2 => 31,
            Stream::Lincomb(i) => 1000 + i,
            // The search's streams sit far above the analysis's (1000 + experiment position).
            Stream::SearchStarts => 1 << 40,
            Stream::NullTensor(i) => (1 << 41) + i,
            Stream::RandomGrouping(j) => (1 << 42) + j,
            Stream::SearchRun { tensor, round, run } => (1 << 43) + (tensor << 28) + (round << 24) + run,
            // Far above any experiment count, so never a `Lincomb` stream.
            Stream::TrajectoryClusters(k) => 1_000_000_000 + k,
        }
    }
}

/// The generator of one random stream of `seed`.
pub(crate) fn rng_for(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream.id());
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_are_the_published_ones_and_distinct() {
        // The ids the results of every earlier version were drawn with.
        assert_eq!(Stream::RandomGroups.id(), 1);
        assert_eq!(Stream::CoordClustering(CoordFolding::First, Clusterer::SpCo).id(), 10);
        assert_eq!(Stream::CoordClustering(CoordFolding::Second, Clusterer::SpBiBistoch).id(), 17);
        assert_eq!(Stream::CompBiclustering.id(), 30);
        assert_eq!(Stream::Spectral2x2.id(), 31);
        assert_eq!(Stream::Lincomb(5).id(), 1005);
        let mut ids = vec![Stream::RandomGroups.id(), Stream::CompBiclustering.id(), Stream::Spectral2x2.id()];
        for f in [CoordFolding::First, CoordFolding::Second] {
            for c in Clusterer::ALL {
                ids.push(Stream::CoordClustering(f, c).id());
            }
        }
        ids.extend((0..400).map(|i| Stream::Lincomb(i).id()));
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
