//! [`follow`]: watch a run directory and add each checkpoint once it is complete.
//!
//! Changes in the directory are noticed through the platform's file notifications (inotify on Linux, by the
//! `notify` crate), and the directory is also looked at every `poll` interval, so a filesystem without
//! notifications (NFS, some containers) is followed too. A checkpoint is added once [`complete::look`] finds it
//! whole twice, `settle` apart, with nothing changed in between.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::{Duration, Instant};

use ccc_core::Progress;
use ccc_summarize::local::parse_step;
use notify::{RecursiveMode, Watcher};

use crate::complete::{self, Fingerprint, Look};
use crate::error::LiveError;
use crate::live::{Live, Update};

/// How a run directory is followed.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Look at the directory at least this often (the only way to see changes without notifications).
    pub poll: Duration,
    /// How long a whole checkpoint must stay unchanged before it is added.
    pub settle: Duration,
    /// Stop after this long without a new checkpoint.
    pub idle_exit: Option<Duration>,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions { poll: Duration::from_secs(1), settle: Duration::from_millis(200), idle_exit: None }
    }
}

/// What happened while following.
#[derive(Debug)]
pub enum Event<'a> {
    /// File notifications are not available: the directory is polled.
    Polling(String),
    /// A checkpoint was added to the tensor.
    Added {
        /// Its step.
        step: i64,
        /// Its directory.
        dir: &'a Path,
        /// Seconds it took.
        seconds: f64,
    },
    /// A checkpoint could not be added (it is skipped from then on).
    Skipped {
        /// Its step.
        step: i64,
        /// Its directory.
        dir: &'a Path,
        /// Why.
        error: &'a LiveError,
    },
    /// The tensor was analyzed.
    Analyzed(&'a Update),
    /// The analysis failed (following goes on).
    AnalysisFailed(&'a LiveError),
}

/// Why following ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// No new checkpoint for the `idle_exit` time.
    Idle,
    /// `stop` was set (Ctrl-C).
    Interrupted,
}

/// The step directories of `run_dir` not yet done, by step.
fn candidates(run_dir: &Path, done: &BTreeSet<i64>) -> Result<Vec<(i64, PathBuf)>, LiveError> {
    let rd = std::fs::read_dir(run_dir)
        .map_err(|e| LiveError::RunDir { path: run_dir.to_path_buf(), reason: e.to_string() })?;
    let mut out: Vec<(i64, PathBuf)> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if complete::is_temporary(&name) {
                return None;
            }
            parse_step(&name).filter(|s| !done.contains(s)).map(|s| (s, e.path()))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Follow `run_dir`: add every complete checkpoint not in the tensor yet (in step order), analyze when due, and
/// report each event to `on`, until `stop` is set or the run has been idle for `idle_exit`.
pub fn follow(
    run_dir: &Path,
    live: &mut Live,
    opts: &FollowOptions,
    stop: &AtomicBool,
    progress: &dyn Progress,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<Stop, LiveError> {
    if !run_dir.is_dir() {
        return Err(LiveError::RunDir { path: run_dir.to_path_buf(), reason: "not a directory".into() });
    }
    let (tx, rx) = channel();
    // Kept alive for the whole loop; without it, the poll interval alone finds the changes.
    let _watcher = match notify::recommended_watcher(move |ev| {
        let _ = tx.send(ev);
    })
    .and_then(|mut w| w.watch(run_dir, RecursiveMode::Recursive).map(|()| w))
    {
        Ok(w) => Some(w),
        Err(e) => {
            on(Event::Polling(format!("no file notifications ({e}); looking every {:.1} s", opts.poll.as_secs_f64())));
            None
        }
    };
    let mut done: BTreeSet<i64> = live.filled_steps()?.into_iter().collect();
    // Whole checkpoints seen, with when they were first seen unchanged.
    let mut seen: HashMap<PathBuf, (Fingerprint, Instant)> = HashMap::new();
    let mut last_new = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(Stop::Interrupted);
        }
        let mut settling = false;
        for (step, dir) in candidates(run_dir, &done)? {
            if stop.load(Ordering::SeqCst) {
                return Ok(Stop::Interrupted);
            }
            match complete::look(&dir) {
                Look::Whole(print)
                    if seen.get(&dir).is_some_and(|(p, since)| *p == print && since.elapsed() >= opts.settle) =>
                {
                    seen.remove(&dir);
                    done.insert(step);
                    last_new = Instant::now();
                    match live.add(&dir, step, progress) {
                        Ok(seconds) => on(Event::Added { step, dir: &dir, seconds }),
                        Err(error) => {
                            on(Event::Skipped { step, dir: &dir, error: &error });
                            continue;
                        }
                    }
                    if live.analysis_due() {
                        match live.analyze(progress) {
                            Ok(u) => on(Event::Analyzed(&u)),
                            Err(e) => on(Event::AnalysisFailed(&e)),
                        }
                    }
                }
                Look::Whole(print) => {
                    if seen.get(&dir).is_none_or(|(p, _)| *p != print) {
                        seen.insert(dir, (print, Instant::now()));
                    }
                    settling = true;
                }
                Look::Incomplete(_) => {
                    seen.remove(&dir);
                }
            }
        }
        if let Some(idle) = opts.idle_exit {
            if !settling && seen.is_empty() && last_new.elapsed() >= idle {
                return Ok(Stop::Idle);
            }
        }
        let mut wait = if settling { opts.settle } else { opts.poll };
        if let Some(idle) = opts.idle_exit {
            wait = wait.min(idle.saturating_sub(last_new.elapsed()).max(Duration::from_millis(10)));
        }
        match rx.recv_timeout(wait) {
            // Something changed: drain what else arrived, then look (a burst of writes is one look).
            Ok(_) => while rx.try_recv().is_ok() {},
            Err(RecvTimeoutError::Timeout) => {}
            // No watcher: the poll interval alone.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(wait),
        }
    }
}
