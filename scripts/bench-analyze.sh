#!/usr/bin/env bash
# End-to-end benchmark of `ccc analyze` on an OLMo-1B-shaped synthetic tensor (2048 × 50 × 1057, seeded),
# all 301 experiments, no figures. Prints wall time, CPU time, peak RSS and the per-phase times of summary.json.
#
#   scripts/bench-analyze.sh [WORKDIR]      (default: target/bench-analyze)
#
# Targets (issue 5): ≤ 20 s wall, ≤ 3 GB peak RSS on a 2-core machine with nothing else running.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-target/bench-analyze}"
mkdir -p "$work"
# (`--example` alone would build only the example, not the `ccc` binary.)
cargo build --release -p ccc-cli --bin ccc
cargo build --release -p ccc-analyze --example gen_tensor
target="${CARGO_TARGET_DIR:-target}/release"
tensor="$work/olmo1b-synth.safetensors"
[ -f "$tensor" ] || "$target/examples/gen_tensor" "$tensor" --coords 2048 --ckpts 50 --layers 16 --heads 16 --seed 0
rm -rf "$work/out"
/usr/bin/time -v "$target/ccc" analyze "$tensor" -o "$work/out" --quiet --figures none --no-report 2> "$work/time.txt"
grep -E "Elapsed|User time|System time|Maximum resident" "$work/time.txt"
python3 - "$work/out/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("experiments:", s["n_experiments"], s["status_counts"])
for k, v in sorted(s["phase_times_s"].items(), key=lambda kv: -kv[1]):
    print(f"  {k:<18} {v:8.2f} s")
PY
