//! A resumable analysis (docs/analysis.md §13): one run done as `N` parts in sequence — the shards of
//! [`crate::shard`] — each kept in a state directory as soon as it is finished (`part-NNNN/partial.json`, written
//! atomically), then merged. Run again after a kill, it keeps the finished parts and computes only the others;
//! the result is the one a single run gives (the merge of all shards is, byte for byte).

use std::path::Path;

use crate::analysis::{Analysis, AnalyzeOptions, Reading};
use crate::error::AnalyzeError;
use crate::files::{AnalysisFile, PartialFile};
use crate::shard::{analyze_shard, merge, options_record, Shard};
use crate::view::MappedTensor;

/// Analyze `view` in `parts` resumable parts kept under `state_dir` (created if missing); finished parts of an
/// earlier run of the same analysis (same input shape and steps, same options, same number of parts) are kept.
///
/// The caller removes `state_dir` once it has written the analysis.
pub fn analyze_resumable(
    view: &MappedTensor,
    opts: &AnalyzeOptions,
    reading: &Reading,
    parts: usize,
    state_dir: &Path,
    progress: &dyn ccc_core::Progress,
) -> Result<Analysis, AnalyzeError> {
    let want = options_record(opts);
    let mut done = Vec::with_capacity(parts);
    for i in 1..=parts {
        let shard = Shard::new(i, parts)?;
        let dir = state_dir.join(format!("part-{i:04}"));
        let kept = PartialFile::read_file(&PartialFile::path_in(&dir)).ok().filter(|p| {
            p.shard.index == i
                && p.shard.count == parts
                && p.options == want
                && p.input.shape == view.shape()
                && p.input.steps == view.steps()
        });
        if let Some(p) = kept {
            progress.message(&format!("part {shard}: kept from an earlier run ({} pipelines)", p.pipelines.len()));
            done.push(p);
            continue;
        }
        progress.message(&format!("part {shard}: running"));
        let p = analyze_shard(view, opts, reading, shard, progress)?;
        std::fs::create_dir_all(&dir)
            .map_err(|e| AnalyzeError::Output(format!("cannot create `{}`: {e}", dir.display())))?;
        p.write(&dir)?;
        progress.message(&format!("part {shard}: done ({} pipelines)", p.pipelines.len()));
        done.push(p);
    }
    merge(&done)
}
