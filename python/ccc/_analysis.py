"""The result of `ccc.analyze`: the experiments, the summary, tables, sheets."""

from __future__ import annotations

import csv
import io
import json
import os
from functools import cached_property
from typing import Any, Union

from . import _ccc
from ._progress import progress_callback

PathLike = Union[str, "os.PathLike[str]"]


class Sheet:
    """The 2×2 trajectory sheet of one experiment; shows itself inline in Jupyter (``_repr_png_``)."""

    def __init__(self, native: Any, id: int, smooth: int | None = None, full_size: bool = False) -> None:
        self._native = native
        self.id = id
        self.smooth = smooth
        self.full_size = full_size
        self._png: bytes | None = None

    @property
    def png(self) -> bytes:
        """The sheet as PNG bytes (screen size, 1600 × 1520, unless ``full_size``)."""
        if self._png is None:
            self._png = self._native.sheet_png(self.id, smooth=self.smooth, full_size=self.full_size)
        return self._png

    def svg(self) -> str:
        """The sheet as an SVG document."""
        return self._native.sheet_svg(self.id, smooth=self.smooth)

    def save(self, path: PathLike) -> None:
        """Write the sheet to ``path``: SVG when it ends in ``.svg``, else PNG."""
        p = os.fspath(path)
        if p.endswith(".svg"):
            with open(p, "w", encoding="utf-8") as f:
                f.write(self.svg())
        else:
            with open(p, "wb") as f:
                f.write(self.png)

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return f"<ccc.Sheet of experiment {self.id}>"


class Analysis:
    """The 301 scored experiments of an analysis (``ccc.analyze``).

    Attributes:
        experiments: the records of ``experiments.json`` (``id``, ``source``, ``method``, ``status``, ``groups``,
            ``group_names``, ``scores``, …), as dicts.
        summary: ``summary.json`` as a dict (shape, steps, options, consensus, pipelines, …).
    """

    def __init__(self, native: Any) -> None:
        self._native = native

    @cached_property
    def experiments(self) -> list[dict[str, Any]]:
        return list(json.loads(self._native.experiments_json())["experiments"])

    @cached_property
    def summary(self) -> dict[str, Any]:
        return dict(json.loads(self._native.summary_json()))

    @property
    def scores_csv(self) -> str:
        """The text of ``scores.csv``."""
        return str(self._native.scores_csv())

    def experiments_json(self) -> str:
        """The bytes of ``experiments.json`` as the command writes them."""
        return str(self._native.experiments_json())

    def scores(self) -> list[dict[str, Any]]:
        """``scores.csv`` as rows: ``id``, ``source``, ``method``, ``status``, ``irregularity``, ``fraction``."""
        rows = list(csv.DictReader(io.StringIO(self.scores_csv)))
        for r in rows:
            r["id"] = int(r["id"])
            for k in ("irregularity", "fraction"):
                r[k] = float(r[k]) if r[k] not in ("", None) else None
        return rows

    def to_pandas(self) -> Any:
        """The experiments as a ``pandas.DataFrame``, one row per experiment, indexed by ``id``: ``source``,
        ``method``, ``status``, ``irregularity``, ``fraction``, ``n_outliers``, ``coords_out``, ``comps_grp1``,
        ``comps_grp2`` (names), ``pipeline``, ``outlier_method``. Needs pandas (``pip install pandas``)."""
        try:
            import pandas as pd
        except ImportError as e:
            raise ImportError("Analysis.to_pandas() needs pandas: pip install pandas") from e
        rows = []
        for e in self.experiments:
            g = e["groups"]
            rows.append(
                {
                    "id": e["id"],
                    "source": e["source"],
                    "method": e["method"],
                    "status": e["status"],
                    "irregularity": e["scores"]["irregularity"],
                    "fraction": e["scores"]["fraction"],
                    "n_outliers": len(g["coords_out"]),
                    "coords_out": g["coords_out"],
                    "comps_grp1": e["group_names"]["comps_grp1"],
                    "comps_grp2": e["group_names"]["comps_grp2"],
                    "pipeline": e["pipeline"],
                    "outlier_method": e["outlier_method"],
                }
            )
        return pd.DataFrame(rows).set_index("id")

    def sheet(self, id: int, *, smooth: int | None = None, full_size: bool = False) -> Sheet:
        """The trajectory sheet of experiment ``id``, drawn when first shown or saved."""
        ids = {e["id"] for e in self.experiments}
        if id not in ids:
            raise _ccc.CccError(f"no experiment with id {id} (there are {len(ids)})")
        return Sheet(self._native, id, smooth, full_size)

    @property
    def outlier_consensus(self) -> list[float]:
        """For every coordinate, the fraction of experiments that call it an outlier."""
        return [c["outlier_fraction"] for c in self.summary["consensus"]["coords"]]

    def consensus_outliers(self, threshold: float = 0.5) -> list[int]:
        """The coordinates that more than ``threshold`` of the experiments call outliers."""
        return list(self._native.consensus_outliers(threshold))

    def top_outliers(self, n: int = 5) -> list[int]:
        """The ``n`` coordinates most often called outliers, most often first (ties by index)."""
        return list(self._native.top_outliers(n))

    def changes_since(self, previous: Analysis | None, threshold: float = 0.5) -> dict[str, Any]:
        """What changed since an earlier analysis of the same run: ``new_outliers`` and ``dropped_outliers``
        (coordinates that became or stopped being consensus outliers) and ``switched`` (``(component, from, to)``
        for each component whose majority group changed). Without ``previous`` every consensus outlier is new."""
        return dict(self._native.changes_since(None if previous is None else previous._native, threshold))

    def write(
        self,
        out: PathLike,
        *,
        figures: str = "all",
        format: str = "png",
        smooth: int | None = None,
        full_size: bool = False,
        report: bool = True,
        standalone: bool = False,
        reload: int | None = None,
        progress: Any = True,
    ) -> str:
        """Write the output directory of ``ccc analyze -o OUT``: the analysis files, ``figures/`` and
        ``report.html`` (which reloads itself every ``reload`` seconds when given, for a run still training).
        Returns ``out``."""
        return os.fspath(
            self._native.write(
                os.fspath(out),
                figures=figures,
                format=format,
                smooth=smooth,
                full_size=full_size,
                report=report,
                standalone=standalone,
                reload=reload,
                progress=progress_callback(progress, "figures"),
            )
        )

    def __repr__(self) -> str:
        s = self.summary
        c, t, k = s["shape"]
        counts = s["status_counts"]
        return (
            f"<ccc.Analysis of {s['model'] or '?'}: {s['n_experiments']} experiments on {c}×{t}×{k} "
            f"({counts.get('ok', 0)} ok, {counts.get('degenerate', 0)} degenerate, {counts.get('failed', 0)} failed)>"
        )
