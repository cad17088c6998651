#!/usr/bin/env bash
# Benchmarks of issue 25 (LoRA adapters and mixture of experts), against reading the same bytes with `cat`.
#
#   scripts/bench-models.sh [WORK_DIR]     (default /tmp/ccc-bench-models; ~3 GB of disk)
#
# 1. LoRA: 100 random rank-8 adapters on query_key_value and dense of a pythia-410m-shaped GPT-NeoX base (f32,
#    1.6 GB; `gen_checkpoint`, `gen_lora`). Target: `ccc summarize RUN --base BASE --adapter delta` in ≤ 2× the
#    time of `cat` of the 100 adapter files and the base file once. Timed from a warm page cache, with the output
#    on tmpfs too when /dev/shm exists (the output, 629 MB, is larger than the adapters), and from a cold cache
#    when this user may write /proc/sys/vm/drop_caches (root). Merged mode is timed once at the default
#    --max-memory and at 1G: it streams the base once per batch of adapters.
# 2. MoE: a Mixtral-format checkpoint (`gen_moe`: hidden 1024, 12 layers, 8 experts, bf16, 1.4 GB) summarized with
#    `--mode full,compact` against `cat FILE > /dev/null` from the page cache. Target: ratio cat/ccc ≥ 1.0, peak
#    RSS ≤ 512 MiB.
# Each timing is the median of ROUNDS (default 5) runs; peak RSS from /usr/bin/time.
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
LORA_FILES=("$WORK/base/model.safetensors" "${ADAPTERS[@]}")
delta() { ccc_run summarize "$WORK/lora" --base "$WORK/base" --adapter delta -o "$1"; }
cat_files "${LORA_FILES[@]}"   # warm the cache
T_CAT=$(median cat_files "${LORA_FILES[@]}")
T_DELTA=$(median delta "$WORK/out.safetensors")
RSS_DELTA=$(rss_mib "$BIN/ccc" summarize "$WORK/lora" --base "$WORK/base" --adapter delta -o "$WORK/out-rss.safetensors" --quiet)
echo "  one run: ccc $(rm -f "$WORK"/out*.safetensors; cpu_of "$BIN/ccc" summarize "$WORK/lora" --base "$WORK/base" --adapter delta -o "$WORK/out.safetensors" --quiet); cat $(cpu_of cat "${LORA_FILES[@]}")"
rm -f "$WORK"/out*.safetensors
echo "lora delta, 100 checkpoints, warm cache: ccc ${T_DELTA} s, cat base + adapters ${T_CAT} s, ratio ccc/cat $(echo "$T_DELTA / $T_CAT" | bc -l | cut -c1-5) (target ≤ 2), peak RSS ${RSS_DELTA} MiB"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  shm="/dev/shm/ccc-bench-models-$$.safetensors"
  shm_delta() { rm -f "$shm"; delta "$shm"; }
  T_SHM=$(median shm_delta)
  rm -f "$shm"
  echo "  the same with the output on tmpfs: ccc ${T_SHM} s, ratio $(echo "$T_SHM / $T_CAT" | bc -l | cut -c1-5)"
fi
if [ -w /proc/sys/vm/drop_caches ]; then
  cold() { sync; echo 3 >/proc/sys/vm/drop_caches; "$@"; }
  T_CCAT=$(median cold cat_files "${LORA_FILES[@]}")
  T_CDELTA=$(median cold delta "$WORK/out.safetensors")
  rm -f "$WORK"/out*.safetensors
  echo "lora delta, cold cache: ccc ${T_CDELTA} s, cat base + adapters ${T_CCAT} s, ratio ccc/cat $(echo "$T_CDELTA / $T_CCAT" | bc -l | cut -c1-5) (target ≤ 2)"
fi
cat_files "${LORA_FILES[@]}"
for budget in 448M 1G; do
  echo "lora merged, 100 checkpoints, --max-memory $budget: ccc $(rm -f "$WORK"/out*.safetensors; cpu_of "$BIN/ccc" summarize "$WORK/lora" --base "$WORK/base" --adapter merged --max-memory "$budget" -o "$WORK/out.safetensors" --quiet)"
done
rm -f "$WORK"/out*.safetensors

MOE="$WORK/moe/model.safetensors"
cat_files "$MOE"
T_MCAT=$(median cat_files "$MOE")
T_MOE=$(median ccc_run summarize "$WORK/moe" -o "$WORK/out.safetensors" --mode full,compact)
RSS_MOE=$(rss_mib "$BIN/ccc" summarize "$WORK/moe" -o "$WORK/out-rss.safetensors" --mode full,compact --quiet)
echo "  one run: ccc $(rm -f "$WORK"/out*.safetensors; cpu_of "$BIN/ccc" summarize "$WORK/moe" -o "$WORK/out.safetensors" --mode full,compact --quiet); cat $(cpu_of cat "$MOE")"
rm -f "$WORK"/out*.safetensors
echo "moe $(du -h "$MOE" | cut -f1): ccc ${T_MOE} s, cat ${T_MCAT} s, ratio cat/ccc $(echo "$T_MCAT / $T_MOE" | bc -l | cut -c1-5) (target ≥ 1.0), peak RSS ${RSS_MOE} MiB (target ≤ 512)"
