//! The schedule of a run: jobs that each summarize one checkpoint at a time, and one writer thread.
//!
//! Jobs take the checkpoints in order. A job needs a permit for the column it is about to build; the writer
//! returns the permits of the columns it has written, so the columns in flight — being summarized, or finished
//! and waiting for the writer — stay within the memory model's count ([`memory::columns_in_flight`]). The writer
//! takes the finished columns as they come (several at once when they wait together), writes them into every
//! output and marks them filled (see [`write::write_columns`]). Columns finished before an error elsewhere are
//! still written, so a rerun need not compute them again. The first error stops the jobs and is returned.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use ccc_core::{Mode, Progress};

use super::duplicates::{column_hash, ColumnHash};
use super::outputs::Outputs;
use super::{job, memory, poisoned, write, RunOptions, RunPlan};
use crate::adapter::{self, AdapterCheckpoint, Member};
use crate::checkpoint::Checkpoint;
use crate::column::Column;
use crate::error::SummarizeError;
use crate::source::WeightSource;

/// A checkpoint summarized and written.
pub(super) struct Written {
    /// Its step.
    pub(super) step: i64,
    /// The hash of its column (see [`column_hash`]).
    pub(super) hash: ColumnHash,
    /// Its tensors with NaN or Inf values (only with `allow_nonfinite`).
    pub(super) nonfinite: Vec<String>,
    /// Weight bytes read.
    pub(super) bytes: u64,
}

/// A checkpoint summarized, on its way to the writer.
pub(super) struct Finished<'c> {
    pub(super) c: &'c dyn Checkpoint,
    pub(super) col: Column,
    bytes: u64,
    secs: f64,
}

/// Summarize `primary` (in order; the first one's source is already open) into `outputs`; returns what was
/// written, in the order it was.
pub(super) fn summarize_all(
    primary: &[&dyn Checkpoint],
    first_source: Box<dyn WeightSource>,
    run_plan: &RunPlan,
    opts: &RunOptions,
    outputs: &mut Outputs,
    progress: &dyn Progress,
) -> Result<Vec<Written>, SummarizeError> {
    if let Some(adapters) = merged_adapters(primary) {
        drop(first_source);
        return summarize_merged(&adapters, run_plan, opts, outputs, progress);
    }
    let plan = &run_plan.plan;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let per_job = memory::job_memory(plan, opts.chunk_bytes);
    let jobs = memory::job_count(opts.jobs, cores, primary.len(), per_job, opts.memory_budget);
    let permits =
        Permits::new(memory::columns_in_flight(jobs, per_job, memory::column_bytes(plan), opts.memory_budget));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_source = Mutex::new(Some(first_source));
    let error_slot: Mutex<Option<SummarizeError>> = Mutex::new(None);
    let hash_full = opts.outputs.iter().any(|o| o.mode == Mode::Full);
    let (tx, rx) = std::sync::mpsc::channel::<Finished>();
    let (next, failed, first_source, error, permits) = (&next, &failed, &first_source, &error_slot, &permits);

    let written = std::thread::scope(|scope| {
        let writer = scope.spawn(move || {
            let _stop = FailOnPanic(failed);
            let mut written = Vec::new();
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                batch.extend(rx.try_iter());
                if let Err(e) = write_batch(outputs, &batch, hash_full, progress, &mut written) {
                    set_error(error, failed, e);
                }
                let n = batch.len();
                drop(batch);
                permits.release(n);
            }
            written
        });
        for _ in 0..jobs {
            let tx = tx.clone();
            scope.spawn(move || loop {
                if failed.load(Ordering::Relaxed) || !permits.acquire(failed) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&c) = primary.get(i) else {
                    permits.release(1);
                    return;
                };
                let preopened = if i == 0 { first_source.lock().ok().and_then(|mut s| s.take()) } else { None };
                match job::summarize_one(c, preopened, run_plan, opts, progress) {
                    Ok((col, bytes, secs)) => {
                        if tx.send(Finished { c, col, bytes, secs }).is_err() {
                            permits.release(1);
                            return;
                        }
                    }
                    Err(e) => {
                        // The failure first, so that a job woken by the release sees it and stops.
                        set_error(error, failed, e);
                        permits.release(1);
                        return;
                    }
                }
            });
        }
        drop(tx);
        writer.join().map_err(|_| poisoned())
    })?;
    if let Some(e) = error_slot.into_inner().map_err(|_| poisoned())? {
        return Err(e);
    }
    Ok(written)
}

/// Write finished columns into every output and mark them filled (see [`write::write_columns`]); report each,
/// and record it in `written`. A checkpoint whose [`Checkpoint::done`] fails is written all the same; the first
/// such error is returned.
fn write_batch(
    outputs: &mut Outputs,
    batch: &[Finished],
    hash_full: bool,
    progress: &dyn Progress,
    written: &mut Vec<Written>,
) -> Result<(), SummarizeError> {
    // The hashes are computed once every file's values are written, while the disk syncs.
    let hashes = || -> Vec<ColumnHash> {
        batch.iter().map(|f| column_hash(if hash_full { &f.col.full } else { &f.col.compact })).collect()
    };
    let hashes = outputs.get().and_then(|outs| write::write_columns(outs, batch, hashes))?;
    let mut first_error = None;
    for (f, hash) in batch.iter().zip(hashes) {
        for t in &f.col.nonfinite {
            progress.warn(&format!("step {}: tensor `{t}` has NaN or Inf values", f.c.step()));
        }
        progress.message(&format!(
            "step {}: {} summarized ({:.1} MB in {:.2} s)",
            f.c.step(),
            f.c.label(),
            f.bytes as f64 / 1e6,
            f.secs
        ));
        if let Err(e) = f.c.done() {
            first_error.get_or_insert(e);
        }
        let (step, nonfinite, bytes) = (f.c.step(), f.col.nonfinite.clone(), f.bytes);
        written.push(Written { step, hash, nonfinite, bytes });
    }
    first_error.map_or(Ok(()), Err)
}

/// The adapters of `primary` if every one is a LoRA adapter merged into the same base.
fn merged_adapters<'c>(primary: &[&'c dyn Checkpoint]) -> Option<Vec<&'c AdapterCheckpoint>> {
    let adapters: Vec<&AdapterCheckpoint> = primary.iter().map(|c| c.merged_adapter()).collect::<Option<_>>()?;
    let base = adapters.first()?.merged_base()?;
    adapters.iter().all(|a| a.merged_base().is_some_and(|b| Arc::ptr_eq(b, base))).then_some(adapters)
}

/// Summarize adapters merged into one base in batches, each from one pass over the base (see
/// [`crate::adapter::summarize_batch`]): a batch takes adapters in order as long as the members' columns and
/// factors fit the memory budget (at least one), is summarized, then written before the next one starts.
fn summarize_merged(
    adapters: &[&AdapterCheckpoint],
    run_plan: &RunPlan,
    opts: &RunOptions,
    outputs: &mut Outputs,
    progress: &dyn Progress,
) -> Result<Vec<Written>, SummarizeError> {
    let plan = &run_plan.plan;
    let hash_full = opts.outputs.iter().any(|o| o.mode == Mode::Full);
    let per_sink = memory::sink_memory(plan);
    let mut written = Vec::new();
    let mut next = adapters.iter();
    let mut carried: Option<Member> = None;
    loop {
        let mut batch: Vec<Member> = carried.take().into_iter().collect();
        let mut held: u64 = batch.iter().map(|m| m.bytes(per_sink)).sum();
        for a in next.by_ref() {
            let m = a.member()?;
            let bytes = m.bytes(per_sink);
            if !batch.is_empty() && held + bytes > opts.memory_budget {
                carried = Some(m);
                break;
            }
            held += bytes;
            batch.push(m);
        }
        let Some(base) = batch.first().and_then(|m| m.checkpoint().merged_base()) else { break };
        let t0 = Instant::now();
        let cols = adapter::summarize_batch(base, &batch, plan, opts.summary, opts.allow_nonfinite, opts.chunk_bytes)?;
        let secs = t0.elapsed().as_secs_f64() / batch.len() as f64;
        let base_share = base.weight_bytes() / batch.len() as u64;
        let finished: Vec<Finished> = batch
            .iter()
            .zip(cols)
            .map(|(m, col)| {
                let c: &dyn Checkpoint = m.checkpoint();
                progress.advance(c.size_hint());
                Finished { c, col, bytes: m.adapter_bytes() + base_share, secs }
            })
            .collect();
        write_batch(outputs, &finished, hash_full, progress, &mut written)?;
    }
    Ok(written)
}

/// Record the first error, and tell every thread to stop.
fn set_error(slot: &Mutex<Option<SummarizeError>>, failed: &AtomicBool, e: SummarizeError) {
    failed.store(true, Ordering::Relaxed);
    if let Ok(mut s) = slot.lock() {
        if s.is_none() {
            *s = Some(e);
        }
    }
}

/// Sets the flag when the thread holding it panics, so that threads waiting on that thread's work stop.
struct FailOnPanic<'a>(&'a AtomicBool);

impl Drop for FailOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// Counts the columns in flight (being summarized or waiting to be written), so that memory stays within the
/// budget while the writer syncs.
struct Permits {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Permits {
    fn new(n: usize) -> Self {
        Permits { free: Mutex::new(n.max(1)), freed: Condvar::new() }
    }

    /// Take one, waiting for one to be released; `false` once `failed` is set (or the lock is poisoned).
    fn acquire(&self, failed: &AtomicBool) -> bool {
        let Ok(mut free) = self.free.lock() else { return false };
        loop {
            if failed.load(Ordering::Relaxed) {
                return false;
            }
            if *free > 0 {
                *free -= 1;
                return true;
            }
            // A timeout, so that a failure set elsewhere is seen even if nothing is released.
            match self.freed.wait_timeout(free, Duration::from_millis(50)) {
                Ok((g, _)) => free = g,
                Err(_) => return false,
            }
        }
    }

    fn release(&self, n: usize) {
        if let Ok(mut free) = self.free.lock() {
            *free += n;
        }
        self.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Permits are shared out up to their number; a release wakes a waiting thread; a failure stops the waiting.
    #[test]
    fn permits_bound_the_columns_in_flight() {
        let permits = Permits::new(2);
        let failed = AtomicBool::new(false);
        assert!(permits.acquire(&failed) && permits.acquire(&failed));
        std::thread::scope(|s| {
            let waiter = s.spawn(|| permits.acquire(&failed));
            std::thread::sleep(Duration::from_millis(20));
            permits.release(1);
            assert!(waiter.join().unwrap(), "a release lets a waiting job go on");
            let stopped = s.spawn(|| permits.acquire(&failed));
            std::thread::sleep(Duration::from_millis(20));
            failed.store(true, Ordering::Relaxed);
            assert!(!stopped.join().unwrap(), "a failure ends the wait");
        });
        assert_eq!(*permits.free.lock().unwrap(), 0);
    }
}
