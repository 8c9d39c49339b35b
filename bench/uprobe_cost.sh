#!/usr/bin/env bash
# Cost a uprobe and a uretprobe add to each call of a traced function,
# friday next to bpftrace. A C program built here calls a noinline
# function N times and times the loop itself; it runs untraced and under
# each tracer counting the calls, the runs interleaved. It reports both
# the wall time and its own CPU time (user + kernel, which includes the
# probe's trap and BPF program) per call: on a machine busy with other
# work the CPU time is the steadier of the two.
#
# usage: bench/uprobe_cost.sh [RUNS] [N]   (as root; RUNS 5, N 1000000)
set -euo pipefail
. "$(dirname "$0")/common.sh"
need_root
build_friday
runs=${1:-5}
n=${2:-1000000}
need_cmd gcc

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/calls.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double ns(struct timespec a, struct timespec b)
{
	return (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
}

/* The empty asm keeps the compiler from folding the calls away. */
__attribute__((noinline)) long bench_fn(long x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000, s = 0;
	struct timespec a, b, ca, cb;

	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
	for (long i = 0; i < n; i++)
		s = bench_fn(s);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("ns_per_call %.1f %.1f\n", ns(a, b) / n, ns(ca, cb) / n);
	return s != n;
}
C
gcc -O2 -o "$tmp/calls" "$tmp/calls.c"
prog=$tmp/calls
out=$tmp/out

# one_run prints "wall_ns cpu_ns" per call of one run of the program,
# under the given tracer and probe kind, or untraced; it fails unless the
# tracer counted every call.
one_run() {
	local tracer=$1 kind=$2 script
	if [ "$tracer" = none ]; then
		"$prog" "$n" >"$out"
	else
		script="$kind:$prog:bench_fn { @ = count(); }"
		if [ "$tracer" = friday ]; then
			"$FRIDAY" trace -c "$prog $n" -e "$script" >"$out" 2>&1
		else
			"$BPFTRACE" -c "$prog $n" -e "$script" >"$out" 2>&1
		fi
		if ! grep -q "^@: $n\$" "$out"; then
			echo "$tracer $kind did not count $n calls:" >&2
			cat "$out" >&2
			return 1
		fi
	fi
	awk '/^ns_per_call / { print $2, $3 }' "$out"
}

configs=("none -")
for kind in uprobe uretprobe; do
	for tracer in friday bpftrace; do
		if [ "$tracer" = bpftrace ] && ! command -v "$BPFTRACE" >/dev/null; then continue; fi
		configs+=("$tracer $kind")
	done
done
declare -A wall cpu
for _ in $(seq "$runs"); do
	for c in "${configs[@]}"; do
		# shellcheck disable=SC2086 # two words on purpose
		r=$(one_run $c)
		read -r w u <<<"$r"
		wall[$c]+="$w " cpu[$c]+="$u "
	done
done
# shellcheck disable=SC2086 # lists of numbers
med() { printf '%s\n' $1 | median; }
wbase=$(med "${wall["none -"]}") ubase=$(med "${cpu["none -"]}")
printf '%-10s %-10s %12s %12s %12s %12s\n' tracer probe "wall ns" "added" "cpu ns" "added"
for c in "${configs[@]}"; do
	read -r tracer kind <<<"$c"
	w=$(med "${wall[$c]}") u=$(med "${cpu[$c]}")
	printf '%-10s %-10s %12s %12s %12s %12s\n' "$tracer" "$kind" \
		"$w" "$(awk -v m="$w" -v b="$wbase" 'BEGIN { printf "%.1f", m - b }')" \
		"$u" "$(awk -v m="$u" -v b="$ubase" 'BEGIN { printf "%.1f", m - b }')"
done
echo "(per call; medians of $runs interleaved runs of $n calls each)"
