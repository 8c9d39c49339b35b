#!/usr/bin/env bash
# CPU cost of sampling stacks at 99 Hz on every CPU while a CPU-bound
# workload keeps them busy, friday next to bpftrace, kernel and user
# stacks, and `friday profile -F 99` (each sample a record with its time)
# next to bpftrace's @[kstack, ustack] = count(). Cost = the kernel run
# time of the tracer's BPF programs (from the kernel's BPF statistics) +
# the tracer's own user and system time, over the wall time of the
# measurement times the number of CPUs (and, for one CPU, times 1). The
# window starts once the probes are attached and ends before the tracer is
# stopped; the time it then takes to print (and symbolize) the map or
# profile is shown apart.
#
# usage: bench/profile_cost.sh [SECONDS] [RUNS]   (as root; 30 s, 3 runs)
set -euo pipefail
. "$(dirname "$0")/common.sh"
need_root
build_friday
secs=${1:-30}
runs=${2:-3}
need_cmd gcc
ncpu=$(nproc)
hz=$(getconf CLK_TCK)

tmp=$(mktemp -d)
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
spinners=()
cleanup() {
	if [ -n "${pid:-}" ]; then kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
	for p in "${spinners[@]}"; do kill "$p" 2>/dev/null || true; done
	sysctl -q -w kernel.bpf_stats_enabled="$old_stats"
	rm -rf "$tmp"
}
trap cleanup EXIT
sysctl -q -w kernel.bpf_stats_enabled=1

build_spinner "$tmp/spin"
for _ in $(seq "$ncpu"); do
	"$tmp/spin" &
	spinners+=($!)
done

# bpf_counters prints "run_time_ns run_cnt" summed over the tracer's programs.
bpf_counters() {
	prog_counters "$pid" | awk '{ ns += $2; n += $3 } END { print ns + 0, n + 0 }'
}

# cpu_ns prints the tracer's user + system time in nanoseconds, all its
# threads included.
cpu_ns() { awk -v hz="$hz" '{ print ($14 + $15) * 1e9 / hz }' /proc/"$pid"/stat; }

# stop_tracer interrupts the tracer and waits for it to print and exit.
# bpftrace now and then misses a lone SIGINT, so it is repeated every two
# seconds; friday and bpftrace both ignore the repeats while they print.
stop_tracer() {
	local i=0
	kill -INT "$pid"
	while kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*zombie' /proc/"$pid"/status 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
		[ $((i % 40)) -eq 0 ] && kill -INT "$pid" 2>/dev/null
	done
	wait "$pid" || true
	pid=
}

# one_run prints "cost_percent bpf_percent hz exit_ms" for one tracer and
# program, hz being the BPF program's runs per second per CPU.
one_run() {
	local tracer=$1 program=$2 out=$tmp/out t0 t1 c0 c1 b0 n0 b1 n1 t2
	if [ "$tracer" = profile ]; then
		"$FRIDAY" profile -F 99 >"$out" 2>&1 &
	elif [ "$tracer" = friday ]; then
		"$FRIDAY" trace -e "$program" >"$out" 2>&1 &
	else
		"$BPFTRACE" -e "$program" >"$out" 2>&1 &
	fi
	pid=$!
	wait_attached "$out" || return 1
	# Let the tracer settle after attaching before the window opens.
	sleep 1
	read -r b0 n0 < <(bpf_counters)
	c0=$(cpu_ns) t0=$(now_ns)
	sleep "$secs"
	read -r b1 n1 < <(bpf_counters)
	c1=$(cpu_ns) t1=$(now_ns)
	stop_tracer
	t2=$(now_ns)
	awk -v b=$((b1 - b0)) -v c="$c0" -v c1="$c1" -v w=$((t1 - t0)) -v n=$((n1 - n0)) -v ncpu="$ncpu" -v e=$((t2 - t1)) \
		'BEGIN { printf "%.3f %.3f %.1f %d %.3f\n", (b + c1 - c) * 100 / (w * ncpu), b * 100 / (w * ncpu), n * 1e9 / (w * ncpu), e / 1e6, (b + c1 - c) * 100 / w }'
}

programs=(
	'profile:hz:99 { @[kstack] = count(); }'
	'profile:hz:99 { @[ustack] = count(); }'
	'profile:hz:99 { @[kstack, ustack] = count(); }'
)
stacks=(kstack ustack both)
tracers=(friday)
command -v "$BPFTRACE" >/dev/null && tracers+=(bpftrace)
declare -A cost bpf samples exitms onecpu
for _ in $(seq "$runs"); do
	for i in "${!programs[@]}"; do
		these=("${tracers[@]}")
		# friday profile samples both stacks, as the last program does.
		[ "$i" = 2 ] && these+=(profile)
		for tracer in "${these[@]}"; do
			r=$(one_run "$tracer" "${programs[$i]}")
			read -r c b n e o <<<"$r"
			k="$tracer $i"
			cost[$k]+="$c " bpf[$k]+="$b " samples[$k]+="$n " exitms[$k]+="$e " onecpu[$k]+="$o "
		done
	done
done
# shellcheck disable=SC2086 # lists of numbers
med() { printf '%s\n' $1 | median; }
printf '%-10s %-7s %8s %8s %11s %8s %10s\n' tracer stack "CPU %" "BPF %" "runs/s/CPU" "exit ms" "1-CPU %"
for i in "${!programs[@]}"; do
	for tracer in "${tracers[@]}" profile; do
		k="$tracer $i"
		[ -n "${cost[$k]:-}" ] || continue
		printf '%-10s %-7s %8s %8s %11s %8s %10s\n' "$tracer" "${stacks[$i]}" \
			"$(med "${cost[$k]}")" "$(med "${bpf[$k]}")" "$(med "${samples[$k]}")" "$(med "${exitms[$k]}")" \
			"$(med "${onecpu[$k]}")"
	done
done
echo "(medians of $runs interleaved runs of $secs s on $ncpu busy CPUs; CPU % of all"
echo " $ncpu CPUs = BPF run time + tracer user+sys time, 1-CPU % the same of one CPU;"
echo " exit ms = from Ctrl-C to exit; profile = friday profile -F 99)"
