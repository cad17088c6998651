"""`ccc watch` following a run directory that another process writes, as a trainer does: temporary directories
renamed when done, files written in pieces with pauses, shards."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
from conftest import TINY_NEOX

import ccc

# A writer process: each checkpoint's weights in two pieces with a pause in the middle. `direct` checkpoints are
# written under their final name (so an incomplete file is visible), the others in tmp-checkpoint-N, renamed.
WRITER = r"""
import os, shutil, sys, time
src, run, pause = sys.argv[1], sys.argv[2], float(sys.argv[3])
steps = [int(s) for s in sys.argv[4].split(",")]
direct = {int(s) for s in sys.argv[5].split(",") if s}
for step in steps:
    final = os.path.join(run, f"checkpoint-{step}")
    d = final if step in direct else os.path.join(run, f"tmp-checkpoint-{step}")
    os.makedirs(d)
    shutil.copy(os.path.join(src, f"step{step}", "config.json"), d)
    data = open(os.path.join(src, f"step{step}", "model.safetensors"), "rb").read()
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(data[: len(data) // 2]); f.flush(); os.fsync(f.fileno())
        time.sleep(pause)
        f.write(data[len(data) // 2 :])
    if d != final:
        os.rename(d, final)
    print(step, time.time(), flush=True)
"""


def start_watch(cli, run, out, *extra):
    return subprocess.Popen(
        [str(cli), "watch", str(run), "-o", str(out), "--poll", "0.5", *map(str, extra)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_watch_follows_a_directory_written_by_another_process(cli, tmp_path):
    run, out = tmp_path / "run", tmp_path / "live.safetensors"
    run.mkdir()
    steps = [0, 1, 2, 4, 8, 16]
    watch = start_watch(cli, run, out, "--idle-exit", 4, "--report", tmp_path / "report")
    writer = subprocess.run(
        [sys.executable, "-c", WRITER, str(TINY_NEOX), str(run), "1.5", ",".join(map(str, steps)), "2,8"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(writer.stdout.splitlines()) == len(steps)
    _, err = watch.communicate(timeout=120)
    assert watch.returncode == 0, err
    assert "skipped" not in err and "warning: step" not in err, err
    for s in steps:
        assert f"step {s}: added" in err
    t = ccc.open(out)
    assert list(t.steps) == steps and t.filled.all()
    whole = tmp_path / "whole.safetensors"
    ccc.summarize([TINY_NEOX], whole, steps=",".join(map(str, steps)), progress=False)
    np.testing.assert_array_equal(t.mags, ccc.open(whole).mags)
    page = (tmp_path / "report" / "report.html").read_text()
    assert '<meta http-equiv="refresh"' in page


def test_ctrl_c_leaves_a_valid_tensor(cli, tmp_path):
    run, out = tmp_path / "run", tmp_path / "live.safetensors"
    run.mkdir()
    watch = start_watch(cli, run, out)
    subprocess.run([sys.executable, "-c", WRITER, str(TINY_NEOX), str(run), "0", "0,1,2", ""], check=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if out.exists() and ccc.open(out).filled.sum() == 3:
            break
        time.sleep(0.2)
    watch.send_signal(signal.SIGINT)
    _, err = watch.communicate(timeout=30)
    assert watch.returncode == 0, err
    assert "stopped;" in err
    assert list(ccc.open(out).steps) == [0, 1, 2]
    # Watching again adds what came meanwhile, appending to the same file.
    subprocess.run([sys.executable, "-c", WRITER, str(TINY_NEOX), str(run), "0", "4", ""], check=True)
    again = start_watch(cli, run, out, "--idle-exit", 2)
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert list(ccc.open(out).steps) == [0, 1, 2, 4]
