//! `experiments.json`: every scored experiment, in id order, one per line.

use std::io::Write as _;
use std::path::Path;

use ccc_core::Groups;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use super::codec::nullable;
use super::{read_json, to_json_writer, AnalysisFile, FilesError, FormatVersion, Source, Status, EXPERIMENTS_JSON};
use crate::outliers::OutlierMethod;

/// `experiments.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ExperimentsFile {
    /// The format version ([`super::FORMAT`]).
    #[serde(default)]
    pub format: FormatVersion,
    /// The experiments, in id order.
    pub experiments: Vec<ExperimentRecord>,
}

/// One scored experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentRecord {
    /// Its position in the final order (a stable sort by the reversed method string).
    pub id: usize,
    /// Where its groups come from.
    pub source: Source,
    /// The pipeline's instruction string, then `|` and the outlier method for completed experiments.
    pub method: String,
    /// Its outcome.
    pub status: Status,
    /// Why it is not `ok` (absent when it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The four sorted index lists.
    pub groups: ExperimentGroups,
    /// The component groups as component names.
    pub group_names: GroupNames,
    /// The four lists as compact ranges (`"0-4, 7"`), for people reading the file.
    pub group_ranges: GroupRanges,
    /// The score pair.
    pub scores: ScorePair,
    /// The 1-based index of the pipeline the groups come from (`null` for `comps_grps:*`).
    #[serde(deserialize_with = "nullable")]
    pub pipeline: Option<usize>,
    /// The trajectory outlier method that completed the coordinate split (`null` when the pipeline split them).
    #[serde(deserialize_with = "nullable")]
    pub outlier_method: Option<OutlierMethod>,
    /// Wall time of the pipeline, the outlier method and scoring, seconds (absent with `--no-timings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_s: Option<f64>,
}

/// An experiment's groups: all four lists (empty ones for a failed experiment).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExperimentGroups {
    /// Inlier coordinates.
    pub coords_in: Vec<usize>,
    /// Outlier coordinates.
    pub coords_out: Vec<usize>,
    /// Component group 1.
    pub comps_grp1: Vec<usize>,
    /// Component group 2.
    pub comps_grp2: Vec<usize>,
}

impl ExperimentGroups {
    /// The lists of a groups record (a missing one as empty).
    pub fn of(g: &Groups) -> ExperimentGroups {
        let v = |l: &Option<Vec<usize>>| l.clone().unwrap_or_default();
        ExperimentGroups {
            coords_in: v(&g.coords_in),
            coords_out: v(&g.coords_out),
            comps_grp1: v(&g.comps_grp1),
            comps_grp2: v(&g.comps_grp2),
        }
    }

    /// As a groups record (every list present).
    pub fn to_groups(&self) -> Groups {
        Groups {
            coords_in: Some(self.coords_in.clone()),
            coords_out: Some(self.coords_out.clone()),
            comps_grp1: Some(self.comps_grp1.clone()),
            comps_grp2: Some(self.comps_grp2.clone()),
        }
    }
}

/// The component groups by name.
///
/// Names are [`CompactString`]s: stored inline (no allocation) up to 24 bytes, which every component name is, so
/// reading the ~37,000 names of a full-mode `experiments.json` costs no more than the file's other fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupNames {
    /// Names of group 1.
    pub comps_grp1: Vec<CompactString>,
    /// Names of group 2.
    pub comps_grp2: Vec<CompactString>,
}

impl GroupNames {
    /// The names of `g`'s component groups among `components` (indices out of range are left out).
    pub fn of(g: &ExperimentGroups, components: &[String]) -> GroupNames {
        let names = |v: &[usize]| v.iter().filter_map(|&k| components.get(k).map(CompactString::from)).collect();
        GroupNames { comps_grp1: names(&g.comps_grp1), comps_grp2: names(&g.comps_grp2) }
    }
}

/// The four lists as compact ranges (keys in alphabetical order, as written).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRanges {
    /// `comps_grp1` as ranges.
    pub comps_grp1: String,
    /// `comps_grp2` as ranges.
    pub comps_grp2: String,
    /// `coords_in` as ranges.
    pub coords_in: String,
    /// `coords_out` as ranges.
    pub coords_out: String,
}

impl GroupRanges {
    /// The ranges of `g`'s lists.
    pub fn of(g: &ExperimentGroups) -> GroupRanges {
        GroupRanges {
            comps_grp1: ranges(&g.comps_grp1),
            comps_grp2: ranges(&g.comps_grp2),
            coords_in: ranges(&g.coords_in),
            coords_out: ranges(&g.coords_out),
        }
    }
}

/// The score pair of an experiment; both keys are required, `null` when undefined (irregularity) or failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ScorePair {
    /// Irregularity in [0, 1], lower is more regular.
    #[serde(deserialize_with = "nullable")]
    pub irregularity: Option<f64>,
    /// Fraction of outlier coordinates.
    #[serde(deserialize_with = "nullable")]
    pub fraction: Option<f64>,
}

/// Index lists as compact ranges: `[0, 1, 2, 5, 7, 8]` → `"0-2, 5, 7-8"`.
pub fn ranges(v: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        parts.push(if j > i { format!("{}-{}", v[i], v[j]) } else { v[i].to_string() });
        i = j + 1;
    }
    parts.join(", ")
}

impl AnalysisFile for ExperimentsFile {
    const PATH: &'static str = EXPERIMENTS_JSON;

    /// One experiment per line: compact, yet readable and diffable.
    fn to_bytes(&self) -> Result<Vec<u8>, FilesError> {
        let mut out = Vec::with_capacity(self.experiments.len() * 1024);
        let io = |e: std::io::Error| FilesError::Encode { name: EXPERIMENTS_JSON, message: e.to_string() };
        out.extend_from_slice(b"{\"format\": ");
        to_json_writer(&mut out, &self.format, EXPERIMENTS_JSON)?;
        out.extend_from_slice(b", \"experiments\": [\n");
        for (i, e) in self.experiments.iter().enumerate() {
            out.write_all(b"  ").map_err(io)?;
            to_json_writer(&mut out, e, EXPERIMENTS_JSON)?;
            out.extend_from_slice(if i + 1 < self.experiments.len() { b",\n" } else { b"\n" });
        }
        out.extend_from_slice(b"]}\n");
        Ok(out)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, FilesError> {
        read_json(bytes, path)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::files::Origin;

    /// A record like the analysis writes.
    pub(crate) fn record(id: usize) -> ExperimentRecord {
        let groups = ExperimentGroups {
            coords_in: vec![0, 2],
            coords_out: vec![1],
            comps_grp1: vec![0],
            comps_grp2: vec![1, 2],
        };
        let components: Vec<String> = ["emb_in", "L0.H0.Q", "L0.H1.Q"].map(String::from).to_vec();
        ExperimentRecord {
            id,
            source: Source::new(Origin::TciComps).completed(),
            method: "instructions[(_inp111_out001, folding122+biclustering(3,3))]|MAD-last-sum".into(),
            status: Status::Degenerate,
            error: Some("an empty group".into()),
            group_names: GroupNames::of(&groups, &components),
            group_ranges: GroupRanges::of(&groups),
            groups,
            scores: ScorePair { irregularity: None, fraction: Some(1.0 / 3.0) },
            pipeline: Some(33),
            outlier_method: Some(OutlierMethod::LastSum),
            time_s: Some(0.25),
        }
    }

    #[test]
    fn ranges_are_compact() {
        assert_eq!(ranges(&[0, 1, 2, 5, 7, 8]), "0-2, 5, 7-8");
        assert_eq!(ranges(&[]), "");
        assert_eq!(ranges(&[3]), "3");
    }

    #[test]
    fn written_layout_and_round_trip() {
        let f = ExperimentsFile { format: FormatVersion, experiments: vec![record(0), record(1)] };
        let bytes = f.to_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("{\"format\": \"ccc-analysis/1\", \"experiments\": [\n  {\"id\":0,\"source\":\"TCI-comps|find_outliers_traj2d\",\"method\":"), "{text}");
        assert!(text.contains(
            "\"group_names\":{\"comps_grp1\":[\"emb_in\"],\"comps_grp2\":[\"L0.H0.Q\",\"L0.H1.Q\"]},\"group_ranges\":\
             {\"comps_grp1\":\"0\",\"comps_grp2\":\"1-2\",\"coords_in\":\"0, 2\",\"coords_out\":\"1\"},\"scores\":\
             {\"irregularity\":null,\"fraction\":0.3333333333333333},\"pipeline\":33,\"outlier_method\":\"MAD-last-sum\",\
             \"time_s\":0.25},\n"
        ));
        assert!(text.ends_with("}\n]}\n"));
        assert_eq!(text.lines().count(), 4);
        assert_eq!(ExperimentsFile::from_bytes(&bytes, Path::new("x")).unwrap(), f);
        let empty = ExperimentsFile::default().to_bytes().unwrap();
        assert_eq!(empty, b"{\"format\": \"ccc-analysis/1\", \"experiments\": [\n]}\n");
        assert_eq!(ExperimentsFile::from_bytes(&empty, Path::new("x")).unwrap(), ExperimentsFile::default());
    }

    fn with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<ExperimentsFile, FilesError> {
        let f = ExperimentsFile { format: FormatVersion, experiments: vec![record(0), record(1)] };
        let mut v = serde_json::to_value(&f).unwrap();
        edit(&mut v["experiments"][1]);
        ExperimentsFile::from_bytes(&serde_json::to_vec(&v).unwrap(), Path::new("out/experiments.json"))
    }

    #[test]
    fn required_fields_are_required() {
        let rename = |key: &'static str| {
            with(move |e| {
                let obj = e.as_object_mut().unwrap();
                let v = obj.remove(key).unwrap();
                obj.insert(format!("{key}_renamed"), v);
            })
            .unwrap_err()
            .to_string()
        };
        for key in [
            "id",
            "source",
            "method",
            "status",
            "groups",
            "group_names",
            "group_ranges",
            "scores",
            "pipeline",
            "outlier_method",
        ] {
            let e = rename(key);
            assert!(
                e.starts_with("`out/experiments.json` is not a valid `ccc-analysis/1` file: at `experiments[1]`: "),
                "{e}"
            );
            assert!(e.contains(&format!("missing field `{key}`")), "{e}");
        }
        // Nested: a renamed score names the score.
        let e = with(|e| {
            let s = e["scores"].as_object_mut().unwrap();
            let v = s.remove("irregularity").unwrap();
            s.insert("irr".into(), v);
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("at `experiments[1].scores`: missing field `irregularity`"), "{e}");
        // Optional fields may be absent; unknown ones are ignored.
        let f = with(|e| {
            let obj = e.as_object_mut().unwrap();
            obj.remove("error");
            obj.remove("time_s");
            obj.insert("new_field".into(), serde_json::json!({"x": [1]}));
        })
        .unwrap();
        assert_eq!((f.experiments[1].error.as_deref(), f.experiments[1].time_s), (None, None));
    }

    #[test]
    fn mistyped_fields_name_the_field() {
        type Edit = fn(&mut serde_json::Value);
        let cases: [(&str, Edit); 5] = [
            ("experiments[1].scores.fraction", |e| e["scores"]["fraction"] = "half".into()),
            ("experiments[1].status", |e| e["status"] = "fine".into()),
            ("experiments[1].source", |e| e["source"] = "TCI-everything".into()),
            ("experiments[1].outlier_method", |e| e["outlier_method"] = "MAD-nope".into()),
            ("experiments[1].groups.coords_out[0]", |e| e["groups"]["coords_out"] = serde_json::json!([-1])),
        ];
        for (at, edit) in cases {
            let e = with(edit).unwrap_err().to_string();
            assert!(e.contains(&format!("at `{at}`: ")), "{at}: {e}");
        }
    }
}
