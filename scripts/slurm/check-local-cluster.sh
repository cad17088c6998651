#!/usr/bin/env bash
# The real-Slurm check of CI (issue 24): start a single-node Slurm (local-cluster.sh), submit the summarize array +
# merge and the analyze array + merge with `sbatch --array … --dependency=afterok:…`, wait for them, check that the
# merged files equal one local run byte for byte, and stop the daemons (also on failure).
#
#   scripts/slurm/check-local-cluster.sh [CCC_BINARY]     (default: target/release/ccc; run as root)
set -euo pipefail
# The binary's path is taken relative to the caller's directory, before any cd.
arg=${1:-}
[[ -n $arg ]] && arg=$(realpath -- "$arg")
cd "$(dirname "$0")/../.."
root=$PWD
export CCC=${arg:-$root/target/release/ccc}
[[ -x $CCC ]] || { echo "error: no ccc binary at $CCC (cargo build --release -p ccc-cli)" >&2; exit 1; }
work=$(mktemp -d /tmp/ccc-slurm-check.XXXXXX)
cluster=$root/scripts/slurm/local-cluster.sh
trap '"$cluster" stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$cluster" start

# Wait for a job (and its array tasks) to leave the queue; fail unless every task COMPLETED.
wait_job() {
    local jid=$1
    for _ in $(seq 1200); do
        [[ -z $(squeue -h -j "$jid" 2>/dev/null) ]] && break
        sleep 0.5
    done
    local states
    states=$(scontrol show job "$jid" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | sort -u | tr '\n' ' ')
    if [[ $states != "JobState=COMPLETED " ]]; then
        echo "error: job $jid ended as: ${states:-unknown}" >&2
        cat "$work"/*.log >&2 || true
        exit 1
    fi
}

run=tests/data/fixtures/tiny-neox
cd "$work"
# Summarize: 3 array tasks + merge, against one process.
"$CCC" summarize "$root/$run" -o one.safetensors --quiet
jid=$(sbatch --parsable --array=0-2 --output="$work/sum-%A_%a.log" "$root/scripts/slurm/ccc-array.sbatch" \
    "$root/$run" parts --quiet)
mid=$(sbatch --parsable --dependency=afterok:"$jid" --output="$work/sum-merge.log" \
    "$root/scripts/slurm/ccc-array.sbatch" --merge parts merged.safetensors)
wait_job "$jid"
wait_job "$mid"
cmp one.safetensors merged.safetensors
echo "slurm: summarize array of 3 + merge = one process (byte-identical)"

# Analyze: 3 array tasks + merge, against one run.
"$CCC" analyze one.safetensors -o one-analysis --no-timings --figures none --no-report --quiet
jid=$(sbatch --parsable --array=0-2 --output="$work/an-%A_%a.log" "$root/scripts/slurm/ccc-analyze-array.sbatch" \
    one.safetensors aparts --no-timings)
mid=$(sbatch --parsable --dependency=afterok:"$jid" --output="$work/an-merge.log" --export=ALL,CCC_EXPECT_PARTS=3 \
    "$root/scripts/slurm/ccc-analyze-array.sbatch" --merge aparts merged-analysis)
wait_job "$jid"
wait_job "$mid"
for f in experiments.json scores.csv summary.json; do
    cmp "one-analysis/$f" "merged-analysis/$f"
done
echo "slurm: analyze array of 3 + merge = one run (byte-identical experiments.json, scores.csv, summary.json)"
