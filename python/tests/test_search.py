"""`ccc.search` gives what `ccc search` gives; its front's scores are `ccc.score`'s; bad options are errors."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

import ccc

FLAGS = {"seed": 1, "budget": 3000, "nulls": 1, "random": 10, "random_starts": 4}


@pytest.fixture(scope="module")
def cli_out(cli, tiny_tensor, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli-search")
    run_cli(
        cli,
        "search",
        tiny_tensor,
        "-o",
        out,
        "--seed",
        "1",
        "--budget",
        "3000",
        "--nulls",
        "1",
        "--random",
        "10",
        "--random-starts",
        "4",
        "--no-timings",
        "--no-figures",
        "--quiet",
    )
    return out


def test_search_equals_the_cli(cli_out, tiny_tensor):
    s = ccc.search(tiny_tensor, timings=False, progress=False, **FLAGS)
    assert s.search_json() == (cli_out / "search.json").read_text()
    assert s.search_csv == (cli_out / "search.csv").read_text()
    assert s.front and len(s.null["fronts"]) == 1 and s.budget == 3000 and s.evaluations >= 3000 and not s.interrupted
    assert s.verdict and s.verdict.endswith(".")


def test_start_points_from_an_analysis_or_its_directory(cli_out, tiny_tensor):
    a = ccc.analyze(tiny_tensor, seed=1, timings=False, progress=False)
    from_analysis = ccc.search(ccc.open(tiny_tensor), analysis=a, timings=False, progress=False, **FLAGS)
    from_dir = ccc.search(tiny_tensor, analysis=cli_out, timings=False, progress=False, **FLAGS)
    assert from_analysis.search_json() == from_dir.search_json() == (cli_out / "search.json").read_text()


def test_front_scores_are_what_score_gives(cli_out, tiny_tensor):
    s = ccc.search(tiny_tensor, analysis=cli_out, timings=False, progress=False, **FLAGS)
    groups = [p["groups"] for p in s.front]
    for p, r in zip(s.front, ccc.score(tiny_tensor, groups)):
        assert r["irregularity"] == p["scores"]["irregularity"]
        assert r["fraction"] == p["scores"]["fraction"]
        assert len(p["groups"]["comps_grp1"]) >= 2 and len(p["groups"]["comps_grp2"]) >= 2
        assert p["scores"]["fraction"] <= 0.2


def test_out_writes_the_files_and_sheets(cli_out, tiny_tensor, tmp_path):
    s = ccc.search(tiny_tensor, analysis=cli_out, timings=False, out=tmp_path, progress=False, **FLAGS)
    assert (tmp_path / "search.json").read_text() == s.search_json()
    assert (tmp_path / "search.csv").is_file()
    sheets = sorted((tmp_path / "figures" / "search").glob("front-*.png"))
    assert len(sheets) == len(s.front) and sheets[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_to_pandas_has_a_row_per_front_point(cli_out, tiny_tensor):
    pd = pytest.importorskip("pandas")
    s = ccc.search(tiny_tensor, analysis=cli_out, progress=False, **FLAGS)
    df = s.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == len(s.front)
    assert (df["n_outliers"] == df["coords_out"].map(len)).all()
    assert json.loads(s.search_json())["seed"] == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": 0}, "at least 1 evaluation"),
        ({"budget": "fast"}, "is not a budget"),
        ({"max_fraction": 1.5}, "max-fraction"),
        ({"min_group": 0}, "min-group"),
        ({"null": "shuffle-everything"}, "unknown null method"),
    ],
)
def test_bad_options_are_clear_errors(tiny_tensor, kwargs, message):
    with pytest.raises(ccc.CccError, match=message):
        ccc.search(tiny_tensor, progress=False, **kwargs)


def test_a_missing_analysis_directory_is_file_not_found(tiny_tensor, tmp_path):
    with pytest.raises(FileNotFoundError):
        ccc.search(tiny_tensor, analysis=tmp_path / "nowhere", progress=False)
