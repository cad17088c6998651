#!/usr/bin/env bash
# The Python package's and `ccc watch`'s numbers (issue 23): `ccc.open` of a 433 MB tensor, `ccc.analyze` against
# the CLI, watch latency for pythia-160m-shaped checkpoints, the training callback's overhead. Needs a venv with
# `pip install ./python torch accelerate transformers` (PYTHON, default python3). See scripts/bench_live.py.
#
#   scripts/bench-live.sh [WORKDIR] [open analyze watch callback]     (default WORKDIR: target/bench-live)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-target/bench-live}"
shift || true
cargo build --release -p ccc-cli --bin ccc
cargo build --release -p ccc-analyze --example gen_tensor
target="${CARGO_TARGET_DIR:-target}/release"
"${PYTHON:-python3}" scripts/bench_live.py "$work" "$target/ccc" "$target/examples/gen_tensor" "$@"
