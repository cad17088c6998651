//! Long calls: the work runs on its own thread while the caller's thread, without the GIL, waits for it,
//! forwards its progress to Python and checks for Ctrl-C.
//!
//! A panic in the work ends its thread and comes back here as a `RuntimeError`: it never unwinds across the FFI
//! boundary. Ctrl-C raises `KeyboardInterrupt` at once; the work itself (which the libraries do not interrupt)
//! then finishes in the background and its result is dropped. Every file ccc writes stays valid: outputs are
//! written atomically, and a checkpoint of the tensor is marked filled only once its values are on disk.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ccc_core::Progress;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// How often the waiting thread looks for Ctrl-C when no progress arrives.
const POLL: Duration = Duration::from_millis(50);

/// One progress report of the work.
enum Event {
    Start(String, u64, String),
    Advance(u64),
    Message(String),
    Warn(String),
    Finish,
}

/// The [`Progress`] the work reports to: events sent to the waiting thread.
struct ChannelProgress(Mutex<Sender<Event>>);

impl ChannelProgress {
    fn send(&self, e: Event) {
        // The receiver is gone only after Ctrl-C, when nobody listens any more.
        if let Ok(tx) = self.0.lock() {
            let _ = tx.send(e);
        }
    }
}

impl Progress for ChannelProgress {
    fn start(&self, phase: &str, total: u64, unit: &str) {
        self.send(Event::Start(phase.into(), total, unit.into()));
    }
    fn advance(&self, n: u64) {
        self.send(Event::Advance(n));
    }
    fn message(&self, msg: &str) {
        self.send(Event::Message(msg.into()));
    }
    fn warn(&self, msg: &str) {
        self.send(Event::Warn(msg.into()));
    }
    fn finish(&self) {
        self.send(Event::Finish);
    }
}

/// Hand one event to the Python callback `progress(event, *args)`.
fn forward(py: Python<'_>, progress: Option<&Bound<'_, PyAny>>, e: Event) -> PyResult<()> {
    let Some(cb) = progress else { return Ok(()) };
    match e {
        Event::Start(phase, total, unit) => cb.call1(("start", phase, total, unit))?,
        Event::Advance(n) => cb.call1(("advance", n))?,
        Event::Message(m) => cb.call1(("message", m))?,
        Event::Warn(m) => cb.call1(("warn", m))?,
        Event::Finish => cb.call1(("finish",))?,
    };
    let _ = py;
    Ok(())
}

/// Run `work` on its own thread (see the module docs) and return its result.
pub fn run<T, F>(py: Python<'_>, progress: Option<&Bound<'_, PyAny>>, work: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn Progress) -> PyResult<T> + Send + 'static,
{
    run_with_cancel(py, progress, None, work)
}

/// As [`run`], for work that can stop early: Ctrl-C sets `cancel`, waits for the work to finish what it keeps
/// (e.g. write the best result so far), then raises `KeyboardInterrupt`.
pub fn run_cancellable<T, F>(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    cancel: Arc<AtomicBool>,
    work: F,
) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn Progress) -> PyResult<T> + Send + 'static,
{
    run_with_cancel(py, progress, Some(cancel), work)
}

fn run_with_cancel<T, F>(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    cancel: Option<Arc<AtomicBool>>,
    work: F,
) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn Progress) -> PyResult<T> + Send + 'static,
{
    let (tx, rx) = channel();
    let handle = std::thread::Builder::new()
        .name("ccc-work".into())
        .spawn(move || work(&ChannelProgress(Mutex::new(tx))))
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start a thread: {e}")))?;
    // `detach` needs what the closure touches to be shareable; only this thread ever locks it.
    let rx = Mutex::new(rx);
    loop {
        let next = py.detach(|| match rx.lock() {
            Ok(r) => r.recv_timeout(POLL),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        });
        match next {
            Ok(e) => forward(py, progress, e)?,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if let Err(interrupt) = py.check_signals() {
            if let Some(flag) = &cancel {
                flag.store(true, Ordering::Relaxed);
                // The work notices the flag within one step and returns; its result is dropped.
                let _ = py.detach(|| handle.join());
            }
            return Err(interrupt);
        }
    }
    match py.detach(|| handle.join()) {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(PyRuntimeError::new_err(format!("internal error in ccc (please report it): {what}")))
        }
    }
}
