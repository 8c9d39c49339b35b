package symbol

import (
	"bytes"
	"cmp"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// benchAddrs are the numbers of distinct addresses resolved: as many as
// a profile of a busy program hits in it, and far more.
var benchAddrs = []int{1000, 100000}

// benchBinaryEnv names the ELF file to resolve in, for measuring other
// kinds of binary (C with DWARF, stripped, ...) than the default.
const benchBinaryEnv = "SYMBOL_BENCH_BINARY"

// benchBinary is the file $SYMBOL_BENCH_BINARY names, or else the Go
// compiler's own binary: a large Go program that is always at hand where
// tests can be built.
func benchBinary(b *testing.B, n int) (string, []uint64) {
	path, chosen := os.LookupEnv(benchBinaryEnv)
	if !chosen {
		out, err := exec.Command("go", "env", "GOTOOLDIR").Output()
		if err != nil {
			b.Skipf("go env: %v", err)
		}
		path = filepath.Join(strings.TrimSpace(string(out)), "compile")
	}
	// A binary asked for by name that cannot be measured is an error, not
	// a reason to measure nothing.
	skip := b.Skip
	if chosen {
		skip = b.Fatal
	}
	ef, err := elf.Open(path)
	if err != nil {
		skip(err)
	}
	defer ef.Close()
	addrs := spreadOverFuncs(ef, n)
	if addrs == nil {
		skip(fmt.Sprintf("%s has fewer than %d bytes of sized function symbols", path, n))
	}
	return path, addrs
}

// spreadOverFuncs returns n distinct addresses evenly spread over the
// bytes of the binary's sized function symbols. Spreading over .text
// instead would hit the padding between functions, where there is no
// name to find.
func spreadOverFuncs(ef *elf.File, n int) []uint64 {
	syms, _ := ef.Symbols()
	var ranges [][2]uint64
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Size > 0 {
			ranges = append(ranges, [2]uint64{s.Value, s.Value + s.Size})
		}
	}
	slices.SortFunc(ranges, func(a, b [2]uint64) int { return cmp.Compare(a[0], b[0]) })
	// Aliases and nested symbols cover the same bytes; merge them so that
	// no address is picked twice.
	var merged [][2]uint64
	var total uint64
	for _, r := range ranges {
		if k := len(merged) - 1; k >= 0 && r[0] < merged[k][1] {
			if r[1] > merged[k][1] {
				total += r[1] - merged[k][1]
				merged[k][1] = r[1]
			}
			continue
		}
		merged = append(merged, r)
		total += r[1] - r[0]
	}
	if total < uint64(n) {
		return nil
	}
	step := total / uint64(n)
	addrs := make([]uint64, 0, n)
	var base uint64 // bytes of the merged ranges before merged[0]
	for _, r := range merged {
		size := r[1] - r[0]
		for off := uint64(len(addrs)) * step; off < base+size && len(addrs) < n; off += step {
			addrs = append(addrs, r[0]+off-base)
		}
		base += size
	}
	return addrs
}

func reportSize(b *testing.B, path string, n int) {
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size())/1e6, "MB")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/addr")
}

func lookupAll(b *testing.B, bin *Binary, addrs []uint64) {
	for _, a := range addrs {
		if _, ok := bin.Lookup(a); !ok {
			b.Fatalf("%#x not resolved", a)
		}
	}
}

// BenchmarkColdLookup opens the binary and reads its tables each time:
// with DWARF, as friday trace does, and without, as a profile does
// (Resolver.SkipDWARF).
func BenchmarkColdLookup(b *testing.B) {
	for _, n := range benchAddrs {
		for _, dwarf := range []bool{true, false} {
			b.Run(fmt.Sprintf("addrs=%d/dwarf=%v", n, dwarf), func(b *testing.B) { coldLookup(b, n, dwarf) })
		}
	}
}

func coldLookup(b *testing.B, n int, dwarf bool) {
	path, addrs := benchBinary(b, n)
	for b.Loop() {
		bin, err := OpenBinary(path)
		if err != nil {
			b.Fatal(err)
		}
		bin.noDWARF = !dwarf
		lookupAll(b, bin, addrs)
		bin.Close()
	}
	reportSize(b, path, n)
}

// BenchmarkWarmLookup resolves with the tables already in the cache.
func BenchmarkWarmLookup(b *testing.B) {
	n := benchAddrs[len(benchAddrs)-1]
	path, addrs := benchBinary(b, n)
	bin, err := OpenBinary(path)
	if err != nil {
		b.Fatal(err)
	}
	defer bin.Close()
	lookupAll(b, bin, addrs)
	for b.Loop() {
		lookupAll(b, bin, addrs)
	}
	reportSize(b, path, n)
}

// BenchmarkParseKallsyms parses the running kernel's symbols, read once
// beforehand: what is left of reading them is the kernel's writing.
func BenchmarkParseKallsyms(b *testing.B) {
	data, err := os.ReadFile("/proc/kallsyms")
	if err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		if _, err := ParseKallsyms(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
