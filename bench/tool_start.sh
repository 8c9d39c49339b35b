#!/usr/bin/env bash
# The start-up of friday's tools, a build against another (FRIDAY_BASE),
# run in turn so that both see the same machine:
#
# - start: from exec to the tool's first line on standard error, after its
#   probes are attached; the fastest and the median of RUNS;
# - RSS: peak resident memory from exec to that line (VmHWM then; the
#   tool is ended right after it), median;
# - dry-run: `TOOL --dry-run` (compiled and loaded, nothing attached): its
#   CPU time (user and system, 10 ms ticks: the mean of RUNS) and peak RSS
#   (median).
#
# A tool's arguments follow its name after colons (opensnoop:-F).
#
# usage: bench/tool_start.sh [RUNS] [TOOL...]      (as root; RUNS defaults to 9)
#   FRIDAY_BASE names the other build (default: none, friday alone).
set -euo pipefail
. "$(dirname "$0")/common.sh"
need_root
build_friday
runs=${1:-9}
shift || true
tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(biolatency execsnoop exitsnoop opensnoop:-F tcplife filetop)
builds=("$FRIDAY")
[ -z "${FRIDAY_BASE:-}" ] || builds=("$FRIDAY_BASE" "$FRIDAY")

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# first_line prints "ms rss_kb" for one start of a command: from exec to
# its first line on standard error, and its peak RSS then (VmHWM, read
# before it is ended). Python starts it (by vfork and exec): a shell's
# fork and a FIFO, or /usr/bin/time in between, added 5-10 ms to each
# start here, as much as a third of what is measured.
first_line() {
	python3 -c '
import signal, subprocess, sys, time
s = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
p.stderr.readline()
e = time.perf_counter()
kb = "-"
try:
    for line in open("/proc/%d/status" % p.pid):
        if line.startswith("VmHWM:"):
            kb = line.split()[1]
except OSError:
    pass
p.send_signal(signal.SIGTERM)
p.stderr.read()
p.wait()
print("%.1f %s" % ((e - s) * 1000, kb))
' "$@"
}

# dry_run prints "cpu_ms rss_kb" for one --dry-run of a command.
dry_run() {
	# shellcheck disable=SC2068
	/usr/bin/time -f '%U %S %M' -o "$dir/dry" $@ --dry-run >/dev/null 2>&1 || true
	awk '{ printf "%.0f %d\n", ($1 + $2) * 1000, $3 }' "$dir/dry"
}

mean() { awk '{ s += $1 } END { if (NR) printf "%.0f", s / NR }'; }

printf '%-14s %-8s %16s %10s %12s %12s\n' tool build "start min/med ms" "RSS KiB" "dry CPU ms" "dry RSS KiB"
for spec in "${tools[@]}"; do
	cmd=${spec//:/ }
	declare -A st=() rs=() cpu=() drs=()
	for i in $(seq "$runs"); do
		order=("${!builds[@]}")
		[ $((i % 2)) -eq 0 ] && order=($(printf '%s\n' "${order[@]}" | tac))
		for b in "${order[@]}"; do
			read -r ms kb < <(first_line "${builds[$b]}" $cmd)
			read -r c dkb < <(dry_run "${builds[$b]}" $cmd)
			st[$b]+="$ms " rs[$b]+="$kb " cpu[$b]+="$c " drs[$b]+="$dkb "
		done
	done
	for b in "${!builds[@]}"; do
		name=new
		[ ${#builds[@]} -eq 2 ] && [ "$b" -eq 0 ] && name=base
		printf '%-14s %-8s %7s/%-8s %10s %12s %12s\n' "$spec" "$name" \
			"$(printf '%s\n' ${st[$b]} | sort -n | head -n 1)" "$(printf '%s\n' ${st[$b]} | median)" \
			"$(printf '%s\n' ${rs[$b]} | median)" "$(printf '%s\n' ${cpu[$b]} | mean)" \
			"$(printf '%s\n' ${drs[$b]} | median)"
	done
	unset st rs cpu drs
done
