"""ccc — Coordinates × Checkpoints × Components, from Python.

How a neural network's weights evolve over training: ``summarize`` checkpoints into the CCC tensor (one number per
residual-stream coordinate, checkpoint and component, a ``ccc/1`` safetensors file), ``open`` it as numpy arrays,
``analyze`` it (the 40 classification pipelines and 301 scored experiments of ``ccc analyze``), ``score`` your own
groupings, and look at trajectory sheets inline in Jupyter. Everything is computed by the same Rust code as the
``ccc`` command, so the same inputs and seed give the same results and the same bytes.

>>> import ccc
>>> t = ccc.open("run.ccc.safetensors")          # t.mags: float32 (coords, ckpts, comps), t.steps, t.components
>>> a = ccc.analyze(t, seed=0)                    # a.experiments, a.to_pandas(), a.sheet(12)
>>> ccc.score(t, {"comps_grp1": ["L*.H*.Q"], "comps_grp2": ["L*.mlp_in"]}, outliers="MAD-union-dif")
>>> s = ccc.search(t, analysis=a, budget="60s")  # s.front, s.verdict, s.to_pandas()

Long calls release the GIL, report progress through tqdm when it is installed, and stop on Ctrl-C
(``KeyboardInterrupt``; the files ccc writes stay valid). Errors are ``FileNotFoundError`` for a missing path and
``ccc.CccError`` (a ``ValueError``) for a bad file or option, with the message the ``ccc`` command prints.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, Callable, Union

from . import _ccc
from ._analysis import Analysis, Sheet
from ._ccc import CccError, __version__
from ._progress import CccWarning, progress_callback
from ._search import Search
from ._tensor import Tensor, open

__all__ = [
    "Analysis",
    "CccError",
    "CccWarning",
    "Search",
    "Sheet",
    "Tensor",
    "__version__",
    "analyze",
    "open",
    "score",
    "search",
    "summarize",
]

PathLike = Union[str, "os.PathLike[str]"]
TensorLike = Union[PathLike, Tensor]
Progress = Union[bool, Callable[..., Any], None]


def summarize(
    inputs: PathLike | Sequence[PathLike],
    out: PathLike,
    *,
    mode: str = "full",
    summary: str = "mean_sq",
    steps: str | None = None,
    norms: bool = True,
    arch: PathLike | None = None,
    allow_nonfinite: bool = False,
    model: str | None = None,
    jobs: int | None = None,
    max_memory: int | None = None,
    mmap: bool = True,
    revisions: str | None = None,
    base: PathLike | None = None,
    adapter: str = "merged",
    progress: Progress = True,
) -> dict[str, Any]:
    """Summarize checkpoints into a ``ccc/1`` file, as ``ccc summarize INPUTS -o OUT`` does (the same bytes).

    Args:
        inputs: checkpoint directories (``config.json`` + weights) or run directories whose subdirectories carry
            a step (``step1000``, ``checkpoint-1000``, …).
        out: the output file. An existing file is completed: only its missing steps are computed, and new steps
            are added (the tensor grows). With ``mode="full,compact"``, ``X.safetensors`` becomes
            ``X.full.safetensors`` and ``X.compact.safetensors``.
        mode: ``"full"`` (per head and layer), ``"compact"`` (per kind) or ``"full,compact"`` (one pass).
        summary: the row summary: ``mean_sq``, ``l2sq``, ``l2``, ``l1`` or ``max_abs``.
        steps: which steps, e.g. ``"0,1000,2000"``, ``"1000..5000"``, ``"%1000==0"`` (default: all).
        norms: summarize the norm gains (``ln_1``, ``ln_2``); ``False`` is the CLI's ``--no-norms``.
        arch: an architecture mapping file (TOML) for a model without a built-in mapping.
        allow_nonfinite: continue when a weight is NaN or Inf.
        model: the ``model`` name stored in the file (default: the input's name).
        jobs: checkpoints summarized at once (default: chosen from the cores and ``max_memory``).
        max_memory: bytes the checkpoints in flight may hold together (default 448 MiB).
        mmap: read weight files through memory maps (``False``: positioned reads, the CLI's ``--no-mmap``).
        revisions: names or globs choosing one series of checkpoint directories.
        base: the base model of a PEFT LoRA or DoRA run (the CLI's ``--base``): a checkpoint directory, or
            ``"hf:ORG/NAME[@REV]"`` (downloaded once into the hub cache). The inputs are then adapter checkpoints
            (``checkpoint-N/`` with ``adapter_config.json``).
        adapter: with ``base``: ``"merged"`` (W0 + ΔW for every component of the base) or ``"delta"`` (ΔW alone,
            for the adapted components).
        progress: ``True`` for a tqdm bar when tqdm is installed, ``False`` for none, or a callable.

    Returns:
        ``{"outputs": [paths], "architecture", "computed": [steps], "already": [steps], "seconds"}``.

    Raises:
        FileNotFoundError: an input or the output's directory does not exist.
        CccError: a bad option, no checkpoint found, or a file that cannot take these checkpoints.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    return _ccc.summarize(
        [os.fspath(i) for i in inputs],
        os.fspath(out),
        mode=mode,
        summary=summary,
        steps=steps,
        norms=norms,
        arch=None if arch is None else os.fspath(arch),
        allow_nonfinite=allow_nonfinite,
        model=model,
        jobs=jobs,
        max_memory=max_memory,
        mmap=mmap,
        revisions=revisions,
        base=None if base is None else os.fspath(base),
        adapter=adapter,
        progress=progress_callback(progress, "summarize"),
    )


def analyze(
    tensor: TensorLike,
    *,
    seed: int = 0,
    agg: str = "sum",
    grid: int = 100,
    steps: str | None = None,
    pipelines: str | None = None,
    pipelines_file: PathLike | None = None,
    timings: bool = True,
    out: PathLike | None = None,
    figures: str = "all",
    format: str = "png",
    smooth: int | None = None,
    full_size: bool = False,
    report: bool = True,
    standalone: bool = False,
    progress: Progress = True,
) -> Analysis:
    """Run the 40 classification pipelines and score the 301 experiments, as ``ccc analyze`` does.

    The same tensor and seed give the same results as the command (``experiments.json`` byte for byte with
    ``timings=False``).

    Args:
        tensor: a ``ccc/1`` file or a tensor from ``ccc.open`` (possibly changed: its arrays are used as they are).
        seed: the seed of the one random generator (random groupings, angles, k-means restarts).
        agg: how component groups become trajectories: ``sum``, ``inverse_length`` or ``pooled``.
        grid: the grid size of the irregularity score.
        steps: analyze only these filled checkpoints, e.g. ``"1000..143000"``, ``"%10000"``.
        pipelines: run only the pipelines matching these comma-separated globs (``"folding*"``, ``"17"``).
        pipelines_file: extra pipelines from a TOML file.
        timings: record wall times; ``False`` makes every file byte-identical between runs.
        out: also write the output directory of ``ccc analyze -o OUT``: ``experiments.json``, ``scores.csv``,
            ``summary.json``, ``figures/`` and ``report.html``.
        figures: with ``out``: ``all``, ``summary`` or ``none``.
        format: with ``out``: ``png``, ``svg`` or ``both``.
        smooth: with ``out``: a display-only moving average of the drawn trajectories.
        full_size: with ``out``: PNG figures at full size.
        report: with ``out``: write ``report.html``.
        standalone: with ``out``: inline the figures into ``report.html``.
        progress: ``True`` for tqdm bars when tqdm is installed, ``False`` for none, or a callable.

    Returns:
        An :class:`Analysis`: ``experiments`` (the records of ``experiments.json``), ``summary``, ``to_pandas()``,
        ``sheet(id)``, ``consensus``.

    Raises:
        FileNotFoundError: the file does not exist.
        CccError: not a ``ccc/1`` file, a bad option, or a tensor that cannot be analyzed (no filled checkpoint,
            a NaN).
    """
    native = _ccc.analyze(
        _tensor_arg(tensor),
        seed=seed,
        agg=agg,
        grid=grid,
        steps=steps,
        pipelines=pipelines,
        pipelines_file=None if pipelines_file is None else os.fspath(pipelines_file),
        timings=timings,
        progress=progress_callback(progress, "analyze"),
    )
    a = Analysis(native)
    if out is not None:
        a.write(
            out,
            figures=figures,
            format=format,
            smooth=smooth,
            full_size=full_size,
            report=report,
            standalone=standalone,
            progress=progress,
        )
    return a


def score(
    tensor: TensorLike,
    groups: dict[str, Any] | Sequence[dict[str, Any]],
    *,
    outliers: str | None = None,
    agg: str = "sum",
    grid: int = 100,
    steps: str | None = None,
    seed: int = 0,
) -> dict[str, Any] | list[dict[str, Any]]:
    """Score your own grouping(s), as ``ccc score`` does.

    Args:
        tensor: a ``ccc/1`` file or a tensor from ``ccc.open``.
        groups: a dict (or a list of dicts) with ``comps_grp1`` and ``comps_grp2`` — component indices, or names
            and globs such as ``"L*.H*.Q"`` — and optionally ``coords_in`` / ``coords_out`` (coordinate indices).
        outliers: without a coordinate split, the method that finds one, e.g. ``"MAD-union-dif"``.
        agg: ``sum``, ``inverse_length`` or ``pooled``.
        grid: the grid size of the irregularity score.
        steps: score only these filled checkpoints.
        seed: the seed of ``MAD-union-lincomb``'s random angles.

    Returns:
        ``{"irregularity": float | None, "fraction": float, "coords_out": [...], ...}`` (the groups completed),
        or a list of them for a list of groups. Irregularity is ``None`` with fewer than 3 checkpoints or no
        inliers.
    """
    one = isinstance(groups, dict)
    records = [groups] if one else list(groups)
    names = None
    if any(isinstance(v, str) for g in records for k in ("comps_grp1", "comps_grp2") for v in g.get(k) or []):
        names = (tensor if isinstance(tensor, Tensor) else open(tensor)).components
    fixed = [_indexed(g, names) for g in records]
    results = _ccc.score(
        _tensor_arg(tensor), json.dumps(fixed), outliers=outliers, agg=agg, grid=grid, steps=steps, seed=seed
    )
    out = []
    for irregularity, fraction, done in results:
        r = {"irregularity": irregularity, "fraction": fraction}
        r.update(json.loads(done))
        out.append(r)
    return out[0] if one else out


def search(
    tensor: TensorLike,
    *,
    analysis: Analysis | PathLike | None = None,
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
    out: PathLike | None = None,
    figures: bool = True,
    progress: Progress = True,
) -> Search:
    """Search the groupings with the best scores and test them against null tensors, as ``ccc search`` does
    (docs/search.md). The same tensor, seed and evaluation budget give the same front (``search.json`` byte for
    byte with ``timings=False``).

    Args:
        tensor: a ``ccc/1`` file or a tensor from ``ccc.open``.
        analysis: the start points: an :class:`Analysis` of this tensor, or an output directory holding its
            ``experiments.json``; without one the analysis runs first (same ``seed``, ``agg``, ``grid``, ``steps``).
        seed: the seed of every random draw (start points, annealing, null tensors, random groupings).
        agg, grid, steps: the score's options, as for ``ccc.score`` (they must match the analysis's).
        budget: evaluations of each search (real and every null), e.g. ``200_000``, or a wall time for all of
            them, e.g. ``"60s"``, ``"5m"`` (turned into an evaluation count once, see ``Search.budget``); the
            default (``"auto"``) is a count from the tensor's shape: 200 000 at 512 × 40 checkpoints and above, up
            to 600 000 for smaller tensors.
        nulls: null tensors searched the same way (0: no null comparison).
        null: how null tensors are made (default: coordinates permuted within each component).
        random: random groupings of the same sizes per front point (``random_percentile``).
        random_starts: random start points besides the experiments.
        max_fraction: largest fraction of outlier coordinates a grouping may have.
        min_group: fewest components in each of the two groups.
        timings: record the wall time in ``search.json``.
        out: also write ``search.json``, ``search.csv`` and the front's sheets there (``figures``).
        progress: ``True`` for tqdm bars when tqdm is installed, ``False`` for none, or a callable.

    Returns:
        A :class:`Search`: ``front``, ``null``, ``verdict``, ``to_pandas()``, ``write(out)``.

    Raises:
        FileNotFoundError: the file or the analysis directory's ``experiments.json`` does not exist.
        CccError: a bad option, fewer than 3 checkpoints, experiments that do not fit the tensor.
        KeyboardInterrupt: on Ctrl-C, once the best front so far is written into ``out`` (when given).
    """
    native_analysis = analysis._native if isinstance(analysis, Analysis) else None
    experiments_dir = None if analysis is None or native_analysis is not None else os.fspath(analysis)
    native = _ccc.search(
        _tensor_arg(tensor),
        analysis=native_analysis,
        experiments_dir=experiments_dir,
        seed=seed,
        agg=agg,
        grid=grid,
        steps=steps,
        budget=budget,
        nulls=nulls,
        null=null,
        random=random,
        random_starts=random_starts,
        max_fraction=max_fraction,
        min_group=min_group,
        timings=timings,
        out=None if out is None else os.fspath(out),
        figures=figures,
        progress=progress_callback(progress, "search"),
    )
    return Search(native)


def _tensor_arg(tensor: TensorLike) -> Any:
    if isinstance(tensor, Tensor):
        return tensor
    return os.fspath(tensor)


def _indexed(g: dict[str, Any], names: list[str] | None) -> dict[str, Any]:
    """A groups record with component names and globs turned into indices (sorted, distinct)."""
    import fnmatch

    allowed = {"coords_in", "coords_out", "comps_grp1", "comps_grp2"}
    unknown = set(g) - allowed
    if unknown:
        raise CccError(f"unknown groups key(s) {sorted(unknown)}; expected {sorted(allowed)}")
    out: dict[str, Any] = {}
    for key, values in g.items():
        if values is None:
            continue
        if isinstance(values, (str, int)):
            values = [values]
        idx: set[int] = set()
        for v in values:
            if isinstance(v, str) and names is not None and key.startswith("comps"):
                hits = [i for i, n in enumerate(names) for pat in v.split(",") if fnmatch.fnmatchcase(n, pat.strip())]
                if not hits:
                    raise CccError(f"{key} `{v}` matches no component (the tensor's names are like {names[:3]})")
                idx.update(hits)
            else:
                idx.add(int(v))
        out[key] = sorted(idx)
    return out
