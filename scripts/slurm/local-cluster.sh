#!/usr/bin/env bash
# A single-node Slurm on this machine, for trying the array scripts and for CI: this host is both the controller
# and the one compute node. Debian/Ubuntu packages: slurmctld, slurmd, slurm-client, munge.
#
#   scripts/slurm/local-cluster.sh install   # apt-get install the four packages (root)
#   scripts/slurm/local-cluster.sh start     # munge key + munged, slurm.conf, slurmctld + slurmd; waits for the node
#   scripts/slurm/local-cluster.sh status    # sinfo
#   scripts/slurm/local-cluster.sh stop      # stops the daemons this script started
#
# Runs as root (SlurmUser=root), with settings that work in a container: proctrack/linuxproc, task/none,
# select/cons_tres. State, logs and the configuration live under CCC_SLURM_DIR (default /tmp/ccc-slurm); the
# configuration is written to /etc/slurm/slurm.conf, where the Slurm commands look for it (a file that this
# script did not write is kept as slurm.conf.ccc-backup and restored by `stop`).
set -euo pipefail

dir=${CCC_SLURM_DIR:-/tmp/ccc-slurm}
conf=/etc/slurm/slurm.conf
host=$(hostname -s)

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null &&
        command -v munged >/dev/null; then
        return
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >/dev/null
}

write_conf() {
    local cpus mem
    cpus=$(nproc)
    # Leave a little memory to the system; Slurm counts MB.
    mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
    mkdir -p /etc/slurm "$dir/state" "$dir/spool" "$dir/log"
    if [[ -f $conf ]] && ! grep -q '^# written by ccc local-cluster.sh' "$conf"; then
        mv "$conf" "$conf.ccc-backup"
    fi
    cat >"$conf" <<EOF
# written by ccc local-cluster.sh
ClusterName=ccc-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MaxArraySize=1001
InactiveLimit=0
KillWait=10
MinJobAge=300
SlurmctldTimeout=60
SlurmdTimeout=60
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}

start_munge() {
    mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
    chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge 2>/dev/null || true
    chmod 0700 /etc/munge
    chmod 0400 /etc/munge/munge.key
    if ! munge -n >/dev/null 2>&1; then
        if id munge >/dev/null 2>&1; then
            su -s /bin/sh munge -c "munged --pid-file=/run/munge/ccc-munged.pid" 2>/dev/null ||
                munged --force --pid-file=/run/munge/ccc-munged.pid
        else
            munged --force --pid-file=/run/munge/ccc-munged.pid
        fi
        for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
    fi
    munge -n | unmunge >/dev/null
}

start() {
    install_packages
    mkdir -p "$dir"
    write_conf
    start_munge
    if [[ ! -f $dir/slurmctld.pid ]] || ! kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
        slurmctld -i
    fi
    if [[ ! -f $dir/slurmd.pid ]] || ! kill -0 "$(cat "$dir/slurmd.pid")" 2>/dev/null; then
        slurmd
    fi
    # The node must come up idle before jobs can run.
    for _ in $(seq 120); do
        state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
        case $state in
        idle* | mixed* | allocated*) echo "slurm: node $host is $state"; return 0 ;;
        down* | drain*) scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        sleep 0.5
    done
    echo "error: the Slurm node did not come up; see $dir/log/" >&2
    exit 1
}

stop_pid() {
    local f=$1
    if [[ -f $f ]]; then
        local pid
        pid=$(cat "$f")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -f "$f"
    fi
}

stop() {
    stop_pid "$dir/slurmd.pid"
    stop_pid "$dir/slurmctld.pid"
    stop_pid /run/munge/ccc-munged.pid
    if [[ -f $conf.ccc-backup ]]; then
        mv "$conf.ccc-backup" "$conf"
    elif [[ -f $conf ]] && grep -q '^# written by ccc local-cluster.sh' "$conf"; then
        rm -f "$conf"
    fi
    echo "slurm: stopped"
}

case ${1:-} in
install) install_packages ;;
start) start ;;
stop) stop ;;
status) sinfo ;;
*)
    echo "usage: $0 install|start|status|stop" >&2
    exit 2
    ;;
esac
