"""`CCCCallback`: driven by a training loop that writes real checkpoints (through transformers' own callback
machinery), and inside a real `transformers.Trainer` when torch is installed."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import TINY_NEOX
from safetensors.numpy import load_file, save_file

import ccc
from ccc.integrations.transformers import CCCCallback

transformers = pytest.importorskip("transformers")
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments  # noqa: E402
from transformers.trainer_callback import CallbackHandler  # noqa: E402


class Reporter(TrainerCallback):
    """Stands for W&B / TensorBoard: records what reaches `on_log`."""

    def __init__(self) -> None:
        self.logs: list[dict] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.logs.append(dict(logs or {}))


def train(out_dir, handler, args, state, control, first: int, last: int, save_every: int, weights, rng, cb=None):
    """A training loop on numpy weights: an update per step, a checkpoint (config.json + model.safetensors, as
    save_pretrained writes them) every `save_every` steps, the Trainer's events in the Trainer's order. With `cb`,
    each save waits for the callback's work, as a real step (slower than a tiny checkpoint's summary) would."""
    for step in range(first, last + 1):
        for w in weights.values():
            w -= 1e-3 * rng.standard_normal(w.shape).astype(np.float32) * np.abs(w).mean()
        state.global_step = step
        control = handler.on_step_end(args, state, control)
        if control.should_log or step % 5 == 0:
            control = handler.on_log(args, state, control, logs={"loss": 1.0 / step})
            control.should_log = False
        if step % save_every == 0:
            ck = out_dir / f"checkpoint-{step}"
            ck.mkdir()
            shutil.copy(TINY_NEOX / "step0" / "config.json", ck / "config.json")
            save_file(weights, str(ck / "model.safetensors"))
            control = handler.on_save(args, state, control)
            if cb is not None:
                cb.wait()
    return control


def test_the_callback_grows_the_tensor_and_logs_scalars(tmp_path):
    out_dir, tensor = tmp_path / "run", tmp_path / "run.ccc.safetensors"
    out_dir.mkdir()
    args = TrainingArguments(output_dir=str(out_dir), save_steps=10, report_to=[])
    state, control = TrainerState(), TrainerControl()
    reporter = Reporter()
    cb = CCCCallback(out=tensor, analyze_every=2, report=tmp_path / "report")
    handler = CallbackHandler([reporter, cb], None, None, None, None)
    weights = load_file(str(TINY_NEOX / "step0" / "model.safetensors"))
    rng = np.random.default_rng(0)
    handler.on_train_begin(args, state, control)
    assert handler.callbacks[0] is cb, "the callback puts itself before the reporting callbacks"
    control = train(out_dir, handler, args, state, control, 1, 60, 10, weights, rng, cb)
    handler.on_train_end(args, state, control)
    assert cb.errors == []
    t = ccc.open(tensor)
    assert list(t.steps) == [10, 20, 30, 40, 50, 60] and t.filled.all()
    assert t.model == "run"
    # Analyses after saves 2, 4, 6: their scalars reached the reporter through on_log.
    logged = [log for log in reporter.logs if "ccc/consensus_outliers" in log]
    assert logged, reporter.logs
    assert {"ccc/switched_components", "ccc/new_outliers", "ccc/top_outlier_1"} <= set(logged[-1])
    assert cb.analysis is not None and cb.analysis.summary["steps"] == [10, 20, 30, 40, 50, 60]
    assert '<meta http-equiv="refresh"' in (tmp_path / "report" / "report.html").read_text()
    assert len(cb.save_seconds) == 6

    # A restarted training appends to the same file.
    cb2 = CCCCallback(out=tensor)
    handler2 = CallbackHandler([cb2], None, None, None, None)
    handler2.on_train_begin(args, state, control)
    train(out_dir, handler2, args, state, TrainerControl(), 61, 80, 10, weights, rng)
    handler2.on_train_end(args, state, control)
    assert cb2.errors == []
    assert list(ccc.open(tensor).steps) == [10, 20, 30, 40, 50, 60, 70, 80]


def test_a_checkpoint_that_cannot_be_read_does_not_stop_training(tmp_path, caplog):
    cb = CCCCallback(out=tmp_path / "t.safetensors")
    cb.submit(tmp_path / "checkpoint-5", 5)  # never written
    cb.close()
    assert len(cb.errors) == 1 and isinstance(cb.errors[0], FileNotFoundError)


def test_the_callback_in_a_real_trainer(tmp_path):
    torch = pytest.importorskip("torch")
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, Trainer

    config = GPTNeoXConfig(**json.loads((TINY_NEOX / "step0" / "config.json").read_text()))
    torch.manual_seed(0)
    model = GPTNeoXForCausalLM(config)
    data = [{"input_ids": torch.randint(0, config.vocab_size, (32,))} for _ in range(64)]
    for d in data:
        d["labels"] = d["input_ids"]
    args = TrainingArguments(
        output_dir=str(tmp_path / "run"),
        max_steps=20,
        save_steps=5,
        logging_steps=5,
        per_device_train_batch_size=4,
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
    )
    reporter = Reporter()
    cb = CCCCallback(out=tmp_path / "run.ccc.safetensors", analyze_every=2)
    trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[reporter, cb])
    trainer.train()
    assert cb.errors == []
    t = ccc.open(tmp_path / "run.ccc.safetensors")
    assert list(t.steps) == [5, 10, 15, 20] and t.filled.all() and t.architecture == "gpt_neox"
    # The last analysis (after the 4th save) reaches the reporters in the Trainer's final log, however fast the
    # training ran past the background work.
    assert "ccc/consensus_outliers" in reporter.logs[-1], reporter.logs
