#!/usr/bin/env bash
# End-to-end benchmark of `ccc summarize` against `cat FILE > /dev/null` on a pythia-410m-shaped checkpoint.
#
#   scripts/bench-summarize.sh [WORK_DIR]     (default: /tmp/ccc-bench; needs ~3.2 GB of disk)
#
# Generates (once) an f32 checkpoint (1.6 GB) and a bf16 one with 52 layers (1.5 GB), warms the page cache,
# then times, for each: `cat` and `ccc summarize --mode full,compact` (best of 3 wall times), with peak RSS from
# /usr/bin/time. Throughput ratio = cat time / ccc time (≥ 1 means ccc reads at least as fast as cat).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${1:-/tmp/ccc-bench}"
mkdir -p "$WORK"
cargo build --release -p ccc-cli -p ccc-summarize --example gen_checkpoint >/dev/null
BIN="${CARGO_TARGET_DIR:-target}/release"
[ -f "$WORK/f32/model.safetensors" ] || "$BIN/examples/gen_checkpoint" "$WORK/f32" --dtype f32
[ -f "$WORK/bf16/model.safetensors" ] || "$BIN/examples/gen_checkpoint" "$WORK/bf16" --dtype bf16 --layers 52

best() { sort -n | head -1; }
for v in f32 bf16; do
  f="$WORK/$v/model.safetensors"
  cat "$f" > /dev/null
  cat_t=$(for _ in 1 2 3; do /usr/bin/time -f "%e" cat "$f" 2>&1 >/dev/null; done | best)
  runs=""
  for _ in 1 2 3; do
    rm -f "$WORK"/out.*.safetensors
    runs+=$(/usr/bin/time -f "%e %M %U %S" "$BIN/ccc" summarize "$WORK/$v" -o "$WORK/out.safetensors" \
      --mode full,compact --quiet 2>&1)$'\n'
  done
  ccc_t=$(echo "$runs" | awk 'NF{print $1}' | best)
  rss=$(echo "$runs" | awk 'NF{print $2}' | sort -n | tail -1)
  cpu=$(echo "$runs" | awk 'NF{print $3+$4}' | best)
  size=$(stat -c %s "$f")
  awk -v v="$v" -v s="$size" -v c="$cat_t" -v t="$ccc_t" -v r="$rss" -v cpu="$cpu" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
    printf "%-5s %.2f GB  cat %.2f s (%.2f GB/s)  ccc %.2f s (%.2f GB/s, cpu %.2f s)  ratio %.2f  peak RSS %.0f MiB  (load %s)\n",
      v, s/1e9, c, s/1e9/c, t, s/1e9/t, cpu, c/t, r/1024, load }'
done
