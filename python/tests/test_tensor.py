"""`ccc.open` against the file read by `safetensors.numpy`, and `ccc.summarize` against `ccc summarize`."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from conftest import TINY_NEOX, run_cli
from safetensors.numpy import load_file

import ccc


def header_metadata(path) -> dict:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))["__metadata__"]


def test_open_gives_the_arrays_safetensors_reads(tiny_tensor):
    t = ccc.open(tiny_tensor)
    ref = load_file(str(tiny_tensor))
    assert t.mags.dtype == np.float32 and t.mags.shape == ref["mags"].shape
    np.testing.assert_array_equal(t.mags, ref["mags"])
    np.testing.assert_array_equal(t.steps, ref["steps"])
    np.testing.assert_array_equal(t.lengths, ref["lengths"])
    np.testing.assert_array_equal(t.filled, ref["filled"].astype(bool))
    meta = header_metadata(tiny_tensor)
    assert t.metadata == meta
    assert t.components == json.loads(meta["components"])
    assert t.shape == (64, 14, 42) and t.mode == "full" and t.architecture == "gpt_neox"
    assert list(t.steps) == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1500, 2000]
    # A copy-on-write map of the file by default; or one read into the array's own buffer (a view of the memory
    # handed over from Rust, not a copy).
    assert isinstance(t.mags, np.memmap) and t.mags.flags["WRITEABLE"]
    read = ccc.open(tiny_tensor, mmap=False)
    assert read.mags.flags["C_CONTIGUOUS"] and read.mags.base is not None and not isinstance(read.mags, np.memmap)
    np.testing.assert_array_equal(read.mags, ref["mags"])
    before = tiny_tensor.read_bytes()
    t.mags[0, 0, 0] = 1e9  # changes the array, never the file
    assert tiny_tensor.read_bytes() == before
    np.testing.assert_array_equal(t.component("L0.H1.Q"), ref["mags"][:, :, t.components.index("L0.H1.Q")])
    with pytest.raises(KeyError):
        t.component("L9.H9.Q")


def test_summarize_writes_the_same_bytes_as_the_cli(cli, tmp_path):
    run_cli(cli, "summarize", TINY_NEOX, "-o", tmp_path / "cli.safetensors", "--mode", "full,compact", "--quiet")
    r = ccc.summarize(TINY_NEOX, tmp_path / "py.safetensors", mode="full,compact", progress=False)
    assert [p.name for p in r["outputs"]] == ["py.full.safetensors", "py.compact.safetensors"]
    assert r["computed"] == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1500, 2000]
    for mode in ("full", "compact"):
        a = (tmp_path / f"cli.{mode}.safetensors").read_bytes()
        b = (tmp_path / f"py.{mode}.safetensors").read_bytes()
        assert a == b, mode


def test_summarize_options_are_the_cli_flags(cli, tmp_path):
    args = dict(summary="l2", steps="0..100", norms=False, model="tiny")
    run_cli(
        cli,
        "summarize",
        TINY_NEOX,
        "-o",
        tmp_path / "cli.safetensors",
        "--summary",
        "l2",
        "--steps",
        "0..100",
        "--no-norms",
        "--model",
        "tiny",
        "--quiet",
    )
    ccc.summarize([TINY_NEOX], tmp_path / "py.safetensors", progress=False, **args)
    assert (tmp_path / "cli.safetensors").read_bytes() == (tmp_path / "py.safetensors").read_bytes()
    t = ccc.open(tmp_path / "py.safetensors")
    assert t.summary == "l2" and t.model == "tiny" and list(t.steps) == [0, 1, 2, 4, 8, 16, 32, 64]
    assert not any(c.endswith(("ln_1", "ln_2")) for c in t.components)


def test_summarizing_into_an_existing_file_adds_only_the_new_steps(tmp_path):
    out = tmp_path / "grow.safetensors"
    first = ccc.summarize([TINY_NEOX], out, steps="0..10", progress=False)
    assert first["computed"] == [0, 1, 2, 4, 8]
    again = ccc.summarize([TINY_NEOX], out, progress=False)
    assert again["already"] == [0, 1, 2, 4, 8] and again["computed"][0] == 16
    whole = tmp_path / "whole.safetensors"
    ccc.summarize([TINY_NEOX], whole, progress=False)
    np.testing.assert_array_equal(ccc.open(out).mags, ccc.open(whole).mags)


def test_a_tensor_changed_in_python_is_analyzed_as_changed(tiny_tensor):
    t = ccc.open(tiny_tensor)
    part = t.filled_only()
    part.filled[5:] = False  # only the first five checkpoints
    a = ccc.analyze(part, pipelines="1", progress=False)
    assert a.summary["steps"] == [0, 1, 2, 4, 8]
    assert repr(t).startswith("<ccc.Tensor tiny-neox (gpt_neox, full, mean_sq): 64 coords × 14 ckpts")


def test_a_tensor_grown_one_checkpoint_at_a_time(tmp_path):
    out = tmp_path / "live.safetensors"
    steps = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1500, 2000]
    for s in steps:
        ccc.summarize([TINY_NEOX / f"step{s}"], out, progress=False)
        assert list(ccc.open(out).steps) == steps[: steps.index(s) + 1]
    whole = tmp_path / "whole.safetensors"
    ccc.summarize([TINY_NEOX], whole, progress=False)
    np.testing.assert_array_equal(ccc.open(out).mags, ccc.open(whole).mags)
    # The safetensors package sees the spare slots as unfilled checkpoints; `filled` still tells what is real.
    np.testing.assert_array_equal(ccc.open(out, mmap=False).mags, ccc.open(whole).mags)
    raw = load_file(str(out))
    assert int(header_metadata(out)["spare"]) == len(raw["steps"]) - len(steps)
    done = raw["filled"] == 1
    np.testing.assert_array_equal(raw["steps"][done], steps)
    np.testing.assert_array_equal(raw["mags"][:, done, :], ccc.open(whole).mags)
