"""The CCC tensor in Python: numpy arrays and the file's metadata."""

from __future__ import annotations

import json
import os
from typing import Union

import numpy as np

from . import _ccc

PathLike = Union[str, "os.PathLike[str]"]


class Tensor:
    """A CCC tensor: ``mags[c, t, k]`` over residual-stream coordinates × checkpoints × components.

    Attributes:
        mags: float32 array ``(coords, ckpts, comps)`` — every checkpoint slot of the file, filled or not.
        steps: int64 array, the training step of each checkpoint (strictly increasing).
        filled: bool array, whether each checkpoint has been computed (only those are analyzed).
        lengths: int64 array, the row length of each component.
        metadata: the file's metadata (strings), e.g. ``model``, ``architecture``, ``mode``, ``summary``.
        path: the file it was read from, if any.

    ``analyze(t)`` and ``score(t, ...)`` use the arrays as they are, so a tensor changed in Python (values,
    ``t.filled_only()``, a selection of checkpoints) is analyzed as changed.
    """

    __slots__ = ("mags", "steps", "filled", "lengths", "metadata", "path")

    def __init__(
        self,
        mags: np.ndarray,
        steps: np.ndarray,
        filled: np.ndarray,
        lengths: np.ndarray,
        metadata: dict[str, str],
        path: str | None = None,
    ) -> None:
        self.mags = mags
        self.steps = steps
        self.filled = filled
        self.lengths = lengths
        self.metadata = dict(metadata)
        self.path = path

    @property
    def components(self) -> list[str]:
        """The component names, in the order of the last axis (``emb_in``, ``L0.H0.Q``, …)."""
        return list(json.loads(self.metadata["components"]))

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(coords, ckpts, comps)``."""
        c, t, k = self.mags.shape
        return (int(c), int(t), int(k))

    @property
    def model(self) -> str:
        """The ``model`` metadata (free text, e.g. a hub id)."""
        return self.metadata.get("model", "")

    @property
    def architecture(self) -> str:
        """The architecture mapping's name (``gpt_neox``, ``llama``, …)."""
        return self.metadata.get("architecture", "")

    @property
    def mode(self) -> str:
        """``full`` or ``compact``."""
        return self.metadata["mode"]

    @property
    def summary(self) -> str:
        """The row summary (``mean_sq``, ``l2sq``, ``l2``, ``l1``, ``max_abs``)."""
        return self.metadata["summary"]

    def filled_only(self) -> Tensor:
        """Only the computed checkpoints (what the analysis uses)."""
        keep = np.flatnonzero(self.filled)
        return Tensor(
            np.ascontiguousarray(self.mags[:, keep, :]),
            self.steps[keep].copy(),
            self.filled[keep].copy(),
            self.lengths.copy(),
            self.metadata,
            self.path,
        )

    def component(self, name: str) -> np.ndarray:
        """One component's values, ``(coords, ckpts)`` (a view of ``mags``)."""
        try:
            k = self.components.index(name)
        except ValueError:
            raise KeyError(f"no component `{name}`; the tensor has e.g. {self.components[:4]}") from None
        return self.mags[:, :, k]

    def __repr__(self) -> str:
        c, t, k = self.shape
        n = int(np.count_nonzero(self.filled))
        steps = f"steps {int(self.steps[0])}–{int(self.steps[-1])}" if t else "no steps"
        return (
            f"<ccc.Tensor {self.model or '?'} ({self.architecture}, {self.mode}, {self.summary}): "
            f"{c} coords × {t} ckpts ({n} filled, {steps}) × {k} comps>"
        )


def open(path: PathLike, *, mmap: bool = True) -> Tensor:  # noqa: A001 - the package's verb, as in `ccc.open`
    """Read a ``ccc/1`` file (the tensor ``ccc summarize`` writes) into numpy arrays.

    With ``mmap=True`` (the default) ``mags`` is a copy-on-write memory map of the file's values: nothing is read
    until used, and changing the array never changes the file. With ``mmap=False`` the file is read once, straight
    into the array that ``mags`` then holds. The header is validated first either way.

    Raises:
        FileNotFoundError: the file does not exist.
        CccError: it is not a valid ``ccc/1`` file (the message names what is wrong).
    """
    p = os.fspath(path)
    if not mmap:
        d = _ccc.read_tensor(p)
        return Tensor(d["mags"], d["steps"], d["filled"], d["lengths"], d["metadata"], p)
    h = _ccc.read_header(p)
    c, slots, k = h["shape"]
    n_ckpt = len(h["steps"])
    if c * slots * k == 0:
        mags = np.zeros((c, n_ckpt, k), dtype=np.float32)
    else:
        mags = np.memmap(p, dtype="<f4", mode="c", offset=h["values_offset"], shape=(c, slots, k))
        if slots != n_ckpt:  # leave out the spare slots of a growing file
            mags = mags[:, :n_ckpt, :]
    return Tensor(mags, h["steps"], h["filled"], h["lengths"], h["metadata"], p)
