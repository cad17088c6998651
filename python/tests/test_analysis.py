"""`ccc.analyze` and `ccc.score` give what `ccc analyze` and `ccc score` give; sheets as PNG and SVG."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

import ccc


@pytest.fixture(scope="module")
def cli_out(cli, tiny_tensor, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli-analysis")
    run_cli(
        cli,
        "analyze",
        tiny_tensor,
        "-o",
        out,
        "--seed",
        "3",
        "--no-timings",
        "--figures",
        "none",
        "--no-report",
        "--quiet",
    )
    return out


def test_analyze_equals_the_cli(cli_out, tiny_tensor):
    a = ccc.analyze(tiny_tensor, seed=3, timings=False, progress=False)
    assert a.experiments_json() == (cli_out / "experiments.json").read_text()
    assert json.loads((cli_out / "summary.json").read_text()) == a.summary
    assert a.scores_csv == (cli_out / "scores.csv").read_text()
    assert len(a.experiments) == 301 and a.experiments[0]["id"] == 0
    # From an opened tensor: the same results.
    b = ccc.analyze(ccc.open(tiny_tensor), seed=3, timings=False, progress=False)
    assert b.experiments_json() == a.experiments_json()


def test_analyze_out_writes_the_cli_output_directory(cli, cli_out, tiny_tensor, tmp_path):
    ccc.analyze(tiny_tensor, seed=3, timings=False, out=tmp_path, figures="none", report=False, progress=False)
    for name in ("experiments.json", "summary.json", "scores.csv"):
        assert (tmp_path / name).read_bytes() == (cli_out / name).read_bytes(), name
    with_figures = tmp_path / "figs"
    ccc.analyze(tiny_tensor, pipelines="1", out=with_figures, figures="summary", progress=False)
    assert (with_figures / "report.html").is_file() and (with_figures / "figures" / "index.json").is_file()


def test_to_pandas_has_a_row_per_experiment(tiny_tensor):
    pd = pytest.importorskip("pandas")
    df = ccc.analyze(tiny_tensor, progress=False).to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 301 and df.index.name == "id"
    assert {"source", "method", "status", "irregularity", "fraction", "n_outliers", "comps_grp1"} <= set(df.columns)
    assert (df["n_outliers"] == df["coords_out"].map(len)).all()


def test_score_equals_the_cli(cli, tiny_tensor):
    r = run_cli(
        cli, "score", tiny_tensor, "--grp1", "L*.H*.Q", "--grp2", "L*.mlp_in", "--outliers", "MAD-union-dif", "--json"
    )
    want = json.loads(r.stdout)[0]
    got = ccc.score(tiny_tensor, {"comps_grp1": ["L*.H*.Q"], "comps_grp2": ["L*.mlp_in"]}, outliers="MAD-union-dif")
    assert got["irregularity"] == want["irregularity"] and got["fraction"] == want["fraction"]
    t = ccc.open(tiny_tensor)
    q = [i for i, n in enumerate(t.components) if n.endswith(".Q")]
    by_index = ccc.score(t, [{"comps_grp1": q, "comps_grp2": [0], "coords_in": list(range(1, 64)), "coords_out": [0]}])
    assert isinstance(by_index, list) and by_index[0]["fraction"] == 1 / 64


def test_sheets_are_png_and_svg(tiny_tensor, tmp_path):
    a = ccc.analyze(tiny_tensor, pipelines="1", progress=False)
    s = a.sheet(a.experiments[0]["id"])
    png = s._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert s.svg().lstrip().startswith("<svg")
    s.save(tmp_path / "s.png")
    assert (tmp_path / "s.png").read_bytes() == png
    with pytest.raises(ccc.CccError, match="no experiment with id 9999"):
        a.sheet(9999)


def test_consensus_and_changes(tiny_tensor):
    a = ccc.analyze(tiny_tensor, progress=False)
    f = a.outlier_consensus
    assert len(f) == 64
    assert a.consensus_outliers(0.0) == [i for i, x in enumerate(f) if x > 0]
    top = a.top_outliers(3)
    assert f[top[0]] == max(f) and len(top) == 3
    assert a.changes_since(a) == {"new_outliers": [], "dropped_outliers": [], "switched": []}
    assert a.changes_since(None, threshold=0.0)["new_outliers"] == a.consensus_outliers(0.0)


def test_progress_reaches_a_callback(tiny_tensor):
    events = []
    ccc.analyze(tiny_tensor, pipelines="1", progress=lambda *e: events.append(e))
    assert any(e[0] == "start" for e in events) and any(e[0] == "advance" for e in events)
