#!/usr/bin/env bash
# Kernel-side cost of a tracer's BPF programs in nanoseconds per event.
#
# usage: bench/event_cost.sh 'TRACER COMMAND' 'PROGRAM' [LOAD COMMAND]
#   e.g. bench/event_cost.sh 'bpftrace -e' 'tracepoint:syscalls:sys_enter_getppid { @ = count(); }'
#        bench/event_cost.sh './friday trace -e' '...'
#
# The kernel counts run time and runs of every program while
# kernel.bpf_stats_enabled is 1, and shows them in the fdinfo of each
# program file descriptor. The script starts the tracer, runs the load,
# then sums the counters over the programs of the tracer that the load ran,
# and prints "N events, X ns/event, I insns".
set -euo pipefail
. "$(dirname "$0")/common.sh"
need_root
[ $# -ge 2 ] || { sed -n 2,12p "$0" >&2; exit 2; }
tracer=$1 program=$2
load=${3:-"perl -e 'getppid() for 1..1000000'"}

old=$(sysctl -n kernel.bpf_stats_enabled)
out=$(mktemp)
cleanup() {
	sysctl -q -w kernel.bpf_stats_enabled="$old"
	if [ -n "${pid:-}" ]; then
		# bpftrace now and then misses a lone SIGINT: repeat it until the
		# tracer is gone (or a zombie, which kill still reaches), then give up.
		for _ in $(seq 50); do
			kill -INT "$pid" 2>/dev/null || break
			sleep 0.2
			grep -q '^State:.*zombie' /proc/"$pid"/status 2>/dev/null && break
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -f "$out"
}
trap cleanup EXIT
sysctl -q -w kernel.bpf_stats_enabled=1

# shellcheck disable=SC2086 # the tracer command is split on purpose
$tracer "$program" >"$out" 2>&1 &
pid=$!
wait_attached "$out"

before=$(prog_counters "$pid")
sh -c "$load" >/dev/null 2>&1
after=$(prog_counters "$pid")
# Only the programs the load ran are measured; their size is the number of
# BPF instructions the kernel keeps after verification (xlated, 8 bytes each).
read -r ns runs ids < <(join <(echo "$before") <(echo "$after") |
	awk '$5 > $3 { ns += $4 - $2; n += $5 - $3; ids = ids " " $1 } END { print ns + 0, n + 0, ids }')
if [ "$runs" -eq 0 ]; then
	echo "no events: the load did not hit the program's probes" >&2
	exit 1
fi
insns=0
if command -v bpftool >/dev/null; then
	for id in $ids; do
		b=$(bpftool prog show id "$id" | sed -n 's/.*xlated \([0-9]*\)B.*/\1/p')
		insns=$((insns + b / 8))
	done
fi
awk -v ns="$ns" -v n="$runs" -v i="$insns" 'BEGIN { printf "%d events, %.1f ns/event, %d insns\n", n, ns / n, i }'
