#!/usr/bin/env bash
# Start-to-exit time and peak memory of friday and bpftrace, side by side,
# for a trivial script and for two tracepoints and an interval (100 ms, and
# 1 ms so that the interval itself adds almost nothing).
#
# usage: bench/startup.sh [RUNS]        (as root; RUNS defaults to 10)
set -euo pipefail
. "$(dirname "$0")/common.sh"
need_root
build_friday
runs=${1:-10}

scripts=(
	'BEGIN { exit(); }'
	'tracepoint:syscalls:sys_enter_openat { @opens[comm] = count(); } tracepoint:sched:sched_switch { @switches = count(); } interval:ms:100 { exit(); }'
	'tracepoint:syscalls:sys_enter_openat { @opens[comm] = count(); } tracepoint:sched:sched_switch { @switches = count(); } interval:ms:1 { exit(); }'
)

# one_run prints "wall_ms max_rss_kb" for one tracer command. The wall
# clock is bash's own ($EPOCHREALTIME), read without starting a process:
# timing with date(1) or inside /usr/bin/time adds the start of that
# process, several milliseconds here. Peak RSS comes from a second run
# under /usr/bin/time.
rss_file=$(mktemp)
trap 'rm -f "$rss_file"' EXIT
one_run() {
	local start end
	start=$EPOCHREALTIME
	"$@" >/dev/null 2>&1
	end=$EPOCHREALTIME
	/usr/bin/time -f '%M' -o "$rss_file" "$@" >/dev/null 2>&1
	echo "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", (e - s) * 1000 }') $(tail -n 1 "$rss_file")"
}

printf '%-10s %-14s %12s %14s\n' tracer script "median ms" "peak RSS KiB"
for i in "${!scripts[@]}"; do
	for tracer in bpftrace friday; do
		if [ "$tracer" = friday ]; then cmd=("$FRIDAY" trace -e "${scripts[$i]}"); else cmd=("$BPFTRACE" -e "${scripts[$i]}"); fi
		if ! command -v "${cmd[0]}" >/dev/null; then
			printf '%-10s %-14s %12s\n' "$tracer" "#$((i + 1))" "not installed"
			continue
		fi
		times=() rss=()
		for _ in $(seq "$runs"); do
			read -r ms kb < <(one_run "${cmd[@]}")
			times+=("$ms") rss+=("$kb")
		done
		printf '%-10s %-14s %12s %14s\n' "$tracer" "#$((i + 1))" \
			"$(printf '%s\n' "${times[@]}" | median)" "$(printf '%s\n' "${rss[@]}" | sort -n | tail -n 1)"
	done
done
echo
for i in "${!scripts[@]}"; do echo "#$((i + 1)): ${scripts[$i]}"; done
