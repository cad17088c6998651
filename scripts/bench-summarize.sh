#!/usr/bin/env bash
# End-to-end benchmark of `ccc summarize` against `cat FILE > /dev/null` on GPT-NeoX checkpoints of >= 1.5 GB.
#
#   scripts/bench-summarize.sh [WORK_DIR] [VARIANT...]   (default: /tmp/ccc-bench, all variants; ~5.2 GB of disk)
#
# Variants, generated once with random weights:
#   f32       pythia-410m shape (hidden 1024, 24 layers, 16 heads): 1.6 GB
#   bf16      pythia-410m width stretched to 52 layers: 1.5 GB; 3,640 components, so a 15 MB output column
#   bf16-1b   pythia-1b shape (hidden 2048, 16 layers, 8 heads): 2.0 GB; 610 components, a 5 MB column
#   f16-1b    the same in f16 (the dtype of Pythia's published checkpoints); only when named
#   bf16-410m pythia-410m shape in bf16: 0.81 GB, below 1.5 GB, but the bf16 twin of `f32`; only when named
#   wide      bf16, hidden 2048, 16 layers, 512 heads of dimension 4: 2.0 GB with 32,834 components, a 269 MB
#             column; a memory check (peak RSS stays near the column's size), only when named
#   series    4 checkpoints like `bf16` with different weights (steps 1000-4000, 6.1 GB): one run over a series,
#             against `cat` of its 4 files; only when named
# Before timing a file, its pages are dropped from the page cache and it is read once with `cat`, so that every
# run starts from the same cache state (how the cache holds a file, e.g. in large folios or 4 KiB pages, changes
# the cost of reading it by tens of percent). Then `cat` and `ccc summarize --mode full,compact` alternate
# (ROUNDS, default 7; min and median wall times), with peak RSS from /usr/bin/time. Throughput ratio = cat time /
# ccc time (>= 1 means ccc reads at least as fast as cat). With tmpfs at /dev/shm, each round also runs ccc with
# its output there, to show the share of the disk write in ccc's time.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${1:-/tmp/ccc-bench}"
mkdir -p "$WORK"
# (`--example` alone would build only the example, not the `ccc` binary.)
cargo build --release -p ccc-cli --bin ccc >/dev/null
cargo build --release -p ccc-summarize --example gen_checkpoint >/dev/null
BIN="${CARGO_TARGET_DIR:-target}/release"
shift || true
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(f32 bf16 bf16-1b)
gen() {
  case "$1" in
    f32) "$BIN/examples/gen_checkpoint" "$WORK/f32" --dtype f32 ;;
    bf16) "$BIN/examples/gen_checkpoint" "$WORK/bf16" --dtype bf16 --layers 52 ;;
    bf16-1b) "$BIN/examples/gen_checkpoint" "$WORK/bf16-1b" --dtype bf16 --layers 16 --hidden 2048 --heads 8 ;;
    f16-1b) "$BIN/examples/gen_checkpoint" "$WORK/f16-1b" --dtype f16 --layers 16 --hidden 2048 --heads 8 ;;
    bf16-410m) "$BIN/examples/gen_checkpoint" "$WORK/bf16-410m" --dtype bf16 ;;
    wide) "$BIN/examples/gen_checkpoint" "$WORK/wide" --dtype bf16 --layers 16 --hidden 2048 --heads 512 ;;
    series) for i in 1 2 3 4; do
        "$BIN/examples/gen_checkpoint" "$WORK/series/step${i}000" --dtype bf16 --layers 52 --seed "$i"
      done ;;
    *) echo "unknown variant $1" >&2; exit 2 ;;
  esac
}
# The weight files of variant $1: one checkpoint, or each of a series.
files() { if [ "$1" = series ]; then ls "$WORK"/series/step[1-4]000/model.safetensors 2>/dev/null; else echo "$WORK/$1/model.safetensors"; fi; }
for v in "${VARIANTS[@]}"; do
  [ -f "$(files "$v" | tail -1)" ] && [ "$(files "$v" | wc -l)" -ge $([ "$v" = series ] && echo 4 || echo 1) ] || gen "$v"
done

ROUNDS="${ROUNDS:-7}"
# Output on tmpfs too, when there is one: the same run without the disk write of the output (each column is synced
# before it is marked filled), which shows how much of the time that write takes.
SHM=/dev/shm
[ -d "$SHM" ] && [ -w "$SHM" ] || SHM=""
stat_of() { sort -n | awk '{v[NR]=$1} END {printf "%.4f %.4f\n", v[1], v[int((NR+1)/2)]}'; }  # min, median
# Wall time in seconds (microseconds resolution, unlike /usr/bin/time's 10 ms) of "$@" (its output to
# /dev/null), which runs under /usr/bin/time for peak RSS and CPU (written to $WORK/time.txt); cat runs under it
# too, so both pay the same.
timed() {
  local t0=$EPOCHREALTIME
  /usr/bin/time -o "$WORK/time.txt" -f "%M %U %S" "$@" >/dev/null
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.4f", b - a}'
}
for v in "${VARIANTS[@]}"; do
  mapfile -t fs < <(files "$v")
  for f in "${fs[@]}"; do
    dd if="$f" iflag=nocache count=0 status=none  # drop the file's pages ...
    cat "$f" > /dev/null                          # ... and read it once, sequentially
  done
  # cat and ccc alternate, so that both see the same machine (page cache, other load) over the rounds.
  cats=""; runs=""; shms=""; mems=""
  for _ in $(seq "$ROUNDS"); do
    cats+=$(timed cat "${fs[@]}")$'\n'
    rm -f "$WORK"/out.*.safetensors
    runs+=$(timed "$BIN/ccc" summarize "$WORK/$v" -o "$WORK/out.safetensors" --mode full,compact --quiet)$'\n'
    mems+=$(cat "$WORK/time.txt")$'\n'
    if [ -n "$SHM" ]; then
      rm -f "$SHM"/ccc-bench-out.*.safetensors
      shms+=$(timed "$BIN/ccc" summarize "$WORK/$v" -o "$SHM/ccc-bench-out.safetensors" --mode full,compact \
        --quiet)$'\n'
      rm -f "$SHM"/ccc-bench-out.*.safetensors
    fi
  done
  read -r cat_min cat_med < <(echo "$cats" | awk 'NF' | stat_of)
  read -r ccc_min ccc_med < <(echo "$runs" | awk 'NF' | stat_of)
  read -r shm_min shm_med < <(echo "${shms:-0}" | awk 'NF' | stat_of)
  rss=$(echo "$mems" | awk 'NF{print $1}' | sort -n | tail -1)
  cpu=$(echo "$mems" | awk 'NF{print $2+$3}' | sort -n | head -1)
  size=$(stat -c %s "${fs[@]}" | awk '{s += $1} END {print s}')
  awk -v v="$v" -v s="$size" -v cm="$cat_min" -v cd="$cat_med" -v tm="$ccc_min" -v td="$ccc_med" -v r="$rss" \
    -v sm="$shm_min" -v sd="$shm_med" -v cpu="$cpu" -v n="$ROUNDS" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
    printf "%-5s %.2f GB  cat min %.3f s (%.2f GB/s) median %.3f s | ccc min %.3f s (%.2f GB/s) median %.3f s, cpu %.2f s\n",
      v, s/1e9, cm, s/1e9/cm, cd, tm, s/1e9/tm, td, cpu
    printf "      ratio (cat time / ccc time): min %.2f, median %.2f over %d rounds  peak RSS %.0f MiB  (load %s)\n",
      cm/tm, cd/td, n, r/1024, load
    if (sm > 0) printf "      output on tmpfs (no disk write): ccc min %.3f s, median %.3f s; ratio min %.2f, median %.2f\n",
      sm, sd, cm/sm, cd/sd }'
done
