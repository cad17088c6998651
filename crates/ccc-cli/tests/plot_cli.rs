//! `ccc plot`: sheets, components and aggregates from the command line, and its error messages.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::str::contains;

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/mini-neox-full.safetensors")
}

fn png_size(p: &std::path::Path) -> (u32, u32) {
    let b = std::fs::read(p).unwrap();
    assert_eq!(&b[1..4], b"PNG", "{} is not a PNG", p.display());
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

#[test]
fn adhoc_sheet_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("wte.png");
    Command::cargo_bin("ccc")
        .unwrap()
        .args(["plot", "sheet"])
        .arg(demo())
        .args(["--grp1", "emb_in", "--grp2", "L*", "--outliers", "MAD-last-sum", "-o"])
        .arg(&png)
        .assert()
        .success();
    assert_eq!(png_size(&png), (1600, 1520), "screen size by default");
    Command::cargo_bin("ccc")
        .unwrap()
        .args(["plot", "sheet"])
        .arg(demo())
        .args(["--grp1", "emb_in", "--grp2", "L*", "--outliers", "MAD-last-sum", "--full-size", "-o"])
        .arg(&png)
        .assert()
        .success();
    assert_eq!(png_size(&png), (2000, 1900));
    let svg = dir.path().join("wte.svg");
    Command::cargo_bin("ccc")
        .unwrap()
        .args(["plot", "sheet"])
        .arg(demo())
        .args(["--grp1", "emb_in", "--grp2", "L*.ln_*", "--smooth", "3", "-o"])
        .arg(&svg)
        .assert()
        .success();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains("group 1: emb_in (1)"));
}

#[test]
fn component_and_aggregate() {
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("q.png");
    Command::cargo_bin("ccc")
        .unwrap()
        .args(["plot", "component"])
        .arg(demo())
        .arg("L3.H1.Q")
        .args(["--full-size", "-o"])
        .arg(&q)
        .assert()
        .success();
    assert_eq!(png_size(&q), (2000, 1250));
    let s = dir.path().join("agg.svg");
    Command::cargo_bin("ccc").unwrap().args(["plot", "aggregate"]).arg(demo()).arg("-o").arg(&s).assert().success();
    assert!(std::fs::read_to_string(&s).unwrap().contains("Sum over all 122 components"));
}

#[test]
fn helpful_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.jpg");
    Command::cargo_bin("ccc")
        .unwrap()
        .args(["plot", "component"])
        .arg(demo())
        .arg("L3.H1.Q")
        .arg("-o")
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("must end in .png or .svg"));
    let out = dir.path().join("x.png");
    Command::cargo_bin("ccc")
        .unwrap()
        .args(["plot", "component"])
        .arg(demo())
        .arg("L9.H1.Q")
        .arg("-o")
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("no component `L9.H1.Q`"));
    Command::cargo_bin("ccc")
        .unwrap()
        .args(["plot", "sheet"])
        .arg(demo())
        .args(["--grp1", "nothing*", "--grp2", "L*", "-o"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("matches no component"));
    Command::cargo_bin("ccc")
        .unwrap()
        .args(["plot", "sheet"])
        .arg(demo())
        .args(["--grp1", "emb_in", "--grp2", "L*", "--outliers", "MAD-bogus", "-o"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("unknown outlier method"));
    Command::cargo_bin("ccc")
        .unwrap()
        .args(["plot", "sheet"])
        .arg(demo())
        .args(["--experiment", "3", "--analysis"])
        .arg(dir.path())
        .arg("-o")
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("no experiments.json"));
}
