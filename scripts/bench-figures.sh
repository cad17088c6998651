#!/usr/bin/env bash
# Benchmark figure rendering at OLMo-1B shape (2048 coordinates × 50 checkpoints × 1057 components):
# all 301 trajectory sheets + the 5 per-run figures, PNG.
#
#   scripts/bench-figures.sh [WORKDIR]          (default WORKDIR: target/bench-figures)
#
# Prints wall and CPU seconds of `render_analysis` alone (the tensor is generated once and kept in WORKDIR).
# With `--analyze` as second argument, the real analysis runs first (end-to-end timing of analysis + figures); with
# `--full-size`, the PNGs are drawn at full size rather than screen size.
# Goal (issue 6): figures ≤ 40 s wall, analysis + figures ≤ 60 s on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-target/bench-figures}"
mode="${2:-}"
mkdir -p "$work"
cargo build --release -q -p ccc-figures --examples
bin="${CARGO_TARGET_DIR:-target}/release/examples"
tensor="$work/olmo1b.safetensors"
[ -f "$tensor" ] || "$bin/synth_tensor" "$tensor" olmo1b
rm -rf "$work/out"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/env time -v "$bin/render_fixture" "$work/out" "$tensor" $mode 2>&1 \
  | grep -E "sheets|analysis in|Maximum resident|Elapsed" || true
du -sh "$work/out/figures"
