#!/usr/bin/env bash
# Flame graph drawing: friday flamegraph against FlameGraph's flamegraph.pl
# on the same generated folded stacks (N distinct stacks each, from
# bench/foldedgen), SVG output at the default width and minimum frame width:
# wall and user CPU time, peak RSS and SVG size; then friday's HTML page of
# each. Other work on the machine slows both alike; CPU time shows it less.
#
# usage: bench/flamegraph.sh [N...]      (default: 100000 1000000)
#
# flamegraph.pl is not part of friday: FLAMEGRAPH_PL names it, else the
# copy among the shared benchmark anchors next to the repository is used.
set -euo pipefail
. "$(dirname "$0")/common.sh"
build_friday
need_cmd perl
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)

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

# measure OUT CMD... runs CMD with its output to OUT and prints "seconds
# user_seconds peak_KiB".
measure() {
	local out=$1
	shift
	/usr/bin/time -f '%e %U %M' -o "$work/time" "$@" >"$out" 2>"$work/err" || { cat "$work/err" >&2; return 1; }
	cat "$work/time"
}

printf '%-9s %-12s %10s %10s %12s %12s\n' stacks tool seconds "CPU s" "peak MiB" "bytes"
for n in "${sizes[@]}"; do
	in=$work/stacks-$n.folded
	"$work/foldedgen" "$n" >"$in"
	read -r fs fu fk < <(measure "$work/friday.svg" "$FRIDAY" flamegraph "$in")
	read -r ps pu pk < <(measure "$work/pl.svg" perl "$pl" "$in")
	read -r hs hu hk < <(measure "$work/friday.html" "$FRIDAY" flamegraph --format html "$in")
	row() { printf '%-9s %-12s %10s %10s %12s %12s\n' "$n" "$1" "$2" "$3" "$(($4 / 1024))" "$(stat -c %s "$5")"; }
	row flamegraph.pl "$ps" "$pu" "$pk" "$work/pl.svg"
	row friday "$fs" "$fu" "$fk" "$work/friday.svg"
	row "friday html" "$hs" "$hu" "$hk" "$work/friday.html"
	awk -v a="$ps" -v b="$fs" -v c="$pk" -v d="$fk" -v e="$pu" -v f="$fu" -v n="$n" \
		'BEGIN { printf "%-9s friday: %.1fx faster (%.1fx less CPU), %.1fx less memory\n", n, a / b, e / f, c / d }'
	rm -f "$in"
done
