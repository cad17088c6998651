//! Progress reporting from library code, which never prints: the caller (the CLI) decides how to show it.

/// Receives progress from long-running library functions. All methods have no-op defaults.
pub trait Progress: Sync {
    /// A new phase begins with `total` units (checkpoints, bytes, experiments…) named `unit`.
    fn start(&self, _phase: &str, _total: u64, _unit: &str) {}
    /// `n` more units are done in the current phase.
    fn advance(&self, _n: u64) {}
    /// A message for the log (e.g. "step 1000: summarized in 1.2 s").
    fn message(&self, _msg: &str) {}
    /// A short status shown next to the current phase's progress (e.g. the best score so far); replaces the last.
    fn status(&self, _text: &str) {}
    /// A warning the user should see even in quiet mode (e.g. duplicate checkpoints).
    fn warn(&self, _msg: &str) {}
    /// The current phase is over.
    fn finish(&self) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Progress that records warnings and messages (for tests).
#[derive(Debug, Default)]
pub struct RecordingProgress {
    /// Warnings received.
    pub warnings: std::sync::Mutex<Vec<String>>,
    /// Messages received.
    pub messages: std::sync::Mutex<Vec<String>>,
}

impl Progress for RecordingProgress {
    fn message(&self, msg: &str) {
        if let Ok(mut m) = self.messages.lock() {
            m.push(msg.to_string());
        }
    }
    fn warn(&self, msg: &str) {
        if let Ok(mut w) = self.warnings.lock() {
            w.push(msg.to_string());
        }
    }
}
