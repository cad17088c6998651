//! Wall times of the analysis phases and clusterer families (`phase_times_s` of `summary.json`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// Wall times of the phases and clusterer families (seconds), summed over tasks.
#[derive(Debug, Default)]
pub(crate) struct Times(Mutex<BTreeMap<String, f64>>);

impl Times {
    /// Add `secs` to the phase `key`.
    pub(crate) fn add(&self, key: &str, secs: f64) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(key.to_string()).or_insert(0.0) += secs;
        }
    }

    /// The summed times, by phase.
    pub(crate) fn into_map(self) -> BTreeMap<String, f64> {
        self.0.into_inner().unwrap_or_default()
    }
}

/// Run `f`, returning its value and its wall time in seconds.
pub(crate) fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t0 = Instant::now();
    let v = f();
    (v, t0.elapsed().as_secs_f64())
}
