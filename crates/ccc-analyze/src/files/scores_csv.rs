//! `scores.csv`: one line per experiment, in id order — the scores in a form spreadsheets and data frames read.
//!
//! A CSV has no room for a `format` key: its header line, [`HEADER`], is its format. Readers require these columns
//! (by name, in any order) and ignore others.

use std::path::Path;

use super::{AnalysisFile, FilesError, Source, Status, SCORES_CSV};

/// The columns, in the order written.
pub const HEADER: [&str; 6] = ["id", "source", "method", "status", "irregularity", "fraction"];

/// `scores.csv`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoresCsv {
    /// One row per experiment, in id order.
    pub rows: Vec<ScoreRow>,
}

/// One experiment's line.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    /// The experiment's id.
    pub id: usize,
    /// Its source.
    pub source: Source,
    /// Its method.
    pub method: String,
    /// Its outcome.
    pub status: Status,
    /// Irregularity; an empty field when undefined.
    pub irregularity: Option<f64>,
    /// Fraction of outlier coordinates; an empty field when the experiment failed.
    pub fraction: Option<f64>,
}

impl AnalysisFile for ScoresCsv {
    const PATH: &'static str = SCORES_CSV;

    /// RFC 4180: fields holding a comma, a quote or a line break are quoted; lines end with `\n`. Floats use Rust's
    /// shortest round-trip `Display` (no exponent), as the JSON files.
    fn to_bytes(&self) -> Result<Vec<u8>, FilesError> {
        let encode = |e: csv::Error| FilesError::Encode { name: SCORES_CSV, message: e.to_string() };
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(Vec::with_capacity(self.rows.len() * 160));
        w.write_record(HEADER).map_err(encode)?;
        let float = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        for r in &self.rows {
            let record = [
                r.id.to_string(),
                r.source.to_string(),
                r.method.clone(),
                r.status.name().to_string(),
                float(r.irregularity),
                float(r.fraction),
            ];
            w.write_record(&record).map_err(encode)?;
        }
        w.into_inner().map_err(|e| FilesError::Encode { name: SCORES_CSV, message: e.error().to_string() })
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, FilesError> {
        let invalid =
            |at: String, message: String| FilesError::Invalid { path: path.to_path_buf(), at: Some(at), message };
        let mut r = csv::ReaderBuilder::new().from_reader(bytes);
        let header = r.headers().map_err(|e| invalid("line 1".into(), e.to_string()))?.clone();
        let col = super::codec::csv_columns(&header, HEADER).map_err(|(at, message)| invalid(at, message))?;
        let mut rows = Vec::new();
        for record in r.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(String::new(), |p| format!("line {}", p.line()));
                invalid(line, e.to_string())
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let field = |i: usize| -> (&str, &str) { (HEADER[i], record.get(col[i]).unwrap_or("")) };
            let bad = |name: &str, why: String| invalid(format!("line {line}, column `{name}`"), why);
            let not_a_number =
                |(name, value): (&str, &str), e: &dyn std::fmt::Display| bad(name, format!("`{value}`: {e}"));
            let parse_f64 = |f: (&str, &str)| -> Result<Option<f64>, FilesError> {
                match f.1 {
                    "" => Ok(None),
                    v => v.parse::<f64>().map(Some).map_err(|e| not_a_number(f, &e)),
                }
            };
            rows.push(ScoreRow {
                id: field(0).1.parse().map_err(|e| not_a_number(field(0), &e))?,
                source: field(1).1.parse().map_err(|e: crate::AnalyzeError| bad(HEADER[1], e.to_string()))?,
                method: field(2).1.to_string(),
                status: field(3).1.parse().map_err(|e: crate::AnalyzeError| bad(HEADER[3], e.to_string()))?,
                irregularity: parse_f64(field(4))?,
                fraction: parse_f64(field(5))?,
            });
        }
        Ok(ScoresCsv { rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::Origin;
    use proptest::prelude::*;

    fn row(id: usize, method: &str, irregularity: Option<f64>) -> ScoreRow {
        ScoreRow {
            id,
            source: Source::new(Origin::TciCompsCoords),
            method: method.into(),
            status: Status::Ok,
            irregularity,
            fraction: Some(0.390625),
        }
    }

    #[test]
    fn written_as_before() {
        let f = ScoresCsv {
            rows: vec![
                row(0, "instructions[(_inp111_data101, median)]", Some(0.0019127280906356958)),
                row(1, "say \"hi\"", None),
                row(2, "plain", Some(1e-7)),
            ],
        };
        let text = String::from_utf8(f.to_bytes().unwrap()).unwrap();
        assert_eq!(
            text,
            "id,source,method,status,irregularity,fraction\n\
             0,TCI-comps-coords,\"instructions[(_inp111_data101, median)]\",ok,0.0019127280906356958,0.390625\n\
             1,TCI-comps-coords,\"say \"\"hi\"\"\",ok,,0.390625\n\
             2,TCI-comps-coords,plain,ok,0.0000001,0.390625\n"
        );
        assert_eq!(ScoresCsv::from_bytes(text.as_bytes(), Path::new("s.csv")).unwrap(), f);
        let empty = ScoresCsv::default().to_bytes().unwrap();
        assert_eq!(empty, b"id,source,method,status,irregularity,fraction\n");
        assert_eq!(ScoresCsv::from_bytes(&empty, Path::new("s.csv")).unwrap(), ScoresCsv::default());
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let p = Path::new("out/scores.csv");
        let e = ScoresCsv::from_bytes(b"id,source,method,status,irr,fraction\n", p).unwrap_err().to_string();
        assert_eq!(
            e,
            "`out/scores.csv` is not a valid `ccc-analysis/1` file: at line 1: missing column `irregularity` \
             (expected id,source,method,status,irregularity,fraction)"
        );
        let text = b"id,source,method,status,irregularity,fraction,extra\n0,TCI-comps,m,ok,0.5,0.25,x\n1,TCI-comps,m,fine,,0,y\n";
        let e = ScoresCsv::from_bytes(text, p).unwrap_err().to_string();
        assert_eq!(
            e,
            "`out/scores.csv` is not a valid `ccc-analysis/1` file: at line 3, column `status`: unknown status `fine`; \
             expected ok, degenerate or failed"
        );
        let e = ScoresCsv::from_bytes(b"id,source,method,status,irregularity,fraction\n0,TCI-comps,m,ok,x,0\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at line 2, column `irregularity`: `x`: invalid float literal"), "{e}");
        let e =
            ScoresCsv::from_bytes(b"id,source,method,status,irregularity,fraction\n0,TCI-comps,m\n", p).unwrap_err();
        assert!(e.to_string().contains("at line 2: "), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_rows_round_trip(
            methods in proptest::collection::vec("[ -~\n]{0,24}", 0..6),
            scores in proptest::collection::vec(proptest::option::of(0.0f64..1.0), 6),
        ) {
            let rows: Vec<ScoreRow> =
                methods.iter().enumerate().map(|(i, m)| row(i, m, scores[i])).collect();
            let f = ScoresCsv { rows };
            let back = ScoresCsv::from_bytes(&f.to_bytes().unwrap(), Path::new("s.csv")).unwrap();
            prop_assert_eq!(back, f);
        }
    }
}
