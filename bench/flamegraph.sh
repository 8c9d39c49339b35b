#!/usr/bin/env bash
# Flame graph drawing: friday flamegraph against FlameGraph's flamegraph.pl
# on the same generated folded stacks (N distinct stacks each, from
# bench/foldedgen, of each SHAPE: random walks, and deep stacks as a
# server's profile has them), SVG output at the default width and minimum
# frame width: wall and CPU (user and system) time, peak RSS and SVG size;
# then friday's HTML page of each. Other work on the machine slows both; a
# run of a fraction of a second suffers more from a moment of it than one
# of minutes, so friday runs RUNS times (5) and flamegraph.pl PL_RUNS
# times (1), and the median of each figure is shown.
#
# usage: bench/flamegraph.sh [N...]      (default: 100000 1000000)
#        SHAPES="walks deep" (the default) picks the shapes.
#
# flamegraph.pl is not part of friday: FLAMEGRAPH_PL names it, else the
# copy among the shared benchmark anchors next to the repository is used.
set -euo pipefail
. "$(dirname "$0")/common.sh"
build_friday
need_cmd perl
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
read -r -a shapes <<<"${SHAPES:-walks deep}"

pl=${FLAMEGRAPH_PL:-}
if [ -z "$pl" ]; then
	for d in "$ROOT/../shared" "$ROOT/../../shared"; do
		[ -f "$d/bench/anchors/flamegraph.pl" ] && pl=$d/bench/anchors/flamegraph.pl && break
	done
fi
[ -n "$pl" ] || { echo "$(basename "$0"): set FLAMEGRAPH_PL to flamegraph.pl" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$ROOT" && go build -o "$work/foldedgen" ./bench/foldedgen)

# measure RUNS OUT CMD... runs CMD RUNS times with its output to OUT and
# prints the medians of "seconds cpu_seconds peak_KiB", each on its own.
measure() {
	local runs=$1 out=$2 col
	shift 2
	for _ in $(seq "$runs"); do
		/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$out" 2>"$work/err" || { cat "$work/err" >&2; return 1; }
		awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$work/time"
	done >"$work/runs"
	for col in 1 2 3; do
		awk -v c="$col" '{ print $c }' "$work/runs" | median
	done | paste -sd ' '
}
runs=${RUNS:-5}
plruns=${PL_RUNS:-1}

printf '%-7s %-9s %-12s %10s %10s %10s %12s\n' shape stacks tool seconds "CPU s" "peak MiB" "bytes"
for shape in "${shapes[@]}"; do
	for n in "${sizes[@]}"; do
		in=$work/stacks-$n.folded
		"$work/foldedgen" -shape "$shape" "$n" >"$in"
		read -r fs fc fk < <(measure "$runs" "$work/friday.svg" "$FRIDAY" flamegraph "$in")
		read -r ps pc pk < <(measure "$plruns" "$work/pl.svg" perl "$pl" "$in")
		read -r hs hc hk < <(measure "$runs" "$work/friday.html" "$FRIDAY" flamegraph --format html "$in")
		row() { printf '%-7s %-9s %-12s %10s %10s %10s %12s\n' "$shape" "$n" "$1" "$2" "$3" "$(awk -v k="$4" 'BEGIN { printf "%d", k / 1024 }')" "$(stat -c %s "$5")"; }
		row flamegraph.pl "$ps" "$pc" "$pk" "$work/pl.svg"
		row friday "$fs" "$fc" "$fk" "$work/friday.svg"
		row "friday html" "$hs" "$hc" "$hk" "$work/friday.html"
		awk -v a="$ps" -v b="$fs" -v c="$pk" -v d="$fk" -v e="$pc" -v f="$fc" -v n="$n" -v s="$shape" \
			'BEGIN { printf "%-7s %-9s friday: %.1fx faster (%.1fx less CPU), %.1fx less memory\n", s, n, a / b, e / f, c / d }'
		rm -f "$in"
	done
done
