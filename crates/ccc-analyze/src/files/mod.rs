//! The analysis files, one typed owner per format: `experiments.json` ([`experiments`]), `summary.json`
//! ([`summary`]), `scores.csv` ([`scores_csv`]) and `figures/index.json` ([`figures_index`]).
//!
//! Each format is defined once, by Serialize + Deserialize types in its own submodule, and everything that writes
//! or reads it — the analysis, the figures, the report, the CLI — goes through those types. Schema and policy are
//! in `docs/outputs.md`; in short:
//!
//! - **Required fields are required.** A missing, renamed or mistyped field is one [`FilesError::Invalid`] that
//!   names the file and the field (e.g. ``at `experiments[3]`: missing field `scores` ``). Keys a reader does not
//!   know are ignored, so fields can be added without a new version. Fields that can be `null` must still be present;
//!   only the fields documented as optional (`error`, the wall times, …) may be absent.
//! - **Versioned.** The JSON files carry `"format": "ccc-analysis/1"` ([`FORMAT`]); a reader refuses any other value
//!   with [`FilesError::Version`]. A file without the key is read as `ccc-analysis/1`: files written before the key
//!   existed (by this same tool) have exactly its fields. `scores.csv` has no room for a key: its header line is its
//!   format.
//! - **Typed values.** Statuses ([`Status`]), sources ([`Source`]), outlier methods, aggregations, figure kinds are
//!   enums that (de)serialize to exactly the strings of the files.
//! - **Deterministic bytes.** Every writer produces the same bytes for the same values (fixed key order, shortest
//!   round-trip floats), written atomically by [`AnalysisFile::write`].
//!
//! Adding a file is one new submodule: its types, and an [`AnalysisFile`] impl whose `from_bytes` is
//! [`read_json`] for JSON files.
//!
//! ```
//! use ccc_analyze::files::{read_json, AnalysisFile, ExperimentsFile, FilesError};
//! use std::path::Path;
//!
//! let path = Path::new("out/experiments.json");
//! // A renamed field names the file and the field.
//! let text = br#"{"format": "ccc-analysis/1", "experiments": [{"id": 0, "source": "TCI-comps-coords",
//!   "method": "m", "status": "ok", "groups": {"coords_in": [0], "coords_out": [], "comps_grp1": [0],
//!   "comps_grp2": [1]}, "group_names": {"comps_grp1": ["a"], "comps_grp2": ["b"]},
//!   "group_ranges": {"comps_grp1": "0", "comps_grp2": "1", "coords_in": "0", "coords_out": ""},
//!   "score": {"irregularity": null, "fraction": 0.0}, "pipeline": 1, "outlier_method": null}]}"#;
//! let err = ExperimentsFile::from_bytes(text, path).unwrap_err();
//! assert!(matches!(err, FilesError::Invalid { .. }));
//! let msg = err.to_string();
//! assert!(msg.contains("`out/experiments.json`") && msg.contains("missing field `scores`"), "{msg}");
//! // Another version is refused, and says which one this ccc reads.
//! let err = read_json::<ExperimentsFile>(br#"{"format": "ccc-analysis/2", "experiments": []}"#, path);
//! assert!(err.unwrap_err().to_string().contains("this ccc reads `ccc-analysis/1`"));
//! ```

mod codec;
pub mod experiments;
pub mod figures_index;
pub mod partial;
pub mod scores_csv;
pub mod search;
pub mod search_csv;
pub mod source;
pub mod status;
pub mod subsets;
pub mod summary;
pub mod timeline;
pub mod trajectory_clusters;

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use experiments::{ExperimentRecord, ExperimentsFile};
pub use figures_index::{FigureIndex, ImageFormat, RunEntry, RunKind, SheetEntry};
pub use partial::{PartialFile, PARTIAL_JSON};
pub use scores_csv::{ScoreRow, ScoresCsv};
pub use search::SearchFile;
pub use search_csv::SearchCsv;
pub use source::{Origin, Source};
pub use status::Status;
pub use subsets::{SubsetsFile, SUBSETS_JSON};
pub use summary::SummaryFile;
pub use timeline::{TimelineFile, TIMELINE_JSON};
pub use trajectory_clusters::{TrajectoryClustersFile, TRAJECTORY_CLUSTERS_JSON};

/// The format version the JSON files carry in their `format` key, and the only one this crate reads.
pub const FORMAT: &str = "ccc-analysis/1";

/// `experiments.json`, in the output directory.
pub const EXPERIMENTS_JSON: &str = "experiments.json";
/// `summary.json`, in the output directory.
pub const SUMMARY_JSON: &str = "summary.json";
/// `scores.csv`, in the output directory.
pub const SCORES_CSV: &str = "scores.csv";
/// `search.json` (written by `ccc search`), in the output directory.
pub const SEARCH_JSON: &str = "search.json";
/// `search.csv` (written by `ccc search`), in the output directory.
pub const SEARCH_CSV: &str = "search.csv";
/// The figures' directory, in the output directory.
pub const FIGURES_DIR: &str = "figures";
/// The figures' index, relative to the output directory.
pub const FIGURES_INDEX_JSON: &str = "figures/index.json";

/// What can go wrong reading or writing an analysis file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilesError {
    /// The file cannot be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is of another format version.
    #[error(
        "`{}` is format `{found}`; this ccc reads `{FORMAT}` (read it with the ccc that wrote it, or re-run \
         `ccc analyze`)",
        path.display()
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version it says it is.
        found: String,
    },
    /// The file is not what its format says: bad syntax, or a missing, renamed or mistyped field.
    #[error("`{}` is not a valid `{FORMAT}` file: {}{message}", path.display(), at.as_deref().map(|a| format!("at {a}: ")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where in the file: the field (`` `experiments[3].scores` ``) or the line and column of a CSV.
        at: Option<String>,
        /// What is wrong (serde's words: `missing field `scores``, `invalid type: …`).
        message: String,
    },
    /// The values cannot be encoded (never for finite values; kept so writers need not panic).
    #[error("cannot encode `{name}`: {message}")]
    Encode {
        /// The file's name.
        name: &'static str,
        /// The encoder's message.
        message: String,
    },
    /// Writing the file failed.
    #[error(transparent)]
    Write(#[from] ccc_core::CoreError),
}

/// One file format of the analysis output directory: where it lives, its bytes, and how it is parsed.
pub trait AnalysisFile: Sized {
    /// Where the file lives, relative to the output directory (`/`-separated).
    const PATH: &'static str;

    /// The file's bytes, as written (deterministic for the same values).
    fn to_bytes(&self) -> Result<Vec<u8>, FilesError>;

    /// Parse the file's bytes; `path` names the file in errors.
    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, FilesError>;

    /// The file's path in the output directory `dir`.
    fn path_in(dir: &Path) -> PathBuf {
        dir.join(Self::PATH)
    }

    /// Read the file at `path`.
    fn read_file(path: &Path) -> Result<Self, FilesError> {
        let bytes = std::fs::read(path).map_err(|source| FilesError::Read { path: path.to_path_buf(), source })?;
        Self::from_bytes(&bytes, path)
    }

    /// Read the file of the output directory `dir`.
    fn read(dir: &Path) -> Result<Self, FilesError> {
        Self::read_file(&Self::path_in(dir))
    }

    /// Read the file of the output directory `dir`, or `None` when there is none (e.g. no figures were drawn).
    fn read_if_present(dir: &Path) -> Result<Option<Self>, FilesError> {
        let path = Self::path_in(dir);
        match std::fs::read(&path) {
            Ok(bytes) => Self::from_bytes(&bytes, &path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(FilesError::Read { path, source }),
        }
    }

    /// Write the file into the output directory `dir` (which must exist), atomically; returns its path.
    fn write(&self, dir: &Path) -> Result<PathBuf, FilesError> {
        let path = Self::path_in(dir);
        ccc_core::atomic::write_bytes_atomic(&path, &self.to_bytes()?)?;
        Ok(path)
    }
}

/// Parse a JSON analysis file: the version check, then the typed value, with errors that name `path` and the
/// field. The reader of every JSON format (and of any added later).
pub fn read_json<T: DeserializeOwned>(bytes: &[u8], path: &Path) -> Result<T, FilesError> {
    // The plain parse is the fast path; only a file that fails is parsed again, tracking the field's path (which
    // costs a third more time on every value).
    serde_json::from_slice(bytes).map_err(|_| json_error::<T>(bytes, path))
}

/// The error of a JSON file that does not parse as `T`: its other version, or the field and what is wrong with it.
fn json_error<T: DeserializeOwned>(bytes: &[u8], path: &Path) -> FilesError {
    // A file of another version fails for that reason, whatever else differs.
    if let Some(found) = format_of(bytes).filter(|f| f != FORMAT) {
        return FilesError::Version { path: path.to_path_buf(), found };
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let (at, message) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => (e.path().to_string(), e.into_inner().to_string()),
        Ok(_) => (String::new(), de.end().err().map_or_else(|| "cannot be parsed".to_string(), |e| e.to_string())),
    };
    FilesError::Invalid {
        path: path.to_path_buf(),
        at: (!at.is_empty() && at != ".").then(|| format!("`{at}`")),
        message,
    }
}

/// The `format` value of a JSON file, when it has a string one.
fn format_of(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Head {
        format: Option<String>,
    }
    serde_json::from_slice::<Head>(bytes).ok().and_then(|h| h.format)
}

/// The `format` key of the JSON files: always [`FORMAT`]. Reading any other value fails; a missing key reads as
/// [`FORMAT`] (with `#[serde(default)]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FormatVersion;

impl FormatVersion {
    /// The version string, [`FORMAT`].
    pub fn name(self) -> &'static str {
        FORMAT
    }
}

impl Serialize for FormatVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(FORMAT)
    }
}

impl<'de> Deserialize<'de> for FormatVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == FORMAT {
            Ok(FormatVersion)
        } else {
            Err(serde::de::Error::custom(format!("format `{s}`; this ccc reads `{FORMAT}`")))
        }
    }
}

/// Encode a value as compact JSON (a [`FilesError::Encode`] naming the file on failure).
pub(crate) fn to_json_writer<W: std::io::Write, T: Serialize>(
    w: W,
    value: &T,
    name: &'static str,
) -> Result<(), FilesError> {
    serde_json::to_writer(w, value).map_err(|e| FilesError::Encode { name, message: e.to_string() })
}

codec::serde_by_name!(
    crate::outliers::OutlierMethod,
    crate::trajectory::Aggregation,
    Source,
    crate::search::NullMethod
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_errors_say_which_version() {
        let p = Path::new("d/summary.json");
        let e = read_json::<SummaryFile>(br#"{"format": "ccc-analysis/2"}"#, p).unwrap_err();
        assert!(matches!(&e, FilesError::Version { found, .. } if found == "ccc-analysis/2"), "{e}");
        assert_eq!(
            e.to_string(),
            "`d/summary.json` is format `ccc-analysis/2`; this ccc reads `ccc-analysis/1` (read it with the ccc \
             that wrote it, or re-run `ccc analyze`)"
        );
        // Not a string: named as the field it is.
        let e = read_json::<ExperimentsFile>(br#"{"format": 1, "experiments": []}"#, p).unwrap_err();
        assert!(e.to_string().contains("at `format`: invalid type: integer `1`"), "{e}");
        // Absent: read as version 1.
        assert!(read_json::<ExperimentsFile>(br#"{"experiments": []}"#, p).is_ok());
        // Bad syntax says where; trailing bytes are an error too.
        let e = read_json::<ExperimentsFile>(br#"{"experiments": ["#, p).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`d/summary.json` is not a valid `ccc-analysis/1` file: at `experiments`: EOF while parsing a list at \
             line 1 column 17"
        );
        assert!(read_json::<ExperimentsFile>(br#"{"experiments": []} x"#, p).is_err());
    }

    #[test]
    fn format_version_round_trips() {
        assert_eq!(serde_json::to_string(&FormatVersion).unwrap(), "\"ccc-analysis/1\"");
        assert_eq!(serde_json::from_str::<FormatVersion>("\"ccc-analysis/1\"").unwrap(), FormatVersion);
        assert!(serde_json::from_str::<FormatVersion>("\"ccc-analysis/0\"").is_err());
    }
}
