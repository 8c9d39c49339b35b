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
# then sums the counters over the programs the tracer holds.
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
	[ -n "${pid:-}" ] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -f "$out"
}
trap cleanup EXIT
sysctl -q -w kernel.bpf_stats_enabled=1

# shellcheck disable=SC2086 # the tracer command is split on purpose
$tracer "$program" >"$out" 2>&1 &
pid=$!
for _ in $(seq 200); do
	grep -q Attaching "$out" && break
	sleep 0.05
done
grep -q Attaching "$out" || { echo "tracer did not start:" >&2; cat "$out" >&2; exit 1; }

# counters sums run_time_ns and run_cnt over the tracer's programs.
counters() {
	local ns=0 cnt=0 f
	for f in /proc/"$pid"/fdinfo/*; do
		# Program fds only: link fds name a prog_id too but keep no counters.
		grep -q '^run_time_ns:' "$f" 2>/dev/null || continue
		ns=$((ns + $(awk '/^run_time_ns:/ { print $2 }' "$f")))
		cnt=$((cnt + $(awk '/^run_cnt:/ { print $2 }' "$f")))
	done
	echo "$ns $cnt"
}

read -r ns0 cnt0 < <(counters)
sh -c "$load" >/dev/null
read -r ns1 cnt1 < <(counters)
runs=$((cnt1 - cnt0))
if [ "$runs" -eq 0 ]; then
	echo "no events: the load did not hit the program's probes" >&2
	exit 1
fi
awk -v ns=$((ns1 - ns0)) -v n="$runs" 'BEGIN { printf "%d events, %.1f ns/event\n", n, ns / n }'
