#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, to try a SLURM sweep before sending it to a real cluster
# (and for the tests in tests/run/test_slurm.py). Debian's packages; every file it writes (config, state,
# logs, the accounting database) lives in one folder, never in the repository:
#
#   scripts/slurm_local.sh install   apt-get install the packages (root)
#   scripts/slurm_local.sh start     munged, mariadbd, slurmdbd, slurmctld, slurmd; waits until the node is idle
#   scripts/slurm_local.sh status    "up" with sinfo's line, or "down" (exit 3)
#   scripts/slurm_local.sh stop      cancels the cluster's jobs and stops the daemons it started
#   scripts/slurm_local.sh env       the export line that points sbatch/sacct at this cluster
#
# start and stop are idempotent: a second start finds the daemons running, a second stop finds none.
# Accounting is real (slurmdbd on a private MariaDB), so `sacct` answers and submitit polls it quietly.
#
# Environment: MTHARNESS_SLURM_DIR (default /tmp/mtharness-slurm), MTHARNESS_SLURM_PORT (slurmctld's
# port, default 6817; slurmd, slurmdbd and MariaDB take the next three), MTHARNESS_SLURM_PARTITION
# (default debug).
set -euo pipefail

PACKAGES="slurm-wlm munge slurmdbd mariadb-server"
DIR="${MTHARNESS_SLURM_DIR:-/tmp/mtharness-slurm}"
PORT="${MTHARNESS_SLURM_PORT:-6817}"
PARTITION="${MTHARNESS_SLURM_PARTITION:-debug}"
CLUSTER=mtharness
NODE="$(hostname -s)"
CONF="$DIR/etc/slurm.conf"
MUNGE_SOCKET="$DIR/munge/munge.socket"
DB_SOCKET="$DIR/db/mysqld.sock"
DB_PORT=$((PORT + 3))
export SLURM_CONF="$CONF"

die() {
    echo "slurm_local.sh: error: $*" >&2
    exit 2
}
say() { echo "slurm_local.sh: $*"; }

require_root() {
    [ "$(id -u)" = 0 ] || die "$1 needs root (the daemons run as root on this one-node cluster); run it with sudo"
}

require_packages() {
    local missing=()
    for bin in munged slurmctld slurmd slurmdbd mariadbd mariadb-install-db sinfo sacct sacctmgr; do
        command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
    done
    [ ${#missing[@]} = 0 ] ||
        die "${missing[*]} not installed: run 'scripts/slurm_local.sh install' (apt-get install -y $PACKAGES)"
}

# one start or stop at a time (two test sessions on one machine may both try)
lock() {
    mkdir -p "$DIR"
    exec 9>"$DIR/.lock"
    flock -w 120 9 || die "another slurm_local.sh holds $DIR/.lock"
}

# a daemon must not inherit the lock's descriptor (it would hold the lock for its whole life)
daemon() { "$@" 9>&-; }

# the pid in a pid file, if that process is alive
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # seconds, description, command... (a deadline: one failing client call can take seconds)
    local limit=$1 what=$2 deadline=$((SECONDS + $1))
    shift 2
    while [ $SECONDS -lt $deadline ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "$what did not come up within ${limit}s (logs in $DIR/log)"
}

start_munge() {
    alive "$DIR/munge/munged.pid" && return 0
    mkdir -p "$DIR/munge"
    [ -s "$DIR/munge/munge.key" ] || head -c 1024 /dev/urandom >"$DIR/munge/munge.key"
    chown -R munge:munge "$DIR/munge"
    chmod 400 "$DIR/munge/munge.key"
    chmod 755 "$DIR/munge" # the socket must be reachable by every user that submits
    daemon runuser -u munge -- munged --key-file="$DIR/munge/munge.key" --socket="$MUNGE_SOCKET" \
        --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/seed"
    wait_for 10 munged munge --socket="$MUNGE_SOCKET" -n
}

db() { mariadb --socket="$DB_SOCKET" -u root "$@"; }

start_db() {
    alive "$DIR/db/mariadbd.pid" && return 0
    if [ ! -d "$DIR/db/mysql" ]; then
        mkdir -p "$DIR/db"
        chown mysql:mysql "$DIR/db"
        mariadb-install-db --datadir="$DIR/db" --user=mysql --auth-root-authentication-method=socket \
            --skip-test-db >"$DIR/log/mariadb-install.log" 2>&1 ||
            die "mariadb-install-db failed (see $DIR/log/mariadb-install.log)"
    fi
    # TCP on 127.0.0.1 only: slurmdbd has no socket option; a small buffer pool, no binary log
    setsid mariadbd --datadir="$DIR/db" --user=mysql --socket="$DB_SOCKET" --port="$DB_PORT" \
        --bind-address=127.0.0.1 --pid-file="$DIR/db/mariadbd.pid" --log-error="$DIR/db/mariadbd.log" \
        --innodb-buffer-pool-size=32M --skip-log-bin </dev/null >/dev/null 2>&1 9>&- &
    wait_for 60 mariadbd db -e "SELECT 1"
    [ -s "$DIR/etc/db.pass" ] || head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$DIR/etc/db.pass"
    chmod 600 "$DIR/etc/db.pass"
    db -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$(cat "$DIR/etc/db.pass")';
           GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
}

write_configs() {
    local mem
    mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    cat >"$CONF.tmp" <<EOF
# Written by scripts/slurm_local.sh start: a one-node cluster for trying SLURM sweeps.
ClusterName=$CLUSTER
SlurmctldHost=$NODE
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$((PORT + 2))
# with auth/munge this "password" is the munge socket the clients of slurmdbd (sacct, sacctmgr) use
AccountingStoragePass=$MUNGE_SOCKET
JobCompType=jobcomp/none
NodeName=$NODE CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.tmp" "$CONF"
    (
        umask 077
        cat >"$DIR/etc/slurmdbd.conf" <<EOF
# Written by scripts/slurm_local.sh start: accounting for the one-node cluster (mode 600: a password).
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdPort=$((PORT + 2))
SlurmUser=root
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$(cat "$DIR/etc/db.pass")
StorageLoc=slurm_acct_db
EOF
    )
}

node_idle() { sinfo -h -N -o '%T' | grep -qE '^(idle|mixed|allocated)'; }

start() {
    require_root start
    require_packages
    lock
    mkdir -p "$DIR"/{etc,log,run,state,spool}
    chmod 755 "$DIR"
    local began=$SECONDS
    start_munge
    start_db
    write_configs
    if ! alive "$DIR/run/slurmdbd.pid"; then
        daemon slurmdbd
        wait_for 30 slurmdbd sacctmgr -n list cluster
    fi
    sacctmgr -i -Q add cluster "$CLUSTER" >/dev/null 2>&1 || true
    alive "$DIR/run/slurmctld.pid" || daemon slurmctld
    wait_for 30 slurmctld scontrol ping
    alive "$DIR/run/slurmd.pid" || daemon slurmd
    wait_for 30 "the node $NODE" node_idle
    link_config
    say "up in $((SECONDS - began))s: partition $PARTITION on $NODE ($(nproc) CPUs); files in $DIR"
    say "for sbatch/sacct from another shell: export SLURM_CONF=$CONF"
}

# sbatch, sinfo and submitit read /etc/slurm/slurm.conf unless SLURM_CONF says otherwise: point it at
# ours when nothing is there (a real cluster's config is never touched); stop removes only our link.
link_config() {
    if [ ! -e /etc/slurm/slurm.conf ] && [ ! -L /etc/slurm/slurm.conf ]; then
        mkdir -p /etc/slurm && ln -s "$CONF" /etc/slurm/slurm.conf
    fi
}

unlink_config() {
    if [ -L /etc/slurm/slurm.conf ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$CONF" ]; then
        rm -f /etc/slurm/slurm.conf
    fi
}

stop_pids() { # pid files: TERM them together, wait up to 10s, then KILL what is left
    local pids=() pid
    for file in "$@"; do
        alive "$file" && pids+=("$(cat "$file")")
    done
    [ ${#pids[@]} = 0 ] && return 0
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "${pids[@]}" 2>/dev/null || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" && say "process $pid did not stop in 10s: killed"
    done
    return 0
}

stop() {
    require_root stop
    [ -d "$DIR" ] || { say "down (nothing in $DIR)"; return 0; }
    lock
    if alive "$DIR/run/slurmctld.pid"; then # every job on this cluster is ours: cancel them all
        squeue -h -o %i 2>/dev/null | xargs -r scancel 2>/dev/null || true
    fi
    stop_pids "$DIR/run/slurmd.pid" "$DIR/run/slurmctld.pid" # slurmctld hands its last records to slurmdbd
    stop_pids "$DIR/run/slurmdbd.pid"
    stop_pids "$DIR/db/mariadbd.pid" "$DIR/munge/munged.pid"
    unlink_config
    say "down (config, logs and accounting kept in $DIR; delete the folder to forget them)"
}

status() {
    if [ -f "$CONF" ] && alive "$DIR/run/slurmctld.pid" && sinfo -h >/dev/null 2>&1; then
        echo "up: $(sinfo -h -o '%P %a %D %T %N' | head -1) (SLURM_CONF=$CONF)"
    else
        echo "down (no cluster from $DIR)"
        exit 3
    fi
}

install() {
    require_root install
    command -v apt-get >/dev/null 2>&1 ||
        die "no apt-get here: install SLURM (slurmctld, slurmd, slurmdbd), munge and MariaDB from your distribution"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PACKAGES >/dev/null
    # Debian's packages start nothing under a policy-rc.d or without systemd; this script starts its own
    say "installed $PACKAGES"
}

case "${1:-}" in
start | stop | status | install) "$1" ;;
env) echo "export SLURM_CONF=$CONF" ;;
*)
    echo "usage: scripts/slurm_local.sh start|stop|status|install|env   (files in $DIR)" >&2
    exit 2
    ;;
esac
