#!/usr/bin/env bash
# Benchmark of `ccc analyze` at the big shapes of issue 24, in bounded memory: a seeded synthetic tensor written by
# a streaming generator (one column in memory, so even Pythia-12B's 18.6 GB needs no RAM to make), then all 301
# experiments, no figures, under /usr/bin/time -v. Prints wall and CPU time, peak RSS, the load average before and
# after (the machine may be shared), and the phase times.
#
#   scripts/bench-scale.sh SHAPE [WORKDIR]      (default WORKDIR: target/bench-scale)
#
# SHAPE: olmo1b     2048 × 50 × 1057   (433 MB; target ≤ 1 GiB peak RSS, ≤ 12 s)
#        pythia2.8b 2560 × 154 × 4161  (6.6 GB; target ≤ 4 GiB, ≤ 15 min) — 32 layers × 32 heads
#        pythia6.9b 4096 × 154 × 4161  (10.5 GB)
#        pythia12b  5120 × 154 × 5833  (18.4 GB) — 36 layers × 40 heads
# Extra flags after WORKDIR go to `ccc analyze` (e.g. `--shard 1/16`). Needs the shape's size free on disk.
set -euo pipefail
cd "$(dirname "$0")/.."
shape=${1:?usage: scripts/bench-scale.sh olmo1b|pythia2.8b|pythia6.9b|pythia12b [WORKDIR] [analyze flags]}
work="${2:-target/bench-scale}"
shift $(($# >= 2 ? 2 : 1))
case $shape in
olmo1b) gen=(--coords 2048 --ckpts 50 --layers 16 --heads 16) ;;
pythia2.8b) gen=(--coords 2560 --ckpts 154 --layers 32 --heads 32) ;;
pythia6.9b) gen=(--coords 4096 --ckpts 154 --layers 32 --heads 32) ;;
pythia12b) gen=(--coords 5120 --ckpts 154 --layers 36 --heads 40) ;;
*) echo "unknown shape $shape" >&2; exit 2 ;;
esac
mkdir -p "$work"
cargo build --release -p ccc-cli --bin ccc
cargo build --release -p ccc-analyze --example gen_tensor
target="${CARGO_TARGET_DIR:-target}/release"
tensor="$work/$shape-synth.safetensors"
[ -f "$tensor" ] || "$target/examples/gen_tensor" "$tensor" "${gen[@]}" --seed 0
out="$work/out-$shape"
rm -rf "$out"
echo "load before: $(uptime)"
/usr/bin/time -v "$target/ccc" analyze "$tensor" -o "$out" --quiet --figures none --no-report "$@" 2>"$work/time-$shape.txt"
grep -E "Elapsed|User time|System time|Maximum resident" "$work/time-$shape.txt"
echo "load after: $(uptime)"
[ -f "$out/summary.json" ] || exit 0 # a shard writes partial.json only
python3 - "$out/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("shape:", s["shape"], "experiments:", s["n_experiments"], s["status_counts"])
for k, v in sorted(s["phase_times_s"].items(), key=lambda kv: -kv[1]):
    print(f"  {k:<18} {v:8.2f} s")
PY
