//! One job: a checkpoint opened, checked against the run's plan and summarized into its column — again, from a
//! fresh start, as long as the checkpoint asks for it after a failure.

use std::time::Instant;

use ccc_core::{Progress, Summary};

use super::memory::AHEAD_BYTES;
use super::{context, RunOptions, RunPlan};
use crate::checkpoint::Checkpoint;
use crate::column::{Column, ColumnSink};
use crate::error::SummarizeError;
use crate::plan::Plan;
use crate::source::WeightSource;

/// Summarize one opened checkpoint into its column (both modes), reading `chunk_bytes` at a time; `progress`
/// (if any) is advanced by the bytes read. The result depends neither on the chunk size nor on how the source
/// delivers its bytes (a file, a download, any buffer size).
pub fn summarize_source(
    source: &mut dyn WeightSource,
    plan: &Plan,
    summary: Summary,
    allow_nonfinite: bool,
    chunk_bytes: usize,
    progress: Option<&dyn Progress>,
) -> Result<Column, SummarizeError> {
    if let Some(col) = source.column(plan, summary) {
        let col = col?;
        if let Some(p) = progress {
            p.advance(col.bytes);
        }
        return Ok(col);
    }
    let label = source.describe();
    // Inside the pool, so the thread that drives the source is a worker: it runs blocks while it waits for
    // them, and the blocks it hands over run while it combines earlier ones (in FIFO order, oldest first).
    rayon::scope_fifo(|scope| {
        let mut sink = ColumnSink::new(plan, summary, allow_nonfinite, label, progress).in_scope(scope, AHEAD_BYTES);
        source.stream(&mut sink, chunk_bytes.max(1))?;
        sink.finish()
    })
}

/// Summarize one checkpoint, again (from a fresh sink) as long as the checkpoint asks for it after a failure
/// (see [`Checkpoint::retry_after`]); returns its column, bytes and seconds.
pub(super) fn summarize_one(
    c: &dyn Checkpoint,
    mut preopened: Option<Box<dyn WeightSource>>,
    plan: &RunPlan,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<(Column, u64, f64), SummarizeError> {
    let mut attempt = 0;
    loop {
        match summarize_once(c, preopened.take(), plan, opts, progress) {
            Err(e) if c.retry_after(&e, attempt + 1) => {
                attempt += 1;
                progress.warn(&format!("step {}: {e}; summarizing it again", c.step()));
            }
            r => return r,
        }
    }
}

/// Open (unless given), check and summarize one checkpoint once.
fn summarize_once(
    c: &dyn Checkpoint,
    preopened: Option<Box<dyn WeightSource>>,
    run_plan: &RunPlan,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<(Column, u64, f64), SummarizeError> {
    let t0 = Instant::now();
    let plan = &run_plan.plan;
    let own_plan;
    let (mut source, used) = match preopened {
        Some(s) => (s, plan),
        None => {
            let config = c.config()?;
            let s = c.open()?;
            // The same config and tensors give the same plan (see `Checkpoint::plan`): a run of checkpoints of
            // one model (100 adapters of one base) does not build its plan again per checkpoint.
            if run_plan.fits(&config, s.tensors()) {
                let bytes = s.total_bytes();
                let mut s = s;
                let col = summarize_source(
                    s.as_mut(),
                    plan,
                    opts.summary,
                    opts.allow_nonfinite,
                    opts.chunk_bytes,
                    Some(progress),
                )?;
                progress.advance(c.size_hint().saturating_sub(col.bytes));
                return Ok((col, bytes, t0.elapsed().as_secs_f64()));
            }
            // Each checkpoint gets its own plan (tensor names may differ, e.g. `embed_out` vs `lm_head`), which
            // must give the same components as the run's.
            own_plan = c.plan(&config, s.tensors(), opts.mapping.as_ref(), opts.norms).map_err(|e| context(c, e))?;
            if !own_plan.same_layout(plan) {
                return Err(SummarizeError::Shape(format!(
                    "{}: this checkpoint's components differ from the first one's ({} vs {} components, \
                     architecture `{}` vs `{}`); summarize it into another file",
                    c.label(),
                    own_plan.components.len(),
                    plan.components.len(),
                    own_plan.architecture,
                    plan.architecture
                )));
            }
            (s, &own_plan)
        }
    };
    let bytes = source.total_bytes();
    let col =
        summarize_source(source.as_mut(), used, opts.summary, opts.allow_nonfinite, opts.chunk_bytes, Some(progress))?;
    progress.advance(c.size_hint().saturating_sub(col.bytes));
    Ok((col, bytes, t0.elapsed().as_secs_f64()))
}
