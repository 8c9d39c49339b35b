package usdt

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// Argument specs come from files anyone can write: no spec may crash the
// parser, and an accepted one must be complete.
func FuzzParseArg(f *testing.F) {
	file, err := os.Open("testdata/args.txt")
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if spec, _, ok := strings.Cut(sc.Text(), "=>"); ok && !strings.HasPrefix(spec, "#") {
			f.Add(strings.TrimSpace(spec))
		}
	}
	file.Close()
	f.Fuzz(func(t *testing.T, spec string) {
		a, err := parseArg(spec, x86Registers)
		if err != nil {
			return
		}
		switch a.Kind {
		case ArgReg:
			if a.Reg == nil {
				t.Fatalf("%q: register argument without a register", spec)
			}
		case ArgMem:
			if a.Index != nil && a.Scale == 0 {
				t.Fatalf("%q: index without scale", spec)
			}
		}
		if a.Size != 1 && a.Size != 2 && a.Size != 4 && a.Size != 8 {
			t.Fatalf("%q: size %d", spec, a.Size)
		}
	})
}
