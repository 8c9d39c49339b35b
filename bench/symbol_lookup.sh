#!/usr/bin/env bash
# Time of friday's symbol package resolving 100000 distinct addresses in a
# large C binary with DWARF: cold (open the file, read its symbol and line
# tables, resolve) and warm (every address already in the frame cache).
#
# usage: bench/symbol_lookup.sh [FUNCTIONS] [RUNS]
#   FUNCTIONS: functions in the generated binary (default 200000, ~80 MB)
#   RUNS:      cold and warm measurements, each a median (default 5)
#   SYMBOL_BENCH_BINARY=FILE measures FILE instead of building one.
#
# The binary is generated C compiled with gcc -g -O0, so it has a full
# symbol table, .debug_info and .debug_line, like a debug build of a
# large C program. Building it takes minutes on a small machine.
set -euo pipefail
. "$(dirname "$0")/common.sh"
funcs=${1:-200000}
runs=${2:-5}
need_cmd go

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bin=${SYMBOL_BENCH_BINARY:-}
if [ -z "$bin" ]; then
	need_cmd gcc
	per=5000
	files=$(( (funcs + per - 1) / per ))
	# Each function has its own struct type, a loop and a branch, so
	# that it has DWARF types, variables and several line rows.
	awk -v dir="$tmp" -v files="$files" -v per="$per" -v funcs="$funcs" 'BEGIN {
		for (f = 0; f < files; f++) {
			out = sprintf("%s/u%03d.c", dir, f)
			for (i = f * per; i < (f + 1) * per && i < funcs; i++) {
				printf "struct s%d { long a; int b[4]; const char *c; };\n", i > out
				printf "long fn%d(long x, struct s%d *p)\n{\n\tlong acc = x;\n\tfor (int k = 0; k < 4; k++) {\n\t\tacc += p->b[k] * %d;\n\t\tif (acc & 1)\n\t\t\tacc ^= p->a;\n\t}\n\treturn acc + (p->c != 0);\n}\n", i, i, i > out
			}
			close(out)
		}
	}'
	echo 'int main(void) { return 0; }' >"$tmp/main.c"
	start=$(now_ns)
	ls "$tmp"/*.c | xargs -P "$(nproc)" -n 1 sh -c 'gcc -g -O0 -c "$0" -o "${0%.c}.o"'
	gcc -g -O0 "$tmp"/*.o -o "$tmp/big"
	end=$(now_ns)
	bin=$tmp/big
	rm -f "$tmp"/*.c "$tmp"/*.o
	echo "built $funcs functions in $(( (end - start) / 1000000000 )) s"
fi
mb=$(( $(stat -c %s "$bin") / 1000000 ))
echo "binary: $bin, $mb MB"
[ "$mb" -ge 50 ] || echo "(smaller than 50 MB)"

(cd "$ROOT" && go test -c -o "$tmp/symbol.test" ./symbol/)

# bench runs one benchmark once with b.N iterations and prints its
# ms per iteration.
bench() {
	SYMBOL_BENCH_BINARY=$bin "$tmp/symbol.test" -test.run '^$' -test.bench "^Benchmark$1\$" -test.benchtime "$2" |
		awk '/^Benchmark/ { printf "%.1f\n", $3 / 1e6 }'
}
# drop_file_cache evicts the binary's pages from the page cache only
# (POSIX_FADV_DONTNEED through dd), not the whole machine's.
drop_file_cache() { dd if="$bin" iflag=nocache count=0 status=none; }

cold=() disk=() warm=()
for _ in $(seq "$runs"); do
	drop_file_cache
	disk+=("$(bench ColdLookup 1x)")
	cold+=("$(bench ColdLookup 3x)")
	warm+=("$(bench WarmLookup 20x)")
done
printf '%-44s %10s %12s\n' lookup "ms/100k" "us/address"
row() { local m; m=$(printf '%s\n' "${@:2}" | median); printf '%-44s %10s %12s\n' "$1" "$m" "$(awk -v m="$m" 'BEGIN { printf "%.2f", m * 1000 / 100000 }')"; }
row "cold, file not in page cache" "${disk[@]}"
row "cold, file in page cache" "${cold[@]}"
row "warm (frame cache)" "${warm[@]}"
echo "(medians of $runs runs; cold = open the file, read its tables, resolve all)"
