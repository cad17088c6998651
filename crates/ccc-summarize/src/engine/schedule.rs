//! The schedule of a run: jobs that each summarize one checkpoint at a time, and one writer thread.
//!
//! Jobs take the checkpoints in order. A job needs a permit for the column it is about to build; the writer
//! returns the permits of the columns it has written, so the columns in flight — being summarized, or finished
//! and waiting for the writer — stay within the memory model's count ([`memory::columns_in_flight`]). The writer
//! takes the finished columns as they come (several at once when they wait together), writes them into every
//! output and marks them filled (see [`write::write_columns`]). Columns finished before an error elsewhere are
//! still written, so a rerun need not compute them again. The first error stops the jobs and is returned.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use ccc_core::{Mode, Progress};

use super::duplicates::{column_hash, ColumnHash};
use super::outputs::Outputs;
use super::{job, memory, poisoned, write, RunOptions, RunPlan};
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
                // The hashes are computed once every file's values are written, while the disk syncs.
                let hashes = || -> Vec<ColumnHash> {
                    batch.iter().map(|f| column_hash(if hash_full { &f.col.full } else { &f.col.compact })).collect()
                };
                match outputs.get().and_then(|outs| write::write_columns(outs, &batch, hashes)) {
                    Ok(hashes) => {
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
                                set_error(error, failed, e);
                            }
                            let (step, nonfinite, bytes) = (f.c.step(), f.col.nonfinite.clone(), f.bytes);
                            written.push(Written { step, hash, nonfinite, bytes });
                        }
                    }
                    Err(e) => set_error(error, failed, e),
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
