"""Type stubs of the native module `ccc._ccc` (the public API is `ccc`; see its docstrings)."""

from collections.abc import Callable
from typing import Any

__version__: str

class CccError(ValueError):
    """A bad input file, option or grouping; the message is the one line the `ccc` command prints."""

def read_tensor(path: str) -> dict[str, Any]: ...
def read_header(path: str) -> dict[str, Any]: ...
def summarize(
    inputs: list[str],
    out: str,
    *,
    mode: str = "full",
    summary: str = "mean_sq",
    steps: str | None = None,
    norms: bool = True,
    arch: str | None = None,
    allow_nonfinite: bool = False,
    model: str | None = None,
    jobs: int | None = None,
    max_memory: int | None = None,
    mmap: bool = True,
    revisions: str | None = None,
    base: str | None = None,
    adapter: str = "merged",
    progress: Callable[..., Any] | None = None,
) -> dict[str, Any]: ...
def analyze(
    tensor: Any,
    *,
    seed: int = 0,
    agg: str = "sum",
    grid: int = 100,
    steps: str | None = None,
    pipelines: str | None = None,
    pipelines_file: str | None = None,
    timings: bool = True,
    progress: Callable[..., Any] | None = None,
) -> NativeAnalysis: ...
def score(
    tensor: Any,
    groups_json: str,
    *,
    outliers: str | None = None,
    agg: str = "sum",
    grid: int = 100,
    steps: str | None = None,
    seed: int = 0,
) -> list[tuple[float | None, float, str]]: ...

class NativeAnalysis:
    def experiments_json(self) -> str: ...
    def summary_json(self) -> str: ...
    def scores_csv(self) -> str: ...
    def write(
        self,
        out: str,
        *,
        figures: str = "all",
        format: str = "png",
        smooth: int | None = None,
        full_size: bool = False,
        report: bool = True,
        standalone: bool = False,
        reload: int | None = None,
        progress: Callable[..., Any] | None = None,
    ) -> str: ...
    def consensus_outliers(self, threshold: float) -> list[int]: ...
    def top_outliers(self, n: int) -> list[int]: ...
    def changes_since(self, previous: NativeAnalysis | None, threshold: float) -> dict[str, Any]: ...
    def sheet_png(self, id: int, *, smooth: int | None = None, full_size: bool = False) -> bytes: ...
    def sheet_svg(self, id: int, *, smooth: int | None = None) -> str: ...

def search(
    tensor: Any,
    *,
    analysis: NativeAnalysis | None = None,
    experiments_dir: str | None = None,
    seed: int = 0,
    agg: str = "sum",
    grid: int = 100,
    steps: str | None = None,
    budget: int | str | None = None,
    nulls: int = 3,
    null: str | None = None,
    random: int = 100,
    random_starts: int = 16,
    max_fraction: float = 0.2,
    min_group: int = 2,
    timings: bool = True,
    out: str | None = None,
    figures: bool = True,
    progress: Callable[..., Any] | None = None,
) -> NativeSearch: ...

class NativeSearch:
    def search_json(self) -> str: ...
    def search_csv(self) -> str: ...
    def verdict(self) -> str: ...
    def interrupted(self) -> bool: ...
    def write(self, out: str, *, figures: bool = True, progress: Callable[..., Any] | None = None) -> str: ...
