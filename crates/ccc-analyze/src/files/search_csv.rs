//! `search.csv`: one line per front point of `ccc search` — the front in a form spreadsheets and data frames read.
//!
//! Its header line, [`HEADER`], is its format (as `scores.csv`).

use std::path::Path;

use super::search::{RandomWord, StartRef};
use super::{AnalysisFile, FilesError, SEARCH_CSV};

/// The columns, in the order written.
pub const HEADER: [&str; 10] = [
    "index",
    "irregularity",
    "fraction",
    "n_outliers",
    "n_grp1",
    "n_grp2",
    "null_ratio",
    "p_value",
    "random_percentile",
    "start",
];

/// `search.csv`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchCsv {
    /// One row per front point, by increasing fraction.
    pub rows: Vec<SearchRow>,
}

/// One front point's line.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRow {
    /// Its position in `search.json` → `front`.
    pub index: usize,
    /// Irregularity.
    pub irregularity: f64,
    /// Fraction of outlier coordinates.
    pub fraction: f64,
    /// Outlier coordinates.
    pub n_outliers: usize,
    /// Components in group 1.
    pub n_grp1: usize,
    /// Components in group 2.
    pub n_grp2: usize,
    /// See `search.json`; an empty field when absent.
    pub null_ratio: Option<f64>,
    /// See `search.json`; an empty field when absent.
    pub p_value: Option<f64>,
    /// See `search.json`; an empty field when absent.
    pub random_percentile: Option<f64>,
    /// An experiment id or `random`.
    pub start: StartRef,
}

impl AnalysisFile for SearchCsv {
    const PATH: &'static str = SEARCH_CSV;

    fn to_bytes(&self) -> Result<Vec<u8>, FilesError> {
        let encode = |e: csv::Error| FilesError::Encode { name: SEARCH_CSV, message: e.to_string() };
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(Vec::with_capacity(self.rows.len() * 100));
        w.write_record(HEADER).map_err(encode)?;
        let float = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        for r in &self.rows {
            let start = match r.start {
                StartRef::Experiment(id) => id.to_string(),
                StartRef::Random(_) => "random".to_string(),
            };
            w.write_record([
                r.index.to_string(),
                r.irregularity.to_string(),
                r.fraction.to_string(),
                r.n_outliers.to_string(),
                r.n_grp1.to_string(),
                r.n_grp2.to_string(),
                float(r.null_ratio),
                float(r.p_value),
                float(r.random_percentile),
                start,
            ])
            .map_err(encode)?;
        }
        w.into_inner().map_err(|e| FilesError::Encode { name: SEARCH_CSV, message: e.error().to_string() })
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
            let field = |i: usize| record.get(col[i]).unwrap_or("");
            let bad = |i: usize, why: String| invalid(format!("line {line}, column `{}`", HEADER[i]), why);
            let num = |i: usize| -> Result<usize, FilesError> {
                field(i).parse().map_err(|e| bad(i, format!("`{}`: {e}", field(i))))
            };
            let float = |i: usize| -> Result<Option<f64>, FilesError> {
                match field(i) {
                    "" => Ok(None),
                    v => v.parse::<f64>().map(Some).map_err(|e| bad(i, format!("`{v}`: {e}"))),
                }
            };
            let required = |i: usize| float(i)?.ok_or_else(|| bad(i, "empty".into()));
            let start = match field(9) {
                "random" => StartRef::Random(RandomWord::Random),
                _ => StartRef::Experiment(num(9)?),
            };
            rows.push(SearchRow {
                index: num(0)?,
                irregularity: required(1)?,
                fraction: required(2)?,
                n_outliers: num(3)?,
                n_grp1: num(4)?,
                n_grp2: num(5)?,
                null_ratio: float(6)?,
                p_value: float(7)?,
                random_percentile: float(8)?,
                start,
            });
        }
        Ok(SearchCsv { rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let f = SearchCsv {
            rows: vec![
                SearchRow {
                    index: 0,
                    irregularity: 0.0125,
                    fraction: 0.0,
                    n_outliers: 0,
                    n_grp1: 3,
                    n_grp2: 4,
                    null_ratio: Some(0.5),
                    p_value: Some(0.25),
                    random_percentile: Some(0.0),
                    start: StartRef::Experiment(17),
                },
                SearchRow {
                    index: 1,
                    irregularity: 0.01,
                    fraction: 0.125,
                    n_outliers: 16,
                    n_grp1: 2,
                    n_grp2: 9,
                    null_ratio: None,
                    p_value: None,
                    random_percentile: None,
                    start: StartRef::Random(RandomWord::Random),
                },
            ],
        };
        let bytes = f.to_bytes().unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "index,irregularity,fraction,n_outliers,n_grp1,n_grp2,null_ratio,p_value,random_percentile,start\n\
             0,0.0125,0,0,3,4,0.5,0.25,0,17\n1,0.01,0.125,16,2,9,,,,random\n"
        );
        assert_eq!(SearchCsv::from_bytes(&bytes, Path::new("s.csv")).unwrap(), f);
        let e = SearchCsv::from_bytes(b"index,irregularity\n", Path::new("out/search.csv")).unwrap_err();
        assert!(e.to_string().contains("missing column `fraction`"), "{e}");
    }
}
