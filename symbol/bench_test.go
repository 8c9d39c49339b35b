package symbol

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const benchAddrs = 100000

// benchBinary is the Go compiler's own binary: a large Go program that is
// always at hand where tests can be built.
func benchBinary(b *testing.B) (string, []uint64) {
	out, err := exec.Command("go", "env", "GOTOOLDIR").Output()
	if err != nil {
		b.Skipf("go env: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "compile")
	ef, err := elf.Open(path)
	if err != nil {
		b.Skip(err)
	}
	defer ef.Close()
	text := ef.Section(".text")
	if text == nil || text.Size < benchAddrs {
		b.Skip("compile has no large .text")
	}
	addrs := make([]uint64, benchAddrs)
	step := text.Size / benchAddrs
	for i := range addrs {
		addrs[i] = text.Addr + uint64(i)*step
	}
	return path, addrs
}

func reportSize(b *testing.B, path string) {
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size())/1e6, "MB")
	}
}

func lookupAll(b *testing.B, bin *Binary, addrs []uint64) {
	for _, a := range addrs {
		if _, ok := bin.Lookup(a); !ok {
			b.Fatalf("%#x not resolved", a)
		}
	}
}

// BenchmarkColdLookup opens the binary and reads its tables each time.
func BenchmarkColdLookup(b *testing.B) {
	path, addrs := benchBinary(b)
	for b.Loop() {
		bin, err := OpenBinary(path)
		if err != nil {
			b.Fatal(err)
		}
		lookupAll(b, bin, addrs)
		bin.Close()
	}
	reportSize(b, path)
}

// BenchmarkWarmLookup resolves with the tables already in the cache.
func BenchmarkWarmLookup(b *testing.B) {
	path, addrs := benchBinary(b)
	bin, err := OpenBinary(path)
	if err != nil {
		b.Fatal(err)
	}
	defer bin.Close()
	lookupAll(b, bin, addrs)
	for b.Loop() {
		lookupAll(b, bin, addrs)
	}
	reportSize(b, path)
}
