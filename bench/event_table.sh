#!/usr/bin/env bash
# Kernel ns/event and BPF instruction count of friday against bpftrace for a
# set of one-liners, as a Markdown table of medians.
#
# usage: bench/event_table.sh [RUNS]
#   FRIDAY_BASE=path/to/older/friday also measures an older build, for a
#   before/after comparison.
#
# The tracers run in turn, one-liner after one-liner, RUNS times over, so
# that load from other processes falls on all alike. The kernel's run time
# of a program includes reading the clock twice around it, which on a VM
# (kvm-clock) costs more than a small program does; an empty program on the
# same probe under the same load measures that floor, and "net" is ns/event
# minus the floor. Instructions are the kernel's count after verification.
set -euo pipefail
. "$(dirname "$0")/common.sh"
need_root
build_friday
runs=${1:-5}

dd_load='dd if=/dev/zero of=/dev/null bs=1 count=200000'
# Each case: probe, action block (bpftrace 0.17 spelling: args->), load.
cases=(
	'tracepoint:syscalls:sys_enter_getppid' '{ @ = count(); }'
	"perl -e 'getppid() for 1..1000000'"
	'tracepoint:syscalls:sys_enter_read' '{ @[comm] = count(); }' "$dd_load"
	'tracepoint:syscalls:sys_enter_read' '{ @[comm] = count(); @h = hist(args->count); }' "$dd_load"
	'tracepoint:syscalls:sys_enter_read' '/pid == 1234/ { @[tid] = sum(args->count); }' "$dd_load"
	'tracepoint:syscalls:sys_enter_openat' '{ printf("%s %s\n", comm, str(args->filename)); }'
	"perl -e 'open(my \$f, \"<\", \"/etc/hostname\") && close(\$f) for 1..100000'"
	'tracepoint:sched:sched_switch' '{ @[args->prev_comm] = count(); }'
	"perl -e 'pipe(R1, W1); pipe(R2, W2); if (fork) { for (1..50000) { syswrite W1, \"x\"; sysread R2, \$b, 1 } wait } else { for (1..50000) { sysread R1, \$b, 1; syswrite W2, \"x\" } }'"
	'tracepoint:syscalls:sys_enter_read' '{ @s = stats(args->count); @l = lhist(args->count, 0, 1000, 100); }' "$dd_load"
	'tracepoint:syscalls:sys_exit_read' '/args->ret > 0/ { @bytes[comm] = sum(args->ret); }' "$dd_load"
)

tracers=(friday bpftrace floor)
[ -n "${FRIDAY_BASE:-}" ] && tracers=(base "${tracers[@]}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((r = 0; r < runs; r++)); do
	for ((c = 0; c < ${#cases[@]}; c += 3)); do
		for t in "${tracers[@]}"; do
			prog="${cases[c]} ${cases[c + 1]}"
			case $t in
			friday) cmd="$FRIDAY trace -e" ;;
			base) cmd="$FRIDAY_BASE trace -e" ;;
			bpftrace) cmd="$BPFTRACE -e" ;;
			floor) cmd="$FRIDAY trace -e" prog="${cases[c]} { }" ;;
			esac
			# "N events, X ns/event, I insns"
			read -r _ _ ns _ insns _ < <("$BENCH_DIR/event_cost.sh" "$cmd" "$prog" "${cases[c + 2]}")
			echo "$ns" >>"$tmp/$c.$t.ns"
			echo "$insns" >"$tmp/$c.$t.insns"
		done
	done
done

cols=("${tracers[@]:0:${#tracers[@]}-1}")
printf '| program |'
for t in "${cols[@]}"; do printf ' %s insns |' "$t"; done
for t in "${cols[@]}"; do printf ' %s ns/event (net) |' "$t"; done
printf ' floor ns | friday/bpftrace net |\n|---|'
for _ in "${cols[@]}" "${cols[@]}"; do printf -- '---:|'; done
printf -- '---:|---:|\n'
for ((c = 0; c < ${#cases[@]}; c += 3)); do
	floor=$(median <"$tmp/$c.floor.ns")
	printf '| `%s %s` |' "${cases[c]#tracepoint:}" "${cases[c + 1]}"
	for t in "${cols[@]}"; do printf ' %s |' "$(cat "$tmp/$c.$t.insns")"; done
	for t in "${cols[@]}"; do
		v=$(median <"$tmp/$c.$t.ns")
		printf ' %s (%s) |' "$v" "$(awk -v v="$v" -v f="$floor" 'BEGIN { printf "%.1f", v - f }')"
	done
	f=$(median <"$tmp/$c.friday.ns") b=$(median <"$tmp/$c.bpftrace.ns")
	printf ' %s | %s |\n' "$floor" "$(awk -v f="$f" -v b="$b" -v z="$floor" 'BEGIN { printf "%.2f", (f - z) / (b - z) }')"
done
