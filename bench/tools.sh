#!/usr/bin/env bash
# friday's tools against their libbpf-tools twins (Debian's libbpf-tools,
# C compiled by clang -O2), side by side:
#
# - ns/event: both tools run at once under the same workload; the kernel's
#   BPF statistics (kernel.bpf_stats_enabled, on only meanwhile) give the
#   run time and runs of each one's programs, summed over the programs of
#   its own process; median of RUNS, which start the twins in turn first
#   (programs on one tracepoint run in the order they were attached);
# - start: from exec to the tool's first line (friday's "Tracing..." on
#   standard error, libbpf-tools' first line, line-buffered by stdbuf),
#   median of RUNS;
# - RSS: peak resident memory over a run of the workload.
#
# usage: bench/tools.sh [RUNS] [TOOL...]       (as root; RUNS defaults to 5)
#   LIBBPF_TOOLS names the directory of libbpf-tools (default /usr/sbin).
#   ALONE=1 runs the twins one after the other instead of at once.
set -euo pipefail
. "$(dirname "$0")/common.sh"
need_root
need_cmd losetup
need_cmd stdbuf
need_cmd mkfs.ext4
need_cmd gcc
need_cmd script
build_friday
LIBBPF=${LIBBPF_TOOLS:-/usr/sbin}
runs=${1:-5}
shift || true
tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(bashreadline biolatency biosnoop bitesize execsnoop exitsnoop funclatency opensnoop runqlat syscount)

old_stats=$(sysctl -n kernel.bpf_stats_enabled)
dir=$(mktemp -d)
truncate -s 256M "$dir/disk.img"
loop=$(losetup --find --show "$dir/disk.img")
# The *slower tools' file system: ext4 on a loop device of its own.
truncate -s 256M "$dir/fs.img"
mkfs.ext4 -q "$dir/fs.img"
fsloop=$(losetup --find --show "$dir/fs.img")
fsdir=$dir/fs
mkdir "$fsdir" "$dir/mnt"
mount "$fsloop" "$fsdir"
pids=()
cleanup() {
	sysctl -q -w kernel.bpf_stats_enabled="$old_stats"
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	umount "$fsdir"
	losetup -d "$loop" "$fsloop"
	rm -rf "$dir"
}
trap cleanup EXIT

# tcpload makes 500 loopback connections, each of 20 writes of 1000 bytes
# read one by one, for the TCP tools.
tcpload='
import socket
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(8)
for _ in range(500):
    c = socket.create_connection(l.getsockname())
    s, _ = l.accept()
    for _ in range(20):
        c.sendall(b"x" * 1000)
        n = 0
        while n < 1000:
            n += len(s.recv(1000 - n))
    c.close()
    s.close()
'

# The application tools trace the tools' test program.
gcc -O2 -o "$dir/apps" "$(dirname "$0")/../tools/testdata/apps.c"

# workload runs what the tool sees: a known number of its events.
workload() {
	case $1 in
	biolatency | biosnoop | bitesize) dd if=/dev/zero of="$loop" bs=4k count=20000 oflag=direct status=none ;;
	execsnoop | exitsnoop) for _ in $(seq 1000); do /bin/true; done ;;
	opensnoop) for _ in $(seq 20000); do : </etc/hostname; done ;;
	runqlat) dd if=/dev/zero bs=1 count=100000 status=none | cat >/dev/null ;;
	syscount | vfsstat) dd if=/dev/zero of=/dev/null bs=1 count=200000 status=none ;;
	biotop | biopattern) dd if=/dev/zero of="$loop" bs=4k count=20000 oflag=direct status=none ;;
	statsnoop) for _ in $(seq 20000); do [ -e /etc/hostname ]; done ;;
	filelife) (cd "$dir" && for _ in $(seq 20); do touch $(seq 500) && rm $(seq 500); done) ;;
	filetop) dd if=/dev/zero of="$dir/filetop" bs=1 count=200000 status=none ;;
	fsslower | ext4slower) dd if=/dev/zero of="$fsdir/f" bs=4k count=20000 conv=fsync status=none ;;
	mountsnoop)
		# shellcheck disable=SC2016 # expanded by the inner shell
		unshare -m bash -c 'mount --make-rprivate / && for _ in $(seq 500); do
			mount -t tmpfs none "$1" && umount "$1"; done' - "$dir/mnt" ;;
	cpudist | runqslower) dd if=/dev/zero bs=1 count=100000 status=none | cat >/dev/null ;;
	# Interrupts of the disk under the directory, and their soft irqs.
	hardirqs | softirqs) dd if=/dev/zero of="$dir/file" bs=4k count=5000 oflag=direct status=none ;;
	killsnoop) for _ in $(seq 20000); do kill -0 $$; done ;;
	runqlen) sleep 5 ;;
	tcp*) python3 -c "$tcpload" ;;
	gethostlatency) for _ in $(seq 300); do getent ahosts localhost >/dev/null; done ;;
	funclatency) "$dir/apps" calls 20000 ;;
	bashreadline) { seq -f 'true %g' 500; echo exit; } |
		script -qfc 'bash --norc --noprofile -i' /dev/null >/dev/null ;;
	esac
}

# args are a tool's arguments: what it traces.
args() { [ "$1" != funclatency ] || echo "$dir/apps:counted"; }

# the commands of each twin: friday's, then libbpf-tools', line-buffered.
friday_cmd() { echo "$FRIDAY $1 $(args "$1")"; }
libbpf_cmd() { echo "stdbuf -oL $LIBBPF/$1 $(args "$1")"; }

# wait_output waits up to 15 s for FILE to hold a line, or for the
# process PID to end (a tool that fails to start).
wait_output() {
	for _ in $(seq 1500); do
		[ -s "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.01
	done
	echo "no output in $1" >&2
	return 1
}

# delta prints "ns runs" of the programs between two prog_counters.
delta() { join <(echo "$1") <(echo "$2") | awk '{ ns += $4 - $2; n += $5 - $3 } END { print ns + 0, n + 0 }'; }

# per prints ns per run, "-" for a tool that did not start or saw nothing.
per() { [ "$2" -gt 0 ] && echo $(($1 / $2)) || echo -; }

# alone prints "ns runs" of the programs of command CMD over the workload
# of TOOL, run alone: alone TOOL CMD.
alone() {
	local p b a
	rm -f "$dir/a.out"
	# shellcheck disable=SC2086 # the command is split on purpose
	$2 >"$dir/a.out" 2>&1 &
	p=$!
	pids=("$p")
	wait_output "$dir/a.out" "$p" || true
	sysctl -q -w kernel.bpf_stats_enabled=1
	b=$(prog_counters "$p")
	workload "$1"
	a=$(prog_counters "$p")
	sysctl -q -w kernel.bpf_stats_enabled="$old_stats"
	kill -TERM "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	pids=()
	delta "$b" "$a"
}

# cost prints "friday_ns libbpf_ns friday_runs libbpf_runs" for one run
# of a tool, FIRST (friday or libbpf) started first. With ALONE=1 the
# twins run one after the other, each alone under its own workload: the
# program a tracepoint runs first pays for bringing the event's data into
# the cache, which at once makes the one attached first the dearer.
cost() {
	local f l fb lb fa la
	if [ "${ALONE:-0}" = 1 ]; then
		if [ "$2" = friday ]; then
			read -r fns fn < <(alone "$1" "$(friday_cmd "$1")")
			read -r lns ln < <(alone "$1" "$(libbpf_cmd "$1")")
		else
			read -r lns ln < <(alone "$1" "$(libbpf_cmd "$1")")
			read -r fns fn < <(alone "$1" "$(friday_cmd "$1")")
		fi
		echo "$(per "$fns" "$fn") $(per "$lns" "$ln") $fn $ln"
		return
	fi
	# A file left from the run before would pass for the tool's start.
	rm -f "$dir/f.out" "$dir/l.out"
	if [ "$2" = friday ]; then
		# shellcheck disable=SC2046 # the commands are split on purpose
		$(friday_cmd "$1") >/dev/null 2>"$dir/f.out" &
		f=$!
		wait_output "$dir/f.out" "$f" || true
	fi
	# shellcheck disable=SC2046
	$(libbpf_cmd "$1") >"$dir/l.out" 2>&1 &
	l=$!
	wait_output "$dir/l.out" "$l" || true
	if [ "$2" != friday ]; then
		# shellcheck disable=SC2046
		$(friday_cmd "$1") >/dev/null 2>"$dir/f.out" &
		f=$!
		wait_output "$dir/f.out" "$f" || true
	fi
	pids=("$f" "$l")
	sysctl -q -w kernel.bpf_stats_enabled=1
	fb=$(prog_counters "$f") lb=$(prog_counters "$l")
	workload "$1"
	fa=$(prog_counters "$f") la=$(prog_counters "$l")
	sysctl -q -w kernel.bpf_stats_enabled="$old_stats"
	kill -TERM "$f" "$l" 2>/dev/null || true
	wait "$f" "$l" 2>/dev/null || true
	pids=()
	read -r fns fn < <(delta "$fb" "$fa")
	read -r lns ln < <(delta "$lb" "$la")
	echo "$(per "$fns" "$fn") $(per "$lns" "$ln") $fn $ln"
}

# start prints the milliseconds from exec to the first line of a command.
start() {
	local fifo="$dir/fifo" s e p line
	rm -f "$fifo"
	mkfifo "$fifo"
	s=$EPOCHREALTIME
	# shellcheck disable=SC2086
	$1 >"$fifo" 2>&1 &
	p=$!
	read -r line <"$fifo" || true
	e=$EPOCHREALTIME
	# A tool that fails prints its error: no start time.
	if ! kill -0 "$p" 2>/dev/null; then
		wait "$p" 2>/dev/null && true || { echo -; return; }
	fi
	kill -TERM "$p" 2>/dev/null || true
	# Drain what it prints while it ends (a cat left waiting for a
	# writer would hold the script's output open).
	timeout 10 cat "$fifo" >/dev/null &
	wait "$p" 2>/dev/null || true
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f\n", (e - s) * 1000 }'
}

# rss prints the peak RSS in KiB of a command over the tool's workload.
rss() {
	rm -f "$dir/r.out"
	# shellcheck disable=SC2086
	/usr/bin/time -f '%M' -o "$dir/rss" $2 >"$dir/r.out" 2>&1 &
	local p=$!
	wait_output "$dir/r.out" "$p" || { echo -; return; }
	workload "$1"
	pkill -TERM -P "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	tail -n 1 "$dir/rss"
}

# med is the median of its numeric arguments, "-" when there are none (the
# tool failed each time).
med() { printf '%s\n' "$@" | grep -v '^-$' | median 2>/dev/null || echo -; }

printf '%-11s %12s %12s %10s %10s %10s %10s\n' "" "ns/event" "" "start ms" "" "RSS KiB" ""
printf '%-11s %12s %12s %10s %10s %10s %10s\n' tool friday libbpf friday libbpf friday libbpf
for t in "${tools[@]}"; do
	fc=() lc=() fs=() ls=()
	for i in $(seq "$runs"); do
		first=friday
		[ $((i % 2)) -eq 0 ] && first=libbpf
		read -r fns lns fn ln < <(cost "$t" "$first")
		fc+=("$fns") lc+=("$lns")
		echo "  $t: friday $fns ns x $fn, libbpf-tools $lns ns x $ln ($first first)" >&2
		fs+=("$(start "$(friday_cmd "$t")")")
		ls+=("$(start "$(libbpf_cmd "$t")")")
	done
	fr=$(rss "$t" "$(friday_cmd "$t")")
	lr=$(rss "$t" "$(libbpf_cmd "$t")")
	printf '%-11s %12s %12s %10s %10s %10s %10s\n' "$t" \
		"$(med "${fc[@]}")" "$(med "${lc[@]}")" "$(med "${fs[@]}")" "$(med "${ls[@]}")" "$fr" "$lr"
done
