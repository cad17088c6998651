//! Training logs (docs/timeline.md §5): Hugging Face `trainer_state.json`, JSON lines and CSV with a `step` column
//! (W&B and TensorBoard exports), JSON records with a `step` key; and the events read from them (warmup end,
//! learning-rate decay start, loss spikes).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// What can go wrong reading a training log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainLogError {
    /// The file or directory cannot be read.
    #[error("cannot read the training log `{}`: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A run directory without a `trainer_state.json`.
    #[error(
        "no training log in `{}`: expected `trainer_state.json` there or in a `checkpoint-N/` below it (give the \
         file with `--train-log FILE`)",
        path.display()
    )]
    NotFound {
        /// The directory.
        path: PathBuf,
    },
    /// The file does not parse, or has no step column.
    #[error("the training log `{}` {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The log's steps and the tensor's do not overlap.
    #[error(
        "the training log `{}` covers steps {log_first}..={log_last}, which do not overlap the tensor's \
         {first}..={last}: is it the log of this run?",
        path.display()
    )]
    NoOverlap {
        /// The file.
        path: PathBuf,
        /// The log's first and last steps.
        log_first: i64,
        /// The log's last step.
        log_last: i64,
        /// The tensor's first step.
        first: i64,
        /// The tensor's last step.
        last: i64,
    },
}

/// A training log: the logged steps (ascending, distinct) and a series per logged quantity, `None` where the
/// quantity was not logged at that step (e.g. `eval_loss` between evaluations).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainLog {
    /// Where the log was read from.
    pub source: PathBuf,
    /// Logged steps.
    pub steps: Vec<i64>,
    /// Series by name; the standard names are `loss`, `learning_rate`, `grad_norm`, `eval_loss`.
    pub series: BTreeMap<String, Vec<Option<f64>>>,
}

/// Names under which the standard quantities appear in the logs we read (HF, W&B, TensorBoard, hand-made).
const ALIASES: [(&str, &[&str]); 4] = [
    ("loss", &["loss", "train_loss", "train/loss", "training_loss", "train/train_loss"]),
    ("learning_rate", &["learning_rate", "lr", "train/learning_rate", "lr_next", "train/lr"]),
    ("grad_norm", &["grad_norm", "train/grad_norm", "gradient_norm"]),
    ("eval_loss", &["eval_loss", "val_loss", "eval/loss", "validation_loss", "valid_loss"]),
];

/// Keys that hold the step, in order of preference.
const STEP_KEYS: [&str; 5] = ["step", "global_step", "trainer/global_step", "_step", "Step"];

/// The standard name of a logged key (its alias), or the key itself.
fn standard_name(key: &str) -> String {
    ALIASES.iter().find(|(_, names)| names.contains(&key)).map_or_else(|| key.to_string(), |(n, _)| n.to_string())
}

/// Rows of `(step, key → value)` merged into a [`TrainLog`]: several rows of one step merge (HF writes train and
/// eval entries separately); a later value of the same key wins.
fn from_rows(source: &Path, rows: Vec<(i64, Vec<(String, f64)>)>) -> Result<TrainLog, TrainLogError> {
    let mut by_step: BTreeMap<i64, BTreeMap<String, f64>> = BTreeMap::new();
    for (step, vals) in rows {
        let e = by_step.entry(step).or_default();
        for (k, v) in vals {
            if v.is_finite() {
                e.insert(standard_name(&k), v);
            }
        }
    }
    if by_step.is_empty() {
        return Err(TrainLogError::Invalid { path: source.to_path_buf(), message: "has no logged step".into() });
    }
    let steps: Vec<i64> = by_step.keys().copied().collect();
    let mut series: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    for (i, vals) in by_step.values().enumerate() {
        for (k, &v) in vals {
            series.entry(k.clone()).or_insert_with(|| vec![None; steps.len()])[i] = Some(v);
        }
    }
    // The step key itself and bookkeeping columns are not series.
    for k in STEP_KEYS.iter().chain(&["epoch", "_runtime", "_timestamp", "Wall time", "wall_s", "tokens"]) {
        series.remove(*k);
    }
    Ok(TrainLog { source: source.to_path_buf(), steps, series })
}

/// The step of a record: an integer, or a float with an integral value (`100.0`).
fn step_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
        }
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The numeric fields of a JSON record and its step (`None`: the record has no step).
fn record(obj: &serde_json::Map<String, Value>) -> Option<(i64, Vec<(String, f64)>)> {
    let step = STEP_KEYS.iter().find_map(|k| obj.get(*k).and_then(step_of))?;
    let vals = obj.iter().filter_map(|(k, v)| v.as_f64().map(|f| (k.clone(), f))).collect();
    Some((step, vals))
}

fn invalid(path: &Path, message: impl Into<String>) -> TrainLogError {
    TrainLogError::Invalid { path: path.to_path_buf(), message: message.into() }
}

/// Records (objects) to rows; a record without a step is an error naming it.
fn records(path: &Path, items: &[Value], what: &str) -> Result<TrainLog, TrainLogError> {
    let mut rows = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let Some(obj) = it.as_object() else {
            return Err(invalid(path, format!("has a non-object entry at `{what}[{i}]`")));
        };
        match record(obj) {
            Some(r) => rows.push(r),
            None => {
                return Err(invalid(
                    path,
                    format!("has no `step` in `{what}[{i}]` (a step column is required: one of {STEP_KEYS:?})"),
                ))
            }
        }
    }
    from_rows(path, rows)
}

/// Parse a JSON log: HF `trainer_state.json` (`log_history`), an array of records, or an object holding one array
/// of records with steps (e.g. `{"checkpoints": [{"step": …, "train_loss": …}]}`).
fn parse_json(path: &Path, text: &str) -> Result<TrainLog, TrainLogError> {
    let v: Value = serde_json::from_str(text).map_err(|e| invalid(path, format!("is not valid JSON: {e}")))?;
    match &v {
        Value::Array(items) => records(path, items, ""),
        Value::Object(obj) => {
            if let Some(h) = obj.get("log_history") {
                let items = h.as_array().ok_or_else(|| invalid(path, "has a `log_history` that is not a list"))?;
                // HF logs a last summary entry (`train_runtime`, …) with the step too: it is kept, its numbers
                // land in their own series.
                return records(path, items, "log_history");
            }
            let found = obj.iter().find(|(_, v)| {
                v.as_array().is_some_and(|a| a.first().and_then(Value::as_object).is_some_and(|o| record(o).is_some()))
            });
            match found {
                Some((k, Value::Array(items))) => records(path, items, k),
                _ => Err(invalid(
                    path,
                    "holds no list of records with a `step` (expected HF `trainer_state.json` with `log_history`, \
                     or records such as `[{\"step\": 100, \"loss\": 2.3}]`)",
                )),
            }
        }
        _ => Err(invalid(path, "is neither a JSON object nor a list of records")),
    }
}

/// Parse JSON lines: one record per line; blank lines are skipped.
fn parse_jsonl(path: &Path, text: &str) -> Result<TrainLog, TrainLogError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(line).map_err(|e| invalid(path, format!("line {}: not valid JSON: {e}", i + 1)))?;
        let obj = v.as_object().ok_or_else(|| invalid(path, format!("line {}: not a JSON object", i + 1)))?;
        rows.push(record(obj).ok_or_else(|| {
            invalid(path, format!("line {}: no `step` (a step column is required: one of {STEP_KEYS:?})", i + 1))
        })?);
    }
    from_rows(path, rows)
}

/// Parse CSV with a header; the step column is found by name (case-insensitive `step`, `global_step`, `_step`).
/// A TensorBoard export (`Wall time,Step,Value`) names its one series after the file.
fn parse_csv(path: &Path, text: &str) -> Result<TrainLog, TrainLogError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| invalid(path, format!("has no CSV header: {e}")))?.clone();
    let step_col =
        headers.iter().position(|h| STEP_KEYS.iter().any(|k| k.eq_ignore_ascii_case(h.trim()))).ok_or_else(|| {
            invalid(path, format!("has no step column (columns: {:?})", headers.iter().collect::<Vec<_>>()))
        })?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "value".into());
    let names: Vec<String> =
        headers.iter().map(|h| if h.trim() == "Value" { stem.clone() } else { h.trim().to_string() }).collect();
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| invalid(path, format!("row {}: {e}", i + 2)))?;
        let step = rec
            .get(step_col)
            .and_then(|s| {
                step_of(&Value::String(s.to_string()))
                    .or_else(|| s.trim().parse::<f64>().ok().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            })
            .ok_or_else(|| {
                invalid(
                    path,
                    format!("row {}: the step `{}` is not a whole number", i + 2, rec.get(step_col).unwrap_or("")),
                )
            })?;
        let vals = rec
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != step_col)
            .filter_map(|(j, s)| s.trim().parse::<f64>().ok().map(|f| (names[j].clone(), f)))
            .collect();
        rows.push((step, vals));
    }
    from_rows(path, rows)
}

/// The `trainer_state.json` of a run directory: in the directory itself, or in its newest `checkpoint-N/`.
fn find_in_dir(dir: &Path) -> Result<PathBuf, TrainLogError> {
    let direct = dir.join("trainer_state.json");
    if direct.is_file() {
        return Ok(direct);
    }
    let rd = std::fs::read_dir(dir).map_err(|source| TrainLogError::Read { path: dir.to_path_buf(), source })?;
    let newest = rd
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n: i64 = name.strip_prefix("checkpoint-")?.parse().ok()?;
            let p = e.path().join("trainer_state.json");
            p.is_file().then_some((n, p))
        })
        .max_by_key(|(n, _)| *n);
    newest.map(|(_, p)| p).ok_or_else(|| TrainLogError::NotFound { path: dir.to_path_buf() })
}

impl TrainLog {
    /// Read a training log: a file (`.json`, `.jsonl`/`.ndjson`, `.csv`; anything else is tried as JSON, then
    /// JSON lines), or a run directory (its newest `checkpoint-N/trainer_state.json`).
    pub fn read(path: &Path) -> Result<TrainLog, TrainLogError> {
        let file = if path.is_dir() { find_in_dir(path)? } else { path.to_path_buf() };
        let text =
            std::fs::read_to_string(&file).map_err(|source| TrainLogError::Read { path: file.clone(), source })?;
        let ext = file.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        match ext.as_str() {
            "csv" => parse_csv(&file, &text),
            "jsonl" | "ndjson" => parse_jsonl(&file, &text),
            "json" => parse_json(&file, &text),
            _ => parse_json(&file, &text).or_else(|e| parse_jsonl(&file, &text).map_err(|_| e)),
        }
    }

    /// Parse a log from its text; `name` gives the format by its extension (as [`TrainLog::read`]).
    pub fn parse(name: &Path, text: &str) -> Result<TrainLog, TrainLogError> {
        match name.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).as_deref() {
            Some("csv") => parse_csv(name, text),
            Some("jsonl") | Some("ndjson") => parse_jsonl(name, text),
            _ => parse_json(name, text),
        }
    }

    /// Check that the log's steps overlap the tensor's `[first, last]`.
    pub fn check_overlap(&self, tensor_steps: &[i64]) -> Result<(), TrainLogError> {
        let (Some(&first), Some(&last)) = (tensor_steps.first(), tensor_steps.last()) else { return Ok(()) };
        let (Some(&lf), Some(&ll)) = (self.steps.first(), self.steps.last()) else { return Ok(()) };
        if ll < first || lf > last {
            return Err(TrainLogError::NoOverlap {
                path: self.source.clone(),
                log_first: lf,
                log_last: ll,
                first,
                last,
            });
        }
        Ok(())
    }

    /// The series `name` as `(step, value)` pairs where it was logged.
    pub fn points(&self, name: &str) -> Vec<(i64, f64)> {
        self.series
            .get(name)
            .map(|s| self.steps.iter().zip(s).filter_map(|(&st, v)| v.map(|v| (st, v))).collect())
            .unwrap_or_default()
    }

    /// The events of the log (see [`EventKind`]), in step order.
    pub fn events(&self) -> Vec<Event> {
        let mut ev = lr_events(&self.points("learning_rate"));
        ev.extend(loss_spikes(&self.points("loss")).into_iter().map(|step| Event { step, kind: EventKind::LossSpike }));
        ev.sort_by_key(|e| (e.step, e.kind));
        ev
    }
}

/// What happened at an event of the training log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// The first step at the peak learning rate, after it rose (the end of warmup).
    WarmupEnd,
    /// The last step at the peak learning rate, when the rate then falls and this is not the warmup end itself
    /// (the end of a plateau).
    DecayStart,
    /// The loss jumped up: its rise from the previous logged value exceeds the median rise of the previous 10 by
    /// more than 5 robust standard deviations (1.4826 · MAD).
    LossSpike,
}

impl EventKind {
    /// The name written in `timeline.json`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::WarmupEnd => "warmup_end",
            EventKind::DecayStart => "decay_start",
            EventKind::LossSpike => "loss_spike",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for EventKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [EventKind::WarmupEnd, EventKind::DecayStart, EventKind::LossSpike]
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown event `{s}` (expected warmup_end, decay_start or loss_spike)"))
    }
}

/// An event of the training log at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The step.
    pub step: i64,
    /// What happened.
    pub kind: EventKind,
}

/// Warmup end and decay start from the learning-rate points.
fn lr_events(lr: &[(i64, f64)]) -> Vec<Event> {
    let Some(peak) = lr.iter().map(|p| p.1).reduce(f64::max) else { return Vec::new() };
    if peak <= 0.0 {
        return Vec::new();
    }
    let at_peak = |v: f64| v >= peak * (1.0 - 1e-6);
    let first = lr.iter().position(|p| at_peak(p.1)).unwrap_or(0);
    let last = lr.iter().rposition(|p| at_peak(p.1)).unwrap_or(0);
    let mut ev = Vec::new();
    if first > 0 && lr[0].1 < peak * (1.0 - 1e-6) {
        ev.push(Event { step: lr[first].0, kind: EventKind::WarmupEnd });
    }
    if last > first && last + 1 < lr.len() {
        ev.push(Event { step: lr[last].0, kind: EventKind::DecayStart });
    }
    ev
}

/// Steps where the loss spikes (see [`EventKind::LossSpike`]).
fn loss_spikes(loss: &[(i64, f64)]) -> Vec<i64> {
    const WINDOW: usize = 10;
    let rises: Vec<f64> = loss.windows(2).map(|w| w[1].1 - w[0].1).collect();
    let mut out = Vec::new();
    for i in WINDOW..rises.len() {
        let prev = &rises[i - WINDOW..i];
        let (med, mad) = crate::robust::median_mad(prev);
        let sd = (1.4826 * mad).max(1e-12);
        if rises[i] > 0.0 && rises[i] - med > 5.0 * sd {
            out.push(loss[i + 1].0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str) -> PathBuf {
        PathBuf::from(name)
    }

    #[test]
    fn reads_hf_trainer_state_merging_train_and_eval_rows() {
        let text = r#"{"global_step": 30, "log_history": [
            {"epoch": 0.1, "grad_norm": 1.5, "learning_rate": 1e-4, "loss": 3.0, "step": 10},
            {"epoch": 0.2, "grad_norm": 1.2, "learning_rate": 2e-4, "loss": 2.5, "step": 20},
            {"epoch": 0.2, "eval_loss": 2.7, "eval_runtime": 1.0, "step": 20},
            {"epoch": 0.3, "grad_norm": 1.0, "learning_rate": 1.5e-4, "loss": 2.2, "step": 30}]}"#;
        let log = TrainLog::parse(&p("trainer_state.json"), text).unwrap();
        assert_eq!(log.steps, [10, 20, 30]);
        assert_eq!(log.series["loss"], [Some(3.0), Some(2.5), Some(2.2)]);
        assert_eq!(log.series["eval_loss"], [None, Some(2.7), None]);
        assert_eq!(log.series["learning_rate"][1], Some(2e-4));
        assert!(!log.series.contains_key("epoch") && !log.series.contains_key("step"));
        assert_eq!(log.events(), [Event { step: 20, kind: EventKind::WarmupEnd }]);
    }

    #[test]
    fn reads_records_jsonl_and_csv() {
        let demo = r#"{"name": "x", "checkpoints": [{"step": 0, "train_loss": 7.6, "val_loss": 7.7, "lr_next": 1e-5},
            {"step": 4, "train_loss": 7.0, "val_loss": 7.1, "lr_next": 2e-5}]}"#;
        let log = TrainLog::parse(&p("train_log.json"), demo).unwrap();
        assert_eq!(log.steps, [0, 4]);
        assert_eq!(log.series["loss"], [Some(7.6), Some(7.0)]);
        assert_eq!(log.series["eval_loss"][1], Some(7.1));
        let jl = "{\"_step\": 5, \"train/loss\": 1.0}\n\n{\"_step\": 6, \"train/loss\": 0.9, \"note\": \"x\"}\n";
        let log = TrainLog::parse(&p("w.jsonl"), jl).unwrap();
        assert_eq!((log.steps.clone(), log.series["loss"].clone()), (vec![5, 6], vec![Some(1.0), Some(0.9)]));
        let tb = "Wall time,Step,Value\n1.0,100,0.5\n2.0,200,0.4\n";
        let log = TrainLog::parse(&p("run-loss.csv"), tb).unwrap();
        assert_eq!(log.series["run-loss"], [Some(0.5), Some(0.4)]);
        let c = "step,loss,lr\n0,5.0,0.1\n10,4.0,\n";
        let log = TrainLog::parse(&p("a.csv"), c).unwrap();
        assert_eq!(log.series["learning_rate"], [Some(0.1), None]);
    }

    #[test]
    fn a_log_without_steps_is_one_clear_error() {
        for (name, text, want) in [
            ("a.csv", "loss,lr\n1,2\n", "has no step column"),
            ("a.jsonl", "{\"loss\": 1}\n", "line 1: no `step`"),
            ("a.json", "{\"log_history\": [{\"loss\": 1}]}", "no `step` in `log_history[0]`"),
            ("a.json", "{\"x\": 1}", "holds no list of records"),
            ("a.json", "[", "not valid JSON"),
            ("a.json", "[]", "no logged step"),
        ] {
            let e = TrainLog::parse(&p(name), text).unwrap_err().to_string();
            assert!(e.contains(want), "{name}: {e}");
        }
    }

    #[test]
    fn overlap_is_checked() {
        let log = TrainLog::parse(&p("a.csv"), "step,loss\n0,1\n100,2\n").unwrap();
        assert!(log.check_overlap(&[50, 500]).is_ok());
        let e = log.check_overlap(&[1000, 2000]).unwrap_err().to_string();
        assert!(e.contains("covers steps 0..=100, which do not overlap the tensor's 1000..=2000"), "{e}");
    }

    #[test]
    fn finds_warmup_decay_and_spikes() {
        // Warmup to step 3, a plateau to step 6, decay; a spike at step 15.
        let lr = [0.1, 0.5, 1.0, 1.0, 1.0, 1.0, 0.9, 0.8];
        let ev = lr_events(&lr.iter().enumerate().map(|(i, &v)| (i as i64 + 1, v)).collect::<Vec<_>>());
        assert_eq!(ev, [Event { step: 3, kind: EventKind::WarmupEnd }, Event { step: 6, kind: EventKind::DecayStart }]);
        let loss: Vec<(i64, f64)> =
            (0..25).map(|i| (i, 5.0 - 0.1 * i as f64 + if i == 15 { 1.0 } else { 0.01 * (i % 3) as f64 })).collect();
        assert_eq!(loss_spikes(&loss), [15]);
    }

    #[test]
    fn finds_the_newest_checkpoint_in_a_run_dir() {
        let d = tempfile::tempdir().unwrap();
        for n in [500, 1500, 1000] {
            let c = d.path().join(format!("checkpoint-{n}"));
            std::fs::create_dir(&c).unwrap();
            std::fs::write(
                c.join("trainer_state.json"),
                format!("{{\"log_history\": [{{\"step\": {n}, \"loss\": 1}}]}}"),
            )
            .unwrap();
        }
        let log = TrainLog::read(d.path()).unwrap();
        assert_eq!(log.steps, [1500]);
        let e = TrainLog::read(&d.path().join("checkpoint-500").join("nothing")).unwrap_err();
        assert!(matches!(e, TrainLogError::Read { .. }));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(TrainLog::read(empty.path()).unwrap_err(), TrainLogError::NotFound { .. }));
    }
}
