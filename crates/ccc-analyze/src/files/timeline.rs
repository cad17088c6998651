//! `timeline.json`: the analysis over windows of checkpoints, its consensus shares, emergence, component
//! switches, change points and the training log (docs/timeline.md, schema in docs/outputs.md).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::codec::{nullable, serde_by_name, TopLevelLines};
use super::{read_json, AnalysisFile, FilesError, FormatVersion};
use crate::timeline::{CompLabel, EventKind, SeriesKind};

/// `timeline.json`, in the output directory.
pub const TIMELINE_JSON: &str = "timeline.json";

serde_by_name!(CompLabel, EventKind, SeriesKind);

/// The contents of `timeline.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineFile {
    /// Always `ccc-analysis/1`.
    #[serde(default)]
    pub format: FormatVersion,
    /// The window specification as given (`4`, `0..2000,2000..`, `size=10,stride=5`).
    pub windows_spec: String,
    /// A coordinate is an outlier of a window by consensus when its share is at least this.
    pub consensus_threshold: f64,
    /// Steps of every checkpoint analyzed.
    pub steps: Vec<i64>,
    /// Component names, in tensor order.
    pub components: Vec<String>,
    /// The windows, in order.
    pub windows: Vec<WindowRecord>,
    /// Every coordinate's shares over the windows and its emergence.
    pub coords: Vec<CoordTimeline>,
    /// The coordinates that emerge after the first window (`emerges_at` ≥ 1), ascending.
    pub emerging: Vec<usize>,
    /// Every component's aligned group shares over the windows and its switches.
    pub comps: Vec<CompTimeline>,
    /// The per-checkpoint series searched for change points.
    pub series: SeriesRecord,
    /// Steps where a series changes (union over the series, ascending).
    pub change_points: Vec<i64>,
    /// Each change point with its series and the nearest event of the training log.
    pub change_point_details: Vec<ChangePointRecord>,
    /// The training log, when one was given or found.
    #[serde(deserialize_with = "nullable")]
    pub training_log: Option<TrainingLogRecord>,
    /// Events of the training log (warmup end, decay start, loss spikes), in step order.
    pub events: Vec<EventRecord>,
}

/// One window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowRecord {
    /// Position (0-based).
    pub index: usize,
    /// Its first step.
    pub first_step: i64,
    /// Its last step (included).
    pub last_step: i64,
    /// Steps of its checkpoints.
    pub steps: Vec<i64>,
    /// Experiments with a coordinate split in the window's analysis.
    pub n_experiments: usize,
    /// Coordinates that are outliers of the window by consensus, ascending.
    pub outliers: Vec<usize>,
}

/// One coordinate over the windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoordTimeline {
    /// The coordinate.
    pub coord: usize,
    /// Its outlier share in each window.
    pub shares: Vec<f64>,
    /// The first window from which it is an outlier by consensus in every later window, or `null`.
    #[serde(deserialize_with = "nullable")]
    pub emerges_at: Option<usize>,
    /// The first step of that window, or `null`.
    #[serde(deserialize_with = "nullable")]
    pub emerges_at_step: Option<i64>,
}

/// One component over the windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompTimeline {
    /// Its name.
    pub name: String,
    /// Share in (aligned) group 1, per window.
    pub grp1: Vec<f64>,
    /// Share in group 2, per window.
    pub grp2: Vec<f64>,
    /// Share discarded, per window.
    pub discarded: Vec<f64>,
    /// Its majority place per window.
    pub labels: Vec<CompLabel>,
    /// The windows where its majority place differs from the previous window's.
    pub switches: Vec<SwitchRecord>,
}

/// A component's change of majority place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchRecord {
    /// The window where the new place holds.
    pub window: usize,
    /// That window's first step.
    pub step: i64,
    /// The place before.
    pub from: CompLabel,
    /// The place after.
    pub to: CompLabel,
}

/// The per-checkpoint series of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesRecord {
    /// Steps of the checkpoints.
    pub steps: Vec<i64>,
    /// Per checkpoint, the number of outlier coordinates of the component-normalized magnitude.
    pub outlier_count: Vec<f64>,
    /// Per checkpoint interval `t → t+1` (one fewer than the steps), the speed of the inliers' mean 2-D point
    /// under the reference grouping; `null` without one.
    #[serde(deserialize_with = "nullable")]
    pub inlier_speed: Option<Vec<f64>>,
    /// The experiment whose component groups gave the reference trajectories, or `null`.
    #[serde(deserialize_with = "nullable")]
    pub reference_experiment: Option<usize>,
}

/// One change point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangePointRecord {
    /// The step where the new segment starts.
    pub step: i64,
    /// The series it was found in.
    pub series: SeriesKind,
    /// The training-log event nearest to it, or `null`.
    #[serde(deserialize_with = "nullable")]
    pub nearest_event: Option<EventRecord>,
    /// `step − nearest_event.step`, or `null`.
    #[serde(deserialize_with = "nullable")]
    pub distance: Option<i64>,
}

/// An event of the training log.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Its step.
    pub step: i64,
    /// What happened.
    pub kind: EventKind,
}

/// The training log: its steps and one list per logged quantity (`null` where not logged), written flat
/// (`{"source": …, "steps": […], "loss": […], "learning_rate": […], …}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingLogRecord {
    /// Where it was read from.
    pub source: String,
    /// Logged steps, ascending.
    pub steps: Vec<i64>,
    /// The series by name.
    #[serde(flatten)]
    pub series: BTreeMap<String, Vec<Option<f64>>>,
}

impl AnalysisFile for TimelineFile {
    const PATH: &'static str = TIMELINE_JSON;

    fn to_bytes(&self) -> Result<Vec<u8>, FilesError> {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, TopLevelLines::new());
        self.serialize(&mut ser).map_err(|e| FilesError::Encode { name: TIMELINE_JSON, message: e.to_string() })?;
        out.push(b'\n');
        Ok(out)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, FilesError> {
        read_json(bytes, path)
    }
}
