"""Errors are Python exceptions with the one line the `ccc` command prints."""

from __future__ import annotations

import pytest
from conftest import TINY_NEOX, run_cli

import ccc


def cli_error(cli, *args) -> str:
    r = run_cli(cli, *args, check=False)
    assert r.returncode == 1
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ")
    return line[len("error: ") :]


def test_a_missing_file_is_file_not_found_with_the_cli_message(cli, tmp_path):
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(FileNotFoundError) as e:
        ccc.open(missing)
    assert str(e.value) == cli_error(cli, "info", missing)
    with pytest.raises(FileNotFoundError):
        ccc.analyze(missing)
    with pytest.raises(FileNotFoundError):
        ccc.score(missing, {"comps_grp1": [0], "comps_grp2": [1]}, outliers="MAD-union-dif")
    with pytest.raises(FileNotFoundError):
        ccc.summarize([tmp_path / "no-run"], tmp_path / "x.safetensors")


def test_a_bad_file_is_a_ccc_error_with_the_cli_message(cli, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b'\x10\x00\x00\x00\x00\x00\x00\x00{"a": 1}        ')
    with pytest.raises(ccc.CccError) as e:
        ccc.open(bad)
    assert isinstance(e.value, ValueError)
    assert str(e.value) == cli_error(cli, "info", bad)
    with pytest.raises(ccc.CccError):
        ccc.analyze(bad)


@pytest.mark.parametrize(
    "call",
    [
        lambda t, d: ccc.analyze(t, agg="median"),
        lambda t, d: ccc.analyze(t, grid=0),
        lambda t, d: ccc.analyze(t, steps="yesterday"),
        lambda t, d: ccc.analyze(t, pipelines="no-such-pipeline*"),
        lambda t, d: ccc.score(t, {"comps_grp1": [0], "comps_grp2": [1]}),
        lambda t, d: ccc.score(t, {"comps_grp1": ["nothing*"], "comps_grp2": [1]}),
        lambda t, d: ccc.score(t, {"comps_grp1": [999], "comps_grp2": [1]}, outliers="MAD-union-dif"),
        lambda t, d: ccc.score(t, {"comps_grp1": [0], "comps_grp2": [1]}, outliers="MAD-nothing"),
        lambda t, d: ccc.summarize([TINY_NEOX], d / "x.safetensors", mode="fast"),
        lambda t, d: ccc.summarize([TINY_NEOX], d / "x.safetensors", summary="mean"),
        lambda t, d: ccc.summarize([TINY_NEOX], d / "x.safetensors", steps="5000.."),
        lambda t, d: ccc.summarize([TINY_NEOX], d, progress=False),
    ],
)
def test_bad_options_are_ccc_errors(call, tiny_tensor, tmp_path):
    with pytest.raises(ccc.CccError) as e:
        call(tiny_tensor, tmp_path)
    assert "\n" not in str(e.value) and str(e.value)


def test_a_file_of_another_model_is_refused_as_the_cli_refuses_it(cli, tiny_tensor, tmp_path):
    other = tmp_path / "llama.safetensors"
    ccc.summarize([TINY_NEOX.parent / "tiny-llama"], other, progress=False)
    with pytest.raises(ccc.CccError) as e:
        ccc.summarize([TINY_NEOX], other, progress=False)
    assert str(e.value) == cli_error(cli, "summarize", TINY_NEOX, "-o", other, "--quiet")


def test_ctrl_c_interrupts_a_long_call(tiny_tensor, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import sys, ccc\n"
        "print('ready', flush=True)\n"
        "try:\n"
        "    while True:\n"
        f"        ccc.analyze({str(tiny_tensor)!r}, progress=False)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
        "    sys.exit(3)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 3 and "interrupted" in out
    assert time.monotonic() - t0 < 5
