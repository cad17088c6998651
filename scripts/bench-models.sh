#!/usr/bin/env bash
# Benchmarks of issue 25 (LoRA adapters and mixture of experts), against reading the same bytes with `cat`.
#
#   scripts/bench-models.sh [WORK_DIR]     (default /tmp/ccc-bench-models; ~3 GB of disk)
#
# 1. LoRA, delta mode: 100 random rank-8 adapters on query_key_value and dense of a pythia-410m-shaped GPT-NeoX
#    base (f32, 1.6 GB; `gen_checkpoint`, `gen_lora`). Target: `ccc summarize RUN --base BASE --adapter delta` in
#    ≤ 2× the time of `cat` of the 100 adapter files and the base file once. Merged mode is timed too, against
#    `cat` of the base 100 times plus the adapters (it streams the base once per checkpoint).
# 2. MoE: a Mixtral-format checkpoint (`gen_moe`: hidden 1024, 12 layers, 8 experts, bf16, 1.4 GB) summarized with
#    `--mode full,compact` against `cat FILE > /dev/null` from the page cache. Target: ratio cat/ccc ≥ 1.0, peak
#    RSS ≤ 512 MiB.
# Each timing is the median of ROUNDS (default 5) runs from a warm page cache; peak RSS from /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${1:-/tmp/ccc-bench-models}"
ROUNDS="${ROUNDS:-5}"
mkdir -p "$WORK"
cargo build --release -p ccc-cli --bin ccc >/dev/null
cargo build --release -p ccc-summarize --example gen_checkpoint --example gen_lora --example gen_moe >/dev/null
BIN="${CARGO_TARGET_DIR:-target}/release"
[ -f "$WORK/base/model.safetensors" ] || "$BIN/examples/gen_checkpoint" "$WORK/base" --dtype f32
[ -d "$WORK/lora/checkpoint-1000" ] || "$BIN/examples/gen_lora" "$WORK/lora" --checkpoints 100
[ -f "$WORK/moe/model.safetensors" ] || "$BIN/examples/gen_moe" "$WORK/moe" --layers 12

now() { date +%s.%N; }
# Median wall seconds of "$@" over ROUNDS runs (output discarded).
median() {
  local ts=()
  for _ in $(seq "$ROUNDS"); do
    local t0; t0=$(now); "$@" >/dev/null 2>&1; ts+=("$(echo "$(now) - $t0" | bc -l)")
  done
  printf '%s\n' "${ts[@]}" | sort -n | awk '{v[NR]=$1} END {printf "%.3f\n", v[int((NR+1)/2)]}'
}
rss_mib() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f\n", $1/1024}'; }
# "wall user+sys maxRSS" of one run of "$@" (CPU is what the shared machine's load does not inflate).
cpu_of() { /usr/bin/time -f "%e s wall, %U+%S s CPU, %M KB" "$@" 2>&1 >/dev/null | tail -1; }
cat_files() { cat "$@" >/dev/null; }
ccc_run() { rm -f "$WORK"/out*.safetensors; "$BIN/ccc" "$@" --quiet; }

ADAPTERS=("$WORK"/lora/checkpoint-*/adapter_model.safetensors)
cat_files "$WORK/base/model.safetensors" "${ADAPTERS[@]}"   # warm the cache
T_CAT=$(median cat_files "$WORK/base/model.safetensors" "${ADAPTERS[@]}")
T_DELTA=$(median ccc_run summarize "$WORK/lora" --base "$WORK/base" --adapter delta -o "$WORK/out.safetensors")
RSS_DELTA=$(rss_mib "$BIN/ccc" summarize "$WORK/lora" --base "$WORK/base" --adapter delta -o "$WORK/out-rss.safetensors" --quiet)
echo "  one run: ccc $(rm -f "$WORK"/out*.safetensors; cpu_of "$BIN/ccc" summarize "$WORK/lora" --base "$WORK/base" --adapter delta -o "$WORK/out.safetensors" --quiet); cat $(cpu_of cat "$WORK/base/model.safetensors" "${ADAPTERS[@]}")"
rm -f "$WORK"/out*.safetensors
echo "lora delta, 100 checkpoints: ccc ${T_DELTA} s, cat base + adapters ${T_CAT} s, ratio ccc/cat $(echo "$T_DELTA / $T_CAT" | bc -l | cut -c1-5) (target ≤ 2), peak RSS ${RSS_DELTA} MiB"
if [ "${MERGED:-0}" = 1 ]; then
  T_MERGED=$(ROUNDS=1 median ccc_run summarize "$WORK/lora" --base "$WORK/base" --adapter merged -o "$WORK/out.safetensors")
  echo "lora merged, 100 checkpoints: ccc ${T_MERGED} s"
fi

MOE="$WORK/moe/model.safetensors"
cat_files "$MOE"
T_MCAT=$(median cat_files "$MOE")
T_MOE=$(median ccc_run summarize "$WORK/moe" -o "$WORK/out.safetensors" --mode full,compact)
RSS_MOE=$(rss_mib "$BIN/ccc" summarize "$WORK/moe" -o "$WORK/out-rss.safetensors" --mode full,compact --quiet)
echo "  one run: ccc $(rm -f "$WORK"/out*.safetensors; cpu_of "$BIN/ccc" summarize "$WORK/moe" -o "$WORK/out.safetensors" --mode full,compact --quiet); cat $(cpu_of cat "$MOE")"
rm -f "$WORK"/out*.safetensors
echo "moe $(du -h "$MOE" | cut -f1): ccc ${T_MOE} s, cat ${T_MCAT} s, ratio cat/ccc $(echo "$T_MCAT / $T_MOE" | bc -l | cut -c1-5) (target ≥ 1.0), peak RSS ${RSS_MOE} MiB (target ≤ 512)"
