#!/usr/bin/env bash
# Cost of strings of 1024 bytes, the default capacity: kernel ns/event,
# the tracer's CPU time and friday's ring buffer bytes per event, for
# friday (and an older build named by FRIDAY_BASE) against bpftrace, as a
# Markdown table of medians. The older build runs at its own default
# (base) and with BPFTRACE_MAX_STRLEN=1024 (base-1024). bpftrace 0.17
# knows only BPFTRACE_STRLEN, up to 200: it runs at its default of 64
# (bpftrace) and at 200 (bpftrace-200).
#
# usage: bench/strings.sh [RUNS]
#
# Each case opens a short path (/etc/hostname) and a long one (200 bytes)
# 100k times. ns/event is the kernel's run time of the tracer's programs
# over their runs, counted while the script holds the file descriptor
# BPF_ENABLE_STATS gives (it changes no setting others may be using);
# cpu is the tracer's user+system time over the load, per event;
# ring is the ring buffer space per event friday reports with -v (record
# and 8-byte header), "-" for tracers that do not tell it.
set -euo pipefail
. "$(dirname "$0")/common.sh"
need_root
build_friday
runs=${1:-5}

long=/tmp/$(printf 'x%.0s' $(seq 195))
open_load() { echo "perl -e 'open(my \$f, \"<\", \"$1\") && close(\$f) for 1..100000'"; }
# Each case: probe and action block (bpftrace 0.17 spelling: args->), path.
cases=(
	'tracepoint:syscalls:sys_enter_openat { printf("%s %s\n", comm, str(args->filename)); }' /etc/hostname
	'tracepoint:syscalls:sys_enter_openat { printf("%s %s\n", comm, str(args->filename)); }' "$long"
	'tracepoint:syscalls:sys_enter_openat { @[str(args->filename)] = count(); }' /etc/hostname
	'tracepoint:syscalls:sys_enter_openat { @[str(args->filename)] = count(); }' "$long"
)
tracers=(friday bpftrace bpftrace-200)
[ -n "${FRIDAY_BASE:-}" ] && tracers=(base base-1024 "${tracers[@]}")

tmp=$(mktemp -d)
pid=
# bpf(BPF_ENABLE_STATS, {type: BPF_STATS_RUN_TIME}) on x86-64; the
# kernel counts while the descriptor is open.
perl -e 'my $attr = pack("L", 0) . ("\0" x 12); my $fd = syscall(321, 32, $attr, 16);
	die "BPF_ENABLE_STATS: $!\n" if $fd < 0; sleep' &
stats=$!
cleanup() {
	kill "$stats"
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
sleep 0.2
kill -0 "$stats" 2>/dev/null || exit 1

# cpu_ticks PID: user+system clock ticks of the process so far.
cpu_ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat; }

# measure TRACER PROGRAM LOAD OUT: appends "ns cpu_ns ring" per event.
measure() {
	local cmd out=$tmp/out before after t0 t1 ns runs ring
	case $1 in
	friday) cmd=("$FRIDAY" trace -v -e "$2") ;;
	base) cmd=("$FRIDAY_BASE" trace -e "$2") ;;
	base-1024) cmd=(env BPFTRACE_MAX_STRLEN=1024 "$FRIDAY_BASE" trace -e "$2") ;;
	bpftrace) cmd=("$BPFTRACE" -e "$2") ;;
	bpftrace-200) cmd=(env BPFTRACE_STRLEN=200 "$BPFTRACE" -e "$2") ;;
	esac
	"${cmd[@]}" >"$out" 2>&1 &
	pid=$!
	wait_attached "$out"
	before=$(prog_counters "$pid")
	t0=$(cpu_ticks "$pid")
	sh -c "$3" >/dev/null 2>&1
	sleep 0.5 # let the tracer read what is left
	after=$(prog_counters "$pid")
	t1=$(cpu_ticks "$pid")
	kill -INT "$pid"
	wait "$pid" || true
	pid=
	read -r ns runs < <(join <(echo "$before") <(echo "$after") |
		awk '$5 > $3 { ns += $4 - $2; n += $5 - $3 } END { print ns + 0, n + 0 }')
	if [ "$runs" -eq 0 ]; then
		echo "$1: no events: $2" >&2
		return
	fi
	ring=$(sed -n 's/^\([0-9]*\) events read, \([0-9]*\) bytes of ring buffer$/\1 \2/p' "$out" |
		awk '$1 > 0 { printf "%.0f", $2 / $1 } END { if (NR == 0) print "-" }')
	awk -v ns="$ns" -v n="$runs" -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v r="${ring:--}" \
		'BEGIN { printf "%.1f %.0f %s\n", ns / n, t * 1e9 / hz / n, r }' >>"$4"
}

for ((r = 0; r < runs; r++)); do
	for ((c = 0; c < ${#cases[@]}; c += 2)); do
		for t in "${tracers[@]}"; do
			measure "$t" "${cases[c]}" "$(open_load "${cases[c + 1]}")" "$tmp/$c.$t"
		done
	done
done

printf '| program | path | tracer | ns/event | tracer cpu ns/event | ring bytes/event |\n|---|---|---|---:|---:|---:|\n'
for ((c = 0; c < ${#cases[@]}; c += 2)); do
	for t in "${tracers[@]}"; do
		printf '| `%s` | %d bytes | %s | %s | %s | %s |\n' "${cases[c]#tracepoint:}" "${#cases[c + 1]}" "$t" \
			"$(cut -d' ' -f1 "$tmp/$c.$t" | median)" "$(cut -d' ' -f2 "$tmp/$c.$t" | median)" \
			"$(cut -d' ' -f3 "$tmp/$c.$t" | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')"
	done
done
