#!/usr/bin/env bash
# Benchmark of the analysis over windows (issue 22): on a pythia-70m-shaped synthetic tensor (512 coordinates ×
# 154 checkpoints × 205 components, seeded), the wall time of `--windows 4` (the four window analyses, run in
# parallel) against one whole-run analysis of the same tensor. No figures.
#
#   scripts/bench-windows.sh [WORKDIR]      (default: target/bench-windows)
#
# Target (issue 22): windows ≤ 1.5 × whole run.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-target/bench-windows}"
mkdir -p "$work"
cargo build --release -p ccc-cli --bin ccc
cargo build --release -p ccc-analyze --example gen_tensor
target="${CARGO_TARGET_DIR:-target}/release"
tensor="$work/pythia70m-synth.safetensors"
[ -f "$tensor" ] || "$target/examples/gen_tensor" "$tensor" --coords 512 --ckpts 154 --layers 6 --heads 8 --seed 0
rm -rf "$work/whole" "$work/windows"
# The whole-run analysis alone.
/usr/bin/time -f "whole run: %e s wall, %M KB peak RSS" \
  "$target/ccc" analyze "$tensor" -o "$work/whole" --figures none --no-report --no-timings --quiet
# The same plus four windows; the CLI reports the over-training time after the whole run.
/usr/bin/time -f "whole run + 4 windows: %e s wall, %M KB peak RSS" \
  "$target/ccc" analyze "$tensor" -o "$work/windows" --figures none --no-report --no-timings --windows 4 \
  2>&1 | grep -E "timeline.json|windows:|wall" || true
