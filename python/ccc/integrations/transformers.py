"""``CCCCallback``: the CCC tensor of a run grows while ``transformers.Trainer`` trains.

>>> from ccc.integrations.transformers import CCCCallback
>>> trainer = Trainer(..., callbacks=[CCCCallback(out="run.ccc.safetensors", analyze_every=10)])

At every save, the checkpoint just written (``args.output_dir/checkpoint-{global_step}``) is summarized into the
run's tensor, which grows by one step in place (the file stays valid at every moment, and a restarted training
appends to the same file). Every ``analyze_every`` saves the tensor is analyzed and a few scalars are logged
through ``on_log`` — so they reach W&B, TensorBoard or whatever ``report_to`` names:

- ``ccc/consensus_outliers``: how many coordinates most experiments call outliers;
- ``ccc/top_outlier_1`` … ``ccc/top_outlier_{top}``: the coordinates most often called outliers;
- ``ccc/switched_components``: how many components changed their majority group since the last analysis;
- ``ccc/new_outliers``: how many coordinates became consensus outliers since the last analysis.

A PEFT run (LoRA or DoRA) saves adapters, not models: each ``checkpoint-N`` with an ``adapter_config.json`` is
summarized against its base model — ``base`` if given, else the one the adapter names
(``base_model_name_or_path``: a local directory, or a hub id fetched once into the hub cache) — merged (W0 + ΔW) or
as ΔW alone (``adapter="delta"``).

The work runs on a background thread, so training goes on while a checkpoint is summarized; ``close()`` (called
by ``on_train_end``) waits for it. Importable without transformers (it is then a plain object with the same
methods, for your own training loop).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

import ccc

log = logging.getLogger("ccc")

try:  # A TrainerCallback when transformers is there; the same methods on a plain object otherwise.
    from transformers import TrainerCallback as _Base
except Exception:  # pragma: no cover - exercised only without transformers
    _Base = object  # type: ignore[misc,assignment]


class CCCCallback(_Base):  # type: ignore[misc,valid-type]
    """Summarize each saved checkpoint into a growing CCC tensor; analyze it every ``analyze_every`` saves.

    Args:
        out: the run's tensor (a ``ccc/1`` file); created at the first save, appended to afterwards.
        analyze_every: analyze after every this many saves (0: never).
        report: a directory for the analysis files, figures and the self-reloading ``report.html`` (optional).
        mode, summary, norms, model: as for ``ccc.summarize``.
        seed: the analysis seed.
        figures: the figures written into ``report`` (``"summary"`` by default: the run figures, quick).
        top: how many top outlier coordinates to log.
        threshold: the fraction of experiments above which a coordinate is a consensus outlier.
        base: the base model of a PEFT run, as for ``ccc.summarize`` (default: the one each adapter names).
        adapter: ``"merged"`` or ``"delta"``, for a PEFT run.
    """

    def __init__(
        self,
        out: str | os.PathLike[str],
        *,
        analyze_every: int = 0,
        report: str | os.PathLike[str] | None = None,
        mode: str = "full",
        summary: str = "mean_sq",
        norms: bool = True,
        model: str | None = None,
        seed: int = 0,
        figures: str = "summary",
        top: int = 3,
        threshold: float = 0.5,
        base: str | os.PathLike[str] | None = None,
        adapter: str = "merged",
    ) -> None:
        if analyze_every < 0:
            raise ccc.CccError("analyze_every must be 0 (never) or more")
        self.out = os.fspath(out)
        self.analyze_every = analyze_every
        self.report = None if report is None else os.fspath(report)
        self.mode, self.summary, self.norms, self.model = mode, summary, norms, model
        self.seed, self.figures, self.top, self.threshold = seed, figures, top, threshold
        self.base = None if base is None else os.fspath(base)
        self.adapter = adapter
        self.saves = 0
        self.errors: list[BaseException] = []
        self.save_seconds: list[float] = []
        self.analysis: ccc.Analysis | None = None
        self._previous: ccc.Analysis | None = None
        self._pending: dict[str, float] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, int] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    # --- the Trainer's events -------------------------------------------------------------------------------

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # Our scalars must be in `logs` before the reporting callbacks (W&B, TensorBoard) see them, but the
        # Trainer puts user callbacks after those: move this one to the front of the handler that calls us.
        frame = inspect.currentframe()
        handler = frame.f_back.f_locals.get("self") if frame is not None and frame.f_back is not None else None
        callbacks = getattr(handler, "callbacks", None)
        if isinstance(callbacks, list) and self in callbacks and callbacks[0] is not self:
            callbacks.remove(self)
            callbacks.insert(0, self)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not getattr(state, "is_world_process_zero", True):
            return
        ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        self.submit(ckpt, int(state.global_step))

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        with self._lock:
            if self._pending:
                control.should_log = True  # log the new scalars now rather than at the next logging step

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if logs is not None and "train_runtime" in logs:
            # The Trainer's last log (its summary) comes after the last save and before `on_train_end`: wait for
            # the queued checkpoints here, so the final analysis reaches the reporters instead of being dropped.
            self.wait()
        with self._lock:
            pending, self._pending = self._pending, {}
        if logs is not None:
            logs.update(pending)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.close()

    # --- for any training loop ------------------------------------------------------------------------------

    def submit(self, checkpoint: str | os.PathLike[str], step: int) -> None:
        """Queue one checkpoint directory (complete on disk) to be added to the tensor as ``step``."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="ccc-callback", daemon=True)
            self._thread.start()
        self._queue.put((os.fspath(checkpoint), step))

    def wait(self) -> None:
        """Wait until every checkpoint queued so far is in the tensor (and its analysis done); the thread stays."""
        self._queue.join()

    def close(self) -> None:
        """Wait until every queued checkpoint is in the tensor (and its analysis done)."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._thread = None
        for e in self.errors:
            log.warning("ccc callback: %s", e)

    def pop_scalars(self) -> dict[str, float]:
        """The scalars of the latest analysis not logged yet (what ``on_log`` adds)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return pending

    # --- the background thread ------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._queue.task_done()
                return
            ckpt, step = item
            try:
                self._add(ckpt, step)
            except Exception as e:  # keep training going; report at close() and in the log
                log.warning("ccc callback: step %d: %s", step, e)
                self.errors.append(e)
            finally:
                self._queue.task_done()

    def _add(self, ckpt: str, step: int) -> None:
        t0 = time.perf_counter()
        base = self.base
        if base is None and (Path(ckpt) / "adapter_config.json").is_file():
            base = base_of_adapter(ckpt)
        ccc.summarize(
            [ckpt],
            self.out,
            base=base,
            adapter=self.adapter,
            mode=self.mode,
            summary=self.summary,
            norms=self.norms,
            model=self.model,
            steps=str(step),
            jobs=1,
            progress=False,
        )
        self.saves += 1
        if self.analyze_every and self.saves % self.analyze_every == 0:
            self._analyze()
        self.save_seconds.append(time.perf_counter() - t0)

    def _analyze(self) -> None:
        a = ccc.analyze(self.out, seed=self.seed, progress=False)
        if self.report is not None:
            a.write(self.report, figures=self.figures, reload=10, progress=False)
        changes = a.changes_since(self._previous, threshold=self.threshold)
        scalars: dict[str, float] = {
            "ccc/consensus_outliers": float(len(a.consensus_outliers(self.threshold))),
            "ccc/switched_components": float(len(changes["switched"])),
            "ccc/new_outliers": float(len(changes["new_outliers"])),
        }
        for i, c in enumerate(a.top_outliers(self.top)):
            scalars[f"ccc/top_outlier_{i + 1}"] = float(c)
        with self._lock:
            self._pending.update(scalars)
        self._previous, self.analysis = a, a


def base_of_adapter(checkpoint: str | os.PathLike[str]) -> str:
    """The base model a PEFT adapter checkpoint names (``base_model_name_or_path`` of its ``adapter_config.json``):
    the directory if it is one here, else the hub id as ``hf:ORG/NAME``."""
    config = json.loads((Path(checkpoint) / "adapter_config.json").read_text())
    named = config.get("base_model_name_or_path")
    if not named:
        raise ccc.CccError(f"{checkpoint}: adapter_config.json names no base model; give CCCCallback(base=...)")
    return named if Path(named).is_dir() else f"hf:{named}"
