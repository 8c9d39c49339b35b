#!/usr/bin/env bash
# Time from the end of a whole-system `friday profile -F 99` to its output
# written, with -o FILE in each format and with bcc's text on standard
# output: the stacks are read from the kernel, symbolized and written in
# that time. The machine is kept busy with processes of many binaries: a C
# program spinning on each CPU, a Go program (friday flamegraph) run over
# and over, and short shell pipelines started many times a second, which
# exit long before the profile ends and must still be symbolized. friday's
# --stats line gives the collection's cost and the symbolization alone.
# With NICE set, friday runs at that niceness (NICE=-15: ahead of the
# rest of a busy machine).
#
# usage: [NICE=N] bench/profile_symbolize.sh [SECONDS] [RUNS]   (as root; 30 s, 3)
set -euo pipefail
. "$(dirname "$0")/common.sh"
need_root
build_friday
secs=${1:-30}
runs=${2:-3}
need_cmd gcc

tmp=$(mktemp -d)
load=()
pid=
cleanup() {
	if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
	for p in "${load[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

build_spinner "$tmp/spin"
for _ in $(seq "$(nproc)"); do
	nice -n 10 "$tmp/spin" &
	load+=($!)
done
for i in $(seq 2000); do echo "main;work$((i % 97));leaf$i $i"; done >"$tmp/in.folded"
(while :; do "$FRIDAY" flamegraph "$tmp/in.folded" >/dev/null; done) &
load+=($!)
(while :; do ls -l /usr/bin | sort -k5n | awk '{ n += $5 } END { print n }' >/dev/null; sleep 0.02; done) &
load+=($!)

# one_run OUT prints "exit_ms symbolize_ms symbolize_cpu_ms": OUT is the -o file's
# extension, or "text" for bcc's text on standard output.
one_run() {
	local out=$1 t1 t2 args=(profile -F 99 --stats)
	[ "$out" = text ] || args+=(-o "$tmp/p.$out")
	nice -n "${NICE:-0}" "$FRIDAY" "${args[@]}" >"$tmp/stdout" 2>"$tmp/stderr" &
	pid=$!
	wait_attached "$tmp/stderr" || return 1
	sleep "$secs"
	t1=$(now_ns)
	kill -INT "$pid"
	wait "$pid"
	t2=$(now_ns)
	pid=
	awk -v e=$((t2 - t1)) '
		function ms(d) {
			gsub(/[()]/, "", d)
			if (d ~ /ms$/) return d + 0
			if (d ~ /µs$/) return d / 1000
			return d * 1000
		}
		/^symbolized in/ { s = ms($3); c = ms($4) }
		END { printf "%d %.0f %.0f\n", e / 1e6, s, c }' "$tmp/stderr"
}

outs=(pb.gz svg html json text)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A exitms symms symcpu
for _ in $(seq "$runs"); do
	for o in "${outs[@]}"; do
		read -r e s c < <(one_run "$o")
		exitms[$o]+="$e " symms[$o]+="$s " symcpu[$o]+="$c "
	done
done
# shellcheck disable=SC2086 # lists of numbers
med() { printf '%s\n' $1 | median; }
printf '%-8s %14s %14s %10s\n' output "end->exit ms" "symbolize ms" "CPU ms"
for o in "${outs[@]}"; do
	printf '%-8s %14s %14s %10s\n' "$o" "$(med "${exitms[$o]}")" "$(med "${symms[$o]}")" "$(med "${symcpu[$o]}")"
done
echo "(medians of $runs runs of a $secs s whole-system profile at 99 Hz on $(nproc)"
echo " busy CPUs; end->exit = from Ctrl-C to friday's exit, output written;"
echo " symbolize = --stats' stacks read and symbolized, before writing, in wall"
echo " and friday's CPU time)"
echo "friday at nice ${NICE:-0}; load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after"
