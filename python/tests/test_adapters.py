"""PEFT adapter runs from Python: ``ccc.summarize(..., base=...)`` writes what ``ccc summarize --base`` writes, and
``CCCCallback`` follows a PEFT training run (each adapter checkpoint against the base it names)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import FIXTURES, ROOT, run_cli

import ccc
from ccc.integrations.transformers import CCCCallback, base_of_adapter

LORA_RUN = FIXTURES / "lora" / "tiny-llama-lora"
DORA_RUN = FIXTURES / "lora" / "tiny-llama-dora"
TINY_LLAMA = FIXTURES / "tiny-llama" / "step400"


@pytest.mark.parametrize("run", [LORA_RUN, DORA_RUN], ids=["lora", "dora"])
@pytest.mark.parametrize("adapter", ["merged", "delta"])
def test_summarize_an_adapter_run_writes_the_same_bytes_as_the_cli(cli, tmp_path, run, adapter):
    cli_out, py_out = tmp_path / "cli.safetensors", tmp_path / "py.safetensors"
    run_cli(cli, "summarize", run, "--base", TINY_LLAMA, "--adapter", adapter, "-o", cli_out, "--quiet")
    r = ccc.summarize(run, py_out, base=TINY_LLAMA, adapter=adapter, progress=False)
    assert r["architecture"] == "llama" and r["computed"] == sorted(r["computed"]) and len(r["computed"]) >= 2
    assert cli_out.read_bytes() == py_out.read_bytes()
    t = ccc.open(py_out)
    # Merged: every component of the base; delta: only those the adapter changes.
    assert (t.mags.shape[2] == 34) == (adapter == "merged")


def test_an_adapter_run_without_its_base_is_one_clear_error(tmp_path):
    with pytest.raises(ccc.CccError, match=r"PEFT adapters.*base=.*tiny-llama/step400"):
        ccc.summarize(LORA_RUN, tmp_path / "x.safetensors", progress=False)
    with pytest.raises(ccc.CccError, match="adapter"):
        ccc.summarize(LORA_RUN, tmp_path / "x.safetensors", base=TINY_LLAMA, adapter="both", progress=False)
    with pytest.raises(FileNotFoundError):
        ccc.summarize(LORA_RUN, tmp_path / "x.safetensors", base=tmp_path / "nowhere", progress=False)


def test_the_callback_finds_the_base_an_adapter_names(tmp_path, monkeypatch):
    # The fixtures name their base relative to the repository's root.
    monkeypatch.chdir(ROOT)
    assert base_of_adapter(LORA_RUN / "checkpoint-10") == "tests/data/fixtures/tiny-llama/step400"
    monkeypatch.chdir(tmp_path)
    assert base_of_adapter(LORA_RUN / "checkpoint-10") == "hf:tests/data/fixtures/tiny-llama/step400"
    monkeypatch.chdir(ROOT)
    cb = CCCCallback(out=tmp_path / "live.safetensors")
    for step in (10, 20):
        cb.submit(LORA_RUN / f"checkpoint-{step}", step)
    cb.close()
    assert cb.errors == []
    whole = ccc.summarize(LORA_RUN, tmp_path / "whole.safetensors", base=TINY_LLAMA, progress=False)
    live, ref = ccc.open(tmp_path / "live.safetensors"), ccc.open(whole["outputs"][0])
    assert list(live.steps) == [10, 20] and list(ref.steps) == [0, 10, 20]
    np.testing.assert_array_equal(live.mags, ref.mags[:, 1:, :])


def test_the_callback_in_a_real_peft_training_run(tmp_path):
    torch = pytest.importorskip("torch")
    peft = pytest.importorskip("peft")
    pytest.importorskip("transformers")
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(str(TINY_LLAMA))
    model = peft.get_peft_model(base, peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    vocab = json.loads((TINY_LLAMA / "config.json").read_text())["vocab_size"]
    data = [{"input_ids": torch.randint(0, vocab, (16,))} for _ in range(32)]
    for d in data:
        d["labels"] = d["input_ids"]
    run = tmp_path / "run"
    args = TrainingArguments(
        output_dir=str(run),
        max_steps=10,
        save_steps=5,
        learning_rate=1e-2,
        per_device_train_batch_size=4,
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
    )
    cb = CCCCallback(out=tmp_path / "live.safetensors", adapter="delta")
    Trainer(model=model, args=args, train_dataset=data, callbacks=[cb]).train()
    assert cb.errors == []
    live = ccc.open(tmp_path / "live.safetensors")
    assert list(live.steps) == [5, 10] and live.filled.all()
    # The same adapters summarized afterwards, as a run, against the same base (the Trainer's optimizer states
    # and other files in the checkpoints are not read).
    for c in run.glob("checkpoint-*"):
        assert (c / "adapter_config.json").is_file()
    after = ccc.summarize(run, tmp_path / "after.safetensors", base=TINY_LLAMA, adapter="delta", progress=False)
    np.testing.assert_array_equal(live.mags, ccc.open(after["outputs"][0]).mags)
    # q and v of every head of both layers: ΔW moved away from zero.
    assert live.mags.shape[2] == 2 * (4 + 2) and (live.mags > 0).any(axis=(0, 1)).all()
    shutil.rmtree(run)
