"""Shared fixtures: the repository's checkpoint fixtures (made by transformers) and the `ccc` binary built by
cargo, to compare the package with the command."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "data" / "fixtures"
TINY_NEOX = FIXTURES / "tiny-neox"


def ccc_binary() -> Path | None:
    """`$CCC_BIN`, else the release build of this checkout, else `ccc` on the PATH."""
    if os.environ.get("CCC_BIN"):
        return Path(os.environ["CCC_BIN"])
    built = ROOT / "target" / "release" / "ccc"
    if built.is_file():
        return built
    found = shutil.which("ccc")
    return Path(found) if found else None


@pytest.fixture(scope="session")
def cli() -> Path:
    b = ccc_binary()
    if b is None:
        pytest.skip("the ccc binary is not built (cargo build --release)")
    return b


def run_cli(cli: Path, *args: object, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True, check=check, cwd=cwd)


@pytest.fixture(scope="session")
def tiny_tensor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full-mode tensor of the tiny-neox run (14 checkpoints), written by the package."""
    import ccc

    out = tmp_path_factory.mktemp("tensor") / "tiny.safetensors"
    ccc.summarize([TINY_NEOX], out, progress=False)
    return out
