"""The result of `ccc.search`: the front of the best groupings, their null comparison, tables."""

from __future__ import annotations

import json
import os
from functools import cached_property
from typing import Any, Union

from ._progress import progress_callback

PathLike = Union[str, "os.PathLike[str]"]


class Search:
    """The front found by ``ccc.search`` and its comparison with null tensors (the contents of ``search.json``).

    Attributes:
        front: the front's groupings, best irregularity per outlier count: dicts with ``groups``
            (``coords_in``, ``coords_out``, ``comps_grp1``, ``comps_grp2``: indices), ``group_names``,
            ``scores`` (``irregularity``, ``fraction``: exactly what ``ccc.score`` gives for these groups),
            ``null_ratio``, ``p_value``, ``random_percentile`` and ``start``.
        null: ``{"method", "fronts"}``: the fronts the same search found on each null tensor.
        verdict: one plain sentence — does the structure beat the null?
        interrupted: whether Ctrl-C stopped the search early.
    """

    def __init__(self, native: Any) -> None:
        self._native = native

    @cached_property
    def file(self) -> dict[str, Any]:
        """``search.json`` as a dict."""
        return dict(json.loads(self._native.search_json()))

    @property
    def front(self) -> list[dict[str, Any]]:
        return list(self.file["front"])

    @property
    def null(self) -> dict[str, Any]:
        return dict(self.file["null"])

    @property
    def budget(self) -> int:
        """Evaluations of each search, real and null (pass it as ``budget`` to repeat a time-budgeted run
        exactly)."""
        return int(self.file["options"]["budget"])

    @property
    def evaluations(self) -> int:
        """Evaluations done, over the real search and every null."""
        return int(self.file["evaluations"])

    @property
    def verdict(self) -> str:
        return str(self._native.verdict())

    @property
    def interrupted(self) -> bool:
        return bool(self._native.interrupted())

    def search_json(self) -> str:
        """The bytes of ``search.json`` as the command writes them."""
        return str(self._native.search_json())

    @property
    def search_csv(self) -> str:
        """The text of ``search.csv``."""
        return str(self._native.search_csv())

    def to_pandas(self) -> Any:
        """The front as a ``pandas.DataFrame``, one row per grouping: ``irregularity``, ``fraction``,
        ``n_outliers``, ``null_ratio``, ``p_value``, ``random_percentile``, ``start``, ``coords_out``,
        ``comps_grp1``, ``comps_grp2`` (names). Needs pandas."""
        try:
            import pandas as pd
        except ImportError as e:
            raise ImportError("Search.to_pandas() needs pandas: pip install pandas") from e
        rows = []
        for p in self.front:
            g, names = p["groups"], p["group_names"]
            rows.append(
                {
                    "irregularity": p["scores"]["irregularity"],
                    "fraction": p["scores"]["fraction"],
                    "n_outliers": len(g["coords_out"]),
                    "null_ratio": p.get("null_ratio"),
                    "p_value": p.get("p_value"),
                    "random_percentile": p.get("random_percentile"),
                    "start": p.get("start"),
                    "coords_out": g["coords_out"],
                    "comps_grp1": names["comps_grp1"],
                    "comps_grp2": names["comps_grp2"],
                }
            )
        return pd.DataFrame(rows)

    def write(self, out: PathLike, *, figures: bool = True, progress: Any = True) -> str:
        """Write ``search.json``, ``search.csv`` and (with ``figures``) a trajectory sheet per front point into
        ``out``, as ``ccc search -o OUT`` does; a ``report.html`` already there gains its Search section."""
        return os.fspath(
            self._native.write(os.fspath(out), figures=figures, progress=progress_callback(progress, "search"))
        )

    def __repr__(self) -> str:
        f = self.file
        return (
            f"<ccc.Search: front of {len(f['front'])} groupings, {len(f['null']['fronts'])} null tensor(s), "
            f"{f['options']['budget']} evaluations each>"
        )
