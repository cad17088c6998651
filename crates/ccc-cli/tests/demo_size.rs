//! The size budget of a default run: `ccc demo` writes at most 80 MB, and each trajectory sheet stays under its
//! share of what the other files leave (issue 20).

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The whole output of a default `ccc demo`.
const BUDGET: u64 = 80_000_000;

fn files(dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let meta = e.metadata().unwrap();
        if meta.is_dir() {
            files(&e.path(), out);
        } else {
            out.push((e.path(), meta.len()));
        }
    }
}

/// Width, height and colour type byte of a PNG, from its IHDR.
fn png_header(p: &Path) -> (u32, u32, u8) {
    let b = std::fs::read(p).unwrap();
    assert_eq!(&b[1..4], b"PNG", "{} is not a PNG", p.display());
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20), b[25])
}

#[test]
fn default_demo_run_fits_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    Command::cargo_bin("ccc").unwrap().args(["demo", "--no-open", "--quiet", "-o"]).arg(&out).assert().success();
    let mut all = Vec::new();
    files(&out, &mut all);
    let sheets_dir = out.join("figures/sheets");
    let (sheets, others): (Vec<_>, Vec<_>) = all.iter().partition(|(p, _)| p.starts_with(&sheets_dir));
    assert_eq!(sheets.len(), 301, "one sheet per experiment");
    let other_bytes: u64 = others.iter().map(|f| f.1).sum();
    let total: u64 = all.iter().map(|f| f.1).sum();
    assert!(total <= BUDGET, "the demo wrote {total} bytes, over the budget of {BUDGET}");
    // Even if every sheet were as large as the largest, the run would fit.
    let per_sheet = (BUDGET - other_bytes) / sheets.len() as u64;
    for (p, len) in &sheets {
        assert!(*len <= per_sheet, "{} has {len} bytes, over {per_sheet} per sheet", p.display());
        // Screen size, indexed colour (PNG colour type 3).
        assert_eq!(png_header(p), (1600, 1520, 3), "{}", p.display());
    }
    for (p, _) in others.iter().filter(|(p, _)| p.extension().is_some_and(|e| e == "png")) {
        assert_eq!(png_header(p).2, 3, "{} is indexed", p.display());
    }
}
