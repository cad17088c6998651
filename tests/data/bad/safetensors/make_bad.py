#!/usr/bin/env python3
"""Generate the hostile safetensors corpus in this directory (standard library only; deterministic).

Run from anywhere: `python3 tests/data/bad/safetensors/make_bad.py`. Every `*.safetensors` file here must make
the reader fail with a clear error (never a panic); every `ckpt-*` directory is a checkpoint that `ccc summarize`
must reject with a clear error. `EXPECTED.tsv` lists each case and a fragment of the expected error message; the
tests in crates/ccc-summarize/tests/hostile.rs and crates/ccc-cli/tests/summarize_cli.rs check them.
"""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# A tiny, valid GPT-NeoX checkpoint: hidden 8, 1 layer, 2 heads, MLP 16, vocab 16.
C, F, V = 8, 16, 16
CONFIG = {
    "architectures": ["GPTNeoXForCausalLM"],
    "model_type": "gpt_neox",
    "hidden_size": C,
    "intermediate_size": F,
    "num_attention_heads": 2,
    "num_hidden_layers": 1,
    "vocab_size": V,
    "tie_word_embeddings": False,
}
SHAPES = [
    ("gpt_neox.embed_in.weight", [V, C]),
    ("gpt_neox.layers.0.attention.query_key_value.weight", [3 * C, C]),
    ("gpt_neox.layers.0.attention.dense.weight", [C, C]),
    ("gpt_neox.layers.0.mlp.dense_h_to_4h.weight", [F, C]),
    ("gpt_neox.layers.0.mlp.dense_4h_to_h.weight", [C, F]),
    ("gpt_neox.layers.0.input_layernorm.weight", [C]),
    ("gpt_neox.layers.0.post_attention_layernorm.weight", [C]),
    ("embed_out.weight", [V, C]),
]


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def values(n, seed):
    # A small deterministic LCG, values in [-1, 1).
    x = seed
    out = []
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out.append(((x >> 40) / float(1 << 24)) * 2.0 - 1.0)
    return out


def build(tensors, header_extra=None):
    """tensors: list of (name, dtype, shape, raw bytes). Returns file bytes with a correct header."""
    header, data, off = {}, b"", 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        data += raw
        off += len(raw)
    if header_extra:
        header.update(header_extra)
    return encode(json.dumps(header).encode()) + data


def encode(hjson):
    hjson += b" " * (-len(hjson) % 8)
    return struct.pack("<Q", len(hjson)) + hjson


def f32(vals):
    return struct.pack("<%df" % len(vals), *vals)


def good_tensors(nan_in=None):
    out = []
    for i, (name, shape) in enumerate(SHAPES):
        vals = values(numel(shape), i + 1)
        if name == nan_in:
            vals[3] = float("nan")
        out.append((name, "F32", shape, f32(vals)))
    return out


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def ckpt(name, tensors=None, config=CONFIG, files=None):
    d = os.path.join(HERE, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    if config is not None:
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config, f, indent=1)
    if tensors is not None:
        with open(os.path.join(d, "model.safetensors"), "wb") as f:
            f.write(build(tensors))
    for fname, data in (files or {}).items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)


def main():
    good = build(good_tensors())
    hlen = struct.unpack("<Q", good[:8])[0]
    cases = []

    def case(name, data, expect):
        write(name, data)
        cases.append((name, expect))

    case("empty.safetensors", b"", "too short")
    case("short-length.safetensors", good[:5], "too short")
    case("header-past-end.safetensors", struct.pack("<Q", 10_000) + b"{}", "past the end")
    case("header-len-huge.safetensors", struct.pack("<Q", 1 << 62) + b"{}" * 8, "limit")
    case("truncated-header.safetensors", good[: 8 + hlen // 2], "past the end")
    case("truncated-data-start.safetensors", good[: 8 + hlen + 10], "truncated")
    case("truncated-data-middle.safetensors", good[: len(good) // 2], "truncated")
    case("truncated-last-byte.safetensors", good[:-1], "truncated")
    case("trailing-bytes.safetensors", good + b"\0" * 16, "after the last tensor")
    case("bad-json.safetensors", encode(b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]') + b"\0" * 4, "not valid JSON")
    case("not-utf8.safetensors", encode(b'{"\xff\xfe": 1}'), "not UTF-8")
    case("not-object.safetensors", encode(b"[1, 2, 3]"), "not a JSON object")
    case("tensor-not-object.safetensors", encode(b'{"a": 5}'), "not a JSON object")
    one = f32([1.0, 2.0])
    case(
        "offsets-out-of-range.safetensors",
        encode(json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                           "b": {"dtype": "F32", "shape": [2], "data_offsets": [1000, 1008]}}).encode()) + one + one,
        "hole",
    )
    case(
        "offsets-overlap.safetensors",
        encode(json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                           "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode()) + one + one,
        "overlaps",
    )
    case(
        "offsets-reversed.safetensors",
        encode(json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}).encode()) + one,
        "end before",
    )
    case(
        "offsets-past-file.safetensors",
        encode(json.dumps({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()) + one,
        "truncated",
    )
    case(
        "shape-overflow.safetensors",
        encode(json.dumps({"a": {"dtype": "F32", "shape": [1 << 32, 1 << 32, 1 << 8], "data_offsets": [0, 8]}}).encode()) + one,
        "overflows",
    )
    case(
        "shape-mismatch.safetensors",
        encode(json.dumps({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}).encode()) + one,
        "data_offsets [0, 8]",
    )
    case(
        "shape-negative.safetensors",
        encode(json.dumps({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}).encode()) + one,
        "no valid shape",
    )
    case(
        "unknown-dtype.safetensors",
        encode(json.dumps({"a": {"dtype": "F31", "shape": [2], "data_offsets": [0, 8]}}).encode()) + one,
        "unknown dtype",
    )
    case(
        "metadata-not-string.safetensors",
        encode(json.dumps({"__metadata__": {"format": 1}}).encode()),
        "not a string",
    )

    # Checkpoint directories.
    dirs = []

    def dcase(name, expect, **kw):
        ckpt(name, **kw)
        dirs.append((name, expect))

    bad_cfg = dict(CONFIG, hidden_size=16)
    dcase("ckpt-config-contradicts", "implies", tensors=good_tensors(), config=bad_cfg)
    dcase("ckpt-no-config", "no config.json", tensors=good_tensors(), config=None)
    dcase("ckpt-no-weights", "no weights", config=CONFIG)
    dcase("ckpt-bad-config-json", "not valid JSON", config=None, files={"config.json": b'{"model_type": '})
    dcase("ckpt-nonfinite", "`gpt_neox.layers.0.mlp.dense_4h_to_h.weight` has a non-finite value",
          tensors=good_tensors(nan_in="gpt_neox.layers.0.mlp.dense_4h_to_h.weight"))
    dcase("ckpt-unknown-arch", "model_type `mamba`", tensors=good_tensors(), config=dict(CONFIG, model_type="mamba", architectures=["MambaForCausalLM"]))
    dcase("ckpt-missing-tensor", "has no tensor", tensors=[t for t in good_tensors() if t[0] != "embed_out.weight"])
    dcase("ckpt-truncated", "truncated", config=CONFIG, files={"model.safetensors": good[:-7]})
    t = good_tensors()
    index = {"metadata": {}, "weight_map": {name: "model-00001-of-00002.safetensors" for name, *_ in t[:4]}}
    index["weight_map"].update({name: "model-00002-of-00002.safetensors" for name, *_ in t[4:]})
    dcase("ckpt-index-missing-shard", "does not exist", config=CONFIG, files={
        "model.safetensors.index.json": json.dumps(index, indent=1).encode(),
        "model-00001-of-00002.safetensors": build(t[:4]),
    })
    index2 = json.loads(json.dumps(index))
    index2["weight_map"]["embed_out.weight"] = "model-00001-of-00002.safetensors"
    dcase("ckpt-index-wrong-shard", "does not hold it", config=CONFIG, files={
        "model.safetensors.index.json": json.dumps(index2, indent=1).encode(),
        "model-00001-of-00002.safetensors": build(t[:4]),
        "model-00002-of-00002.safetensors": build(t[4:]),
    })
    ckpt("ckpt-good", tensors=good_tensors())

    with open(os.path.join(HERE, "EXPECTED.tsv"), "w") as f:
        f.write("# case\texpected error fragment (generated by make_bad.py)\n")
        for name, expect in cases + dirs:
            f.write(f"{name}\t{expect}\n")


if __name__ == "__main__":
    main()
