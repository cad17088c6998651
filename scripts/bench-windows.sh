#!/usr/bin/env bash
# Benchmark of the analysis over windows (issue 22): on pythia-70m-shaped synthetic tensors (seeded), one
# whole-run analysis against the same run with `--windows 4` (the four window analyses, in parallel, after the
# whole run). No figures, no report. Two shapes:
#   512 coordinates × 154 checkpoints × 205 components (6 layers × 8 heads, tied embeddings, no norms)
#   512 coordinates ×  40 checkpoints × 218 components (pythia-70m's own list: emb_out and the norm gains too)
#
#   scripts/bench-windows.sh [WORKDIR]      (default: target/bench-windows)
#
# Per shape it prints wall, CPU (user + sys) and peak RSS of both commands (from /usr/bin/time -v), the windows'
# own share (the difference, and the wall the CLI reports for timeline.json), the ratios, and the load average.
# Target (issue 22): the 4 windows ≤ 1.5 × one whole-run analysis.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-target/bench-windows}"
mkdir -p "$work"
cargo build --release -p ccc-cli --bin ccc
cargo build --release -p ccc-analyze --example gen_tensor
target="${CARGO_TARGET_DIR:-target}/release"

# `/usr/bin/time -v` output FILE → "wall cpu rss_mib"
measure() {
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
    /User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { r = $2 / 1024 }
    END { printf "%.1f %.1f %.0f\n", w, u + s, r }' "$1"
}

run_shape() {
  local name="$1" ckpts="$2"; shift 2
  local tensor="$work/$name.safetensors"
  [ -f "$tensor" ] || "$target/examples/gen_tensor" "$tensor" --coords 512 --ckpts "$ckpts" --layers 6 --heads 8 \
    --seed 0 "$@"
  rm -rf "$work/$name-whole" "$work/$name-windows"
  echo "== $name ($(uptime | sed 's/.*load/load/'))"
  /usr/bin/time -v -o "$work/$name-whole.time" \
    "$target/ccc" analyze "$tensor" -o "$work/$name-whole" --figures none --no-report --no-timings --quiet
  /usr/bin/time -v -o "$work/$name-windows.time" \
    "$target/ccc" analyze "$tensor" -o "$work/$name-windows" --figures none --no-report --no-timings --windows 4 \
    >"$work/$name-windows.log" 2>&1
  local over
  over=$(grep -oE 'timeline.json \([0-9.]+ s\)' "$work/$name-windows.log" | grep -oE '[0-9.]+ s' || echo "?")
  read -r w1 c1 r1 < <(measure "$work/$name-whole.time")
  read -r w2 c2 r2 < <(measure "$work/$name-windows.time")
  awk -v w1="$w1" -v c1="$c1" -v r1="$r1" -v w2="$w2" -v c2="$c2" -v r2="$r2" -v over="$over" 'BEGIN {
    printf "whole run:            %6.1f s wall  %6.1f s CPU  %5d MiB\n", w1, c1, r1
    printf "whole run + 4 windows: %6.1f s wall  %6.1f s CPU  %5d MiB  (timeline.json: %s wall)\n", w2, c2, r2, over
    printf "4 windows alone (difference): %.1f s wall, %.1f s CPU\n", w2 - w1, c2 - c1
    printf "ratio 4 windows / whole run: %.2f wall, %.2f CPU   (whole + windows) / whole: %.2f wall, %.2f CPU\n",
      (w2 - w1) / w1, (c2 - c1) / c1, w2 / w1, c2 / c1
  }'
  echo "load after: $(uptime | sed 's/.*load average: //')"
}

run_shape pythia70m-154x205 154
run_shape pythia70m-40x218 40 --pythia
