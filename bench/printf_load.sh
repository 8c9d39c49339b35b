#!/usr/bin/env bash
# printf under load: dd making 500000 one-byte reads, alone, under bpftrace
# and under friday with a printf per read. Reports wall times, the lines
# printed and the events lost.
#
# usage: bench/printf_load.sh [COUNT]        (as root; COUNT defaults to 500000)
set -euo pipefail
. "$(dirname "$0")/common.sh"
need_root
build_friday
count=${1:-500000}
dd_cmd="/bin/dd if=/dev/zero of=/dev/null bs=1 count=$count"
program='tracepoint:syscalls:sys_enter_read /pid == cpid/ { printf("read %d\n", args->count); }'
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# timed runs a command with its output to $out and prints the seconds it took.
timed() {
	local start end
	start=$(now_ns)
	"$@" >"$out" 2>&1
	end=$(now_ns)
	awk -v ns=$((end - start)) 'BEGIN { printf "%.2f", ns / 1e9 }'
}

printf '%-10s %8s %10s %10s\n' run seconds printed lost
printf '%-10s %8s %10s %10s\n' dd "$(timed $dd_cmd)" - -
for tracer in bpftrace friday; do
	if [ "$tracer" = friday ]; then cmd=("$FRIDAY" trace); else cmd=("$BPFTRACE"); fi
	if ! command -v "${cmd[0]}" >/dev/null; then
		printf '%-10s %8s\n' "$tracer" "not installed"
		continue
	fi
	secs=$(timed "${cmd[@]}" -c "$dd_cmd" -e "$program")
	printed=$(grep -c '^read ' "$out" || true)
	lost=$(awk '/^Lost [0-9]+ events/ { n += $2 } END { print n + 0 }' "$out")
	printf '%-10s %8s %10s %10s\n' "$tracer" "$secs" "$printed" "$lost"
done
echo "(dd reads $count bytes one at a time, plus a few reads while it starts: printed + lost)"
