# Helpers shared by the benchmark scripts; source it.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
FRIDAY=${FRIDAY:-$ROOT/friday}
BPFTRACE=${BPFTRACE:-bpftrace}

# build_friday builds the binary under test unless FRIDAY points at one.
build_friday() {
	if [ "$FRIDAY" = "$ROOT/friday" ]; then
		(cd "$ROOT" && CGO_ENABLED=0 go build -o friday ./cmd/friday)
	fi
}

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "$(basename "$0"): run as root" >&2
		exit 1
	fi
}

# now_ns prints a monotonic-enough clock in nanoseconds.
now_ns() { date +%s%N; }

# median reads numbers, one a line, and prints their median.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
