"""Progress of long calls: tqdm bars when tqdm is installed, messages to the `ccc` logger, warnings as
`CccWarning`."""

from __future__ import annotations

import logging
import warnings
from typing import Any, Callable

log = logging.getLogger("ccc")


class CccWarning(UserWarning):
    """Something the user should know that does not stop the work (e.g. duplicate checkpoints)."""


class _Bars:
    """Receives the native progress events and shows them."""

    def __init__(self, use_tqdm: bool) -> None:
        self.tqdm: Any = None
        if use_tqdm:
            try:
                from tqdm.auto import tqdm

                self.tqdm = tqdm
            except ImportError:
                self.tqdm = None
        self.bar: Any = None

    def __call__(self, event: str, *args: Any) -> None:
        if event == "start":
            phase, total, unit = args
            self._close()
            if self.tqdm is not None:
                self.bar = self.tqdm(total=total or None, desc=phase, unit=f" {unit}" if unit else "it", leave=False)
        elif event == "advance":
            if self.bar is not None:
                self.bar.update(args[0])
        elif event == "finish":
            self._close()
        elif event == "message":
            log.info(args[0])
        elif event == "warn":
            warnings.warn(args[0], CccWarning, stacklevel=4)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __del__(self) -> None:
        self._close()


def progress_callback(progress: bool | Callable[..., Any] | None, what: str) -> Callable[..., Any]:
    """The callback the native module reports to: tqdm bars (``True``), none (``False``/``None``: warnings and
    log messages only) or the user's callable ``progress(event, *args)``."""
    del what
    if callable(progress):
        return progress
    return _Bars(bool(progress))
