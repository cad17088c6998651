"""Measure the numbers of docs/python.md and docs/live.md (run by scripts/bench-live.sh, which builds what it needs).

    python scripts/bench_live.py WORKDIR CCC_BIN GEN_TENSOR [open|analyze|watch|callback ...]

- open: `ccc.open` of a pythia-160m-shaped tensor (768 × 234 × 601, 433 MB), page cache warm, best of 5.
- analyze: `ccc.analyze(path)` against `ccc analyze FILE --figures none --no-report`, same tensor (512 × 40 × 242),
  alternating, 3 runs each, median.
- watch: `ccc watch` on a run directory; a writer process writes pythia-160m-shaped checkpoints (random f32
  weights, 650 MB each, GPT-NeoX names); the time from the writer's last byte (after close) to the line
  `step N: added` of `ccc watch`.
- callback: a transformers.Trainer run (mini-neox shape: C=128, L=6, 1.7 M parameters; batches of 2 × 32 tokens)
  of 300 steps saving every 100, with and without `CCCCallback(analyze_every=2)`, alternating, 2 runs each; wall
  time of `trainer.train()` and the callback's background seconds per save.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

work, ccc_bin, gen = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
which = sys.argv[4:] or ["open", "analyze", "watch", "callback"]
work.mkdir(parents=True, exist_ok=True)

import ccc


def bench_open() -> None:
    path = work / "p160m-shaped.safetensors"
    if not path.exists():
        subprocess.run(
            [gen, str(path), "--coords", "768", "--ckpts", "234", "--layers", "12", "--heads", "12"], check=True
        )
    size = path.stat().st_size
    ccc.open(path, mmap=False)  # warm the page cache
    for mmap in (True, False):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            t = ccc.open(path, mmap=mmap)
            times.append(time.perf_counter() - t0)
            del t
        how = "memory map (default)" if mmap else "one read (mmap=False)"
        print(f"open, {how}: {size / 1e6:.0f} MB: best {min(times):.4f} s, median {statistics.median(times):.4f} s")


def bench_analyze() -> None:
    path = work / "analyze.safetensors"
    if not path.exists():
        subprocess.run(
            [gen, str(path), "--coords", "512", "--ckpts", "40", "--layers", "6", "--heads", "8"], check=True
        )
    cli, py = [], []
    for i in range(3):
        t0 = time.perf_counter()
        subprocess.run(
            [ccc_bin, "analyze", str(path), "-o", str(work / "out-cli"), "--quiet", "--figures", "none", "--no-report"],
            check=True,
        )
        cli.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ccc.analyze(path, progress=False)
        py.append(time.perf_counter() - t0)
    c, p = statistics.median(cli), statistics.median(py)
    print(
        f"analyze: CLI median {c:.2f} s {[round(x, 2) for x in cli]}, Python median {p:.2f} s "
        f"{[round(x, 2) for x in py]}: {100 * (p - c) / c:+.1f}%"
    )


WRITER = r"""
import json, os, sys, time
import numpy as np
from safetensors.numpy import save_file
run, steps = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
C, L, F, V = 768, 12, 3072, 50304
cfg = {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "hidden_size": C, "num_hidden_layers": L,
       "num_attention_heads": 12, "intermediate_size": F, "vocab_size": V, "tie_word_embeddings": False}
rng = np.random.default_rng(0)
def w(*shape): return rng.standard_normal(shape, dtype=np.float32) * 0.02
for step in steps:
    t = {"gpt_neox.embed_in.weight": w(V, C), "embed_out.weight": w(V, C)}
    for l in range(L):
        p = f"gpt_neox.layers.{l}."
        t[p + "attention.query_key_value.weight"] = w(3 * C, C)
        t[p + "attention.dense.weight"] = w(C, C)
        t[p + "mlp.dense_h_to_4h.weight"] = w(F, C)
        t[p + "mlp.dense_4h_to_h.weight"] = w(C, F)
        for n in ("input_layernorm", "post_attention_layernorm"):
            t[p + n + ".weight"] = 1 + w(C)
    tmp = os.path.join(run, f"tmp-checkpoint-{step}")
    os.makedirs(tmp)
    json.dump(cfg, open(os.path.join(tmp, "config.json"), "w"))
    save_file(t, os.path.join(tmp, "model.safetensors"))
    os.rename(tmp, os.path.join(run, f"checkpoint-{step}"))
    print(step, time.time(), flush=True)
    time.sleep(3)
"""


def bench_watch() -> None:
    run = work / "watch-run"
    out = work / "watch.safetensors"
    subprocess.run(["rm", "-rf", str(run), str(out)], check=True)
    run.mkdir()
    watch = subprocess.Popen(
        [ccc_bin, "watch", str(run), "-o", str(out), "--idle-exit", "25"], stderr=subprocess.PIPE, text=True
    )
    added: dict[int, float] = {}

    def read() -> None:
        for line in watch.stderr:
            if line.startswith("step ") and ": added" in line:
                added[int(line.split()[1].rstrip(":"))] = time.time()

    reader = threading.Thread(target=read)
    reader.start()
    steps = [100, 200, 300, 400, 500]
    w = subprocess.run(
        [sys.executable, "-c", WRITER, str(run), ",".join(map(str, steps))], capture_output=True, text=True, check=True
    )
    written = {int(a): float(b) for a, b in (line.split() for line in w.stdout.splitlines())}
    watch.wait(timeout=120)
    reader.join()
    lat = [added[s] - written[s] for s in steps]
    size = sum(f.stat().st_size for f in (run / "checkpoint-100").iterdir())
    print(
        f"watch: {size / 1e6:.0f} MB checkpoints; last byte → in the tensor: {[round(x, 2) for x in lat]} s "
        f"(max {max(lat):.2f} s)"
    )


def bench_callback() -> None:
    import torch
    from ccc.integrations.transformers import CCCCallback
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, Trainer, TrainingArguments

    root = Path(__file__).resolve().parents[1]
    cfg = json.loads((root / "tests/data/fixtures/mini-neox/step0/config.json").read_text())
    torch.set_num_threads(2)

    import resource

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process: torch's and ccc's
        return r.ru_utime + r.ru_stime

    def one(with_cb: bool, i: int) -> tuple[float, float, list[float]]:
        torch.manual_seed(0)
        model = GPTNeoXForCausalLM(GPTNeoXConfig(**cfg))
        g = torch.Generator().manual_seed(0)
        data = [
            {"input_ids": (x := torch.randint(0, cfg["vocab_size"], (32,), generator=g)), "labels": x}
            for _ in range(300 * 2)
        ]
        out = work / f"cb-run-{int(with_cb)}-{i}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        args = TrainingArguments(
            output_dir=str(out),
            max_steps=300,
            save_steps=100,
            logging_steps=50,
            per_device_train_batch_size=2,
            report_to=[],
            use_cpu=True,
            disable_tqdm=True,
            dataloader_num_workers=0,
        )
        cbs = [CCCCallback(out=str(out) + ".ccc.safetensors", analyze_every=2)] if with_cb else []
        trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=cbs)
        t0, c0 = time.perf_counter(), cpu()
        trainer.train()
        return time.perf_counter() - t0, cpu() - c0, (cbs[0].save_seconds if cbs else [])

    base, withcb, base_cpu, withcb_cpu, saves = [], [], [], [], []
    for i in range(2):
        t, c, _ = one(False, i)
        base.append(t)
        base_cpu.append(c)
        t, c, s = one(True, i)
        withcb.append(t)
        withcb_cpu.append(c)
        saves += s
    b, c = statistics.median(base), statistics.median(withcb)
    bc, cc = statistics.median(base_cpu), statistics.median(withcb_cpu)
    print(
        f"callback: 300 steps saving every 100: wall without {b:.1f} s {[round(x, 1) for x in base]}, with "
        f"{c:.1f} s {[round(x, 1) for x in withcb]}: {100 * (c - b) / b:+.1f}%; process CPU without {bc:.1f} s, "
        f"with {cc:.1f} s: {100 * (cc - bc) / bc:+.1f}%; background work per save (summary, and analysis every "
        f"2nd) median {statistics.median(saves):.2f} s, max {max(saves):.2f} s, total {sum(saves) / 2:.2f} s per "
        f"run = {100 * sum(saves) / 2 / b:.2f}% of the training's wall time"
    )


for w in which:
    {"open": bench_open, "analyze": bench_analyze, "watch": bench_watch, "callback": bench_callback}[w]()
