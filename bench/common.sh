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

# need_cmd stops the script when a command it needs is missing.
need_cmd() {
	command -v "$1" >/dev/null || { echo "$(basename "$0"): needs $1" >&2; exit 1; }
}

# prog_counters PID prints "prog_id run_time_ns run_cnt" for each BPF
# program process PID holds, each once: a link fd names its program too but
# keeps no counters. The counters run only with kernel.bpf_stats_enabled=1.
prog_counters() {
	local f
	for f in /proc/"$1"/fdinfo/*; do
		grep -q '^run_time_ns:' "$f" 2>/dev/null || continue
		awk '/^prog_id:/ { id = $2 } /^run_time_ns:/ { ns = $2 } /^run_cnt:/ { n = $2 }
			END { print id, ns, n }' "$f"
	done | sort -u -k1,1
}

# wait_attached waits up to 15 s for a tracer writing to FILE (standard
# output and error) to say that it attached its probes ("Attached N probes",
# older bpftrace's "Attaching N probes...", friday's collectors' "... Hit
# Ctrl-C to end."); it prints what the tracer
# wrote and fails if the tracer never does.
wait_attached() {
	local _
	for _ in $(seq 300); do
		grep -q -e Attached -e Attaching -e 'Hit Ctrl-C' "$1" && return 0
		sleep 0.05
	done
	echo "the tracer did not start:" >&2
	cat "$1" >&2
	return 1
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

# build_spinner OUT compiles to OUT a C program that spins forever through a
# few frames, so that user stacks have something to show; frame pointers
# let the tracers walk them.
build_spinner() {
	cat >"$1.c" <<'C'
__attribute__((noinline)) static unsigned long leaf(unsigned long x)
{
	for (int i = 0; i < 1000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}

__attribute__((noinline)) static unsigned long middle(unsigned long x)
{
	return leaf(x) ^ leaf(x >> 1);
}

int main(void)
{
	volatile unsigned long sink = 0;

	for (;;)
		sink = middle(sink);
}
C
	gcc -O1 -fno-omit-frame-pointer -o "$1" "$1.c"
}
