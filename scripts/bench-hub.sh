#!/usr/bin/env bash
# Benchmark: `ccc summarize` streaming a ≥ 1 GB safetensors checkpoint from a hub on loopback, against
# `curl -o /dev/null` of the same file from the same server. Reports throughput, the ratio, peak RSS and the
# largest disk use of the hub cache / download directory during the run.
#
#   scripts/bench-hub.sh [WORKDIR]      (default: a temporary directory; needs ~2 GB free)
#
# Environment: DTYPE (f32, default; bf16), LAYERS (default 24 = pythia-410m shape, 1.6 GB in f32).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
target=${CARGO_TARGET_DIR:-$root/target}
dtype=${DTYPE:-f32}
layers=${LAYERS:-24}

# (`--example` alone would build only the example, not the `ccc` binary.)
cargo build --release --quiet -p ccc-cli --bin ccc --manifest-path "$root/Cargo.toml"
cargo build --release --quiet -p ccc-hub-testing --example hub_server --manifest-path "$root/Cargo.toml"
cargo build --release --quiet -p ccc-summarize --example gen_checkpoint --manifest-path "$root/Cargo.toml"
ccc=$target/release/ccc

ckpt=$work/series/step1000
if [[ ! -f $ckpt/model.safetensors ]]; then
    "$target/release/examples/gen_checkpoint" "$ckpt" --dtype "$dtype" --layers "$layers" >/dev/null
fi
size=$(stat -c %s "$ckpt/model.safetensors")
echo "checkpoint: $ckpt/model.safetensors, $size bytes ($dtype, $layers layers)"

"$target/release/examples/hub_server" "bench/big=$work/series" >"$work/endpoint" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do [[ -s $work/endpoint ]] && break; sleep 0.2; done
endpoint=$(head -1 "$work/endpoint")
url="$endpoint/bench/big/resolve/step1000/model.safetensors"

# CPU seconds used so far by the server (it shares this machine's cores with the client).
server_cpu() { awk '{print ($14 + $15) / 100}' "/proc/$server/stat"; }

# Warm the page cache, then time curl (best of 3), with the CPU time of curl and of the server for the last one.
cat "$ckpt/model.safetensors" >/dev/null
best_curl=0
for _ in 1 2 3; do
    s0=$(server_cpu)
    s=$(/usr/bin/time -f "%U %S" -o "$work/curl-time.txt" curl -s -L -o /dev/null -w '%{speed_download}' "$url")
    curl_cpu=$(awk '{print $1 + $2}' "$work/curl-time.txt")
    curl_server_cpu=$(python3 -c "print($(server_cpu) - $s0)")
    best_curl=$(python3 -c "print(max($best_curl, $s))")
done

home=$work/hf-home
rm -rf "$home" "$work/out"*
mkdir -p "$home"
# Sample the disk use of HF_HOME (cache and default download directory) while summarize runs.
(
    max=0
    while true; do
        u=$(du -sb "$home" 2>/dev/null | cut -f1)
        ((u > max)) && max=$u && echo "$max" >"$work/du-max"
        sleep 0.1
    done
) &
sampler=$!
trap 'kill $server $sampler 2>/dev/null || true' EXIT
s0=$(server_cpu)
start=$(date +%s.%N)
HF_ENDPOINT=$endpoint HF_HOME=$home /usr/bin/time -v -o "$work/time.txt" \
    "$ccc" summarize hf:bench/big@step1000 --mode full,compact -o "$work/out.safetensors" --quiet
end=$(date +%s.%N)
ccc_server_cpu=$(python3 -c "print($(server_cpu) - $s0)")
kill $sampler 2>/dev/null || true
secs=$(python3 -c "print($end - $start)")
rss_kb=$(grep 'Maximum resident set size' "$work/time.txt" | awk '{print $NF}')
du_max=$(cat "$work/du-max" 2>/dev/null || echo 0)

ccc_cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u + s}' "$work/time.txt")
python3 - "$size" "$secs" "$best_curl" "$rss_kb" "$du_max" "$curl_cpu" "$curl_server_cpu" "$ccc_cpu" \
    "$ccc_server_cpu" "$(nproc)" <<'PY'
import sys
size, secs, curl, rss_kb, du = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
curl_cpu, curl_srv, ccc_cpu, ccc_srv, cores = map(float, sys.argv[6:11])
ccc = size / secs
print(f"curl -o /dev/null : {curl / 1e6:8.1f} MB/s (best of 3)")
print(f"ccc summarize     : {ccc / 1e6:8.1f} MB/s ({secs:.2f} s, full+compact, streamed)")
print(f"ratio             : {ccc / curl:8.2f}  (target >= 0.80)")
print(f"peak RSS          : {rss_kb / 1024:8.1f} MiB (bound 512 MiB)")
print(f"max disk in HF_HOME: {du / 1024:7.1f} KiB (checkpoint: {size / 2**20:.0f} MiB)")
# Client and server share the machine's cores: CPU seconds per GB, and the wall time they imply at best.
gb = size / 1e9
print(f"cpu s/GB          : curl {curl_cpu / gb:.2f} + server {curl_srv / gb:.2f};  "
      f"ccc {ccc_cpu / gb:.2f} + server {ccc_srv / gb:.2f}  ({cores:.0f} cores)")
print(f"cpu-bound floor   : ccc >= {(ccc_cpu + ccc_srv) / cores:.2f} s wall with this server on these cores")
PY
