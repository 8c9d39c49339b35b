package uprobe

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestGoReturnOffsets(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the expected return instructions are x86-64's")
	}
	for _, c := range []struct {
		name  string
		flags []string
	}{
		{"exe", nil},
		{"pie", []string{"-buildmode=pie"}},
		{"stripped", []string{"-ldflags=-s -w"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := buildGo(t, "goprog", "goprog", c.flags...)
			b := openBinary(t, path)
			if !b.IsGo() {
				t.Fatal("IsGo is false for a Go program")
			}
			fn, err := b.Lookup("main.work")
			must(t, err)
			offs, err := b.ReturnOffsets(fn)
			must(t, err)
			file, err := os.ReadFile(path)
			must(t, err)
			for _, off := range offs {
				if file[off] != 0xc3 {
					t.Errorf("byte at file offset 0x%x is 0x%02x, not ret", off, file[off])
				}
				if off < fn.Offset || off >= fn.Offset+fn.Size {
					t.Errorf("offset 0x%x is outside main.work [0x%x, 0x%x)", off, fn.Offset, fn.Offset+fn.Size)
				}
			}
			if c.name == "stripped" {
				if b.ELF().Section(".symtab") != nil {
					t.Fatal("-s left the symbol table in")
				}
				// objdump has no symbols to find the function by.
				if len(offs) < 2 {
					t.Errorf("main.work has %d returns, want several", len(offs))
				}
				return
			}
			var want []string
			for _, in := range objdumpFunc(t, path, "main.work") {
				if strings.HasPrefix(in.text, "ret") {
					want = append(want, fmt.Sprintf("0x%x", in.addr-fn.Addr+fn.Offset))
				}
			}
			var got []string
			for _, off := range offs {
				got = append(got, fmt.Sprintf("0x%x", off))
			}
			if len(want) < 2 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("returns of main.work at %v, objdump shows %v", got, want)
			}

			// A wildcard over the runtime matches functions that never
			// return and hand-written assembly; the rest are probed.
			wild, err := b.Locate("runtime.*", Options{Return: true})
			must(t, err)
			funcs := map[string]bool{}
			for _, l := range wild {
				funcs[l.Func] = true
				if l.Return || file[l.Offset] != 0xc3 {
					t.Fatalf("uretprobe runtime.*: %+v is not a ret (0x%02x)", l, file[l.Offset])
				}
			}
			if len(funcs) < 100 {
				t.Errorf("uretprobe runtime.* covers only %d functions", len(funcs))
			}
			if _, err := b.Locate("runtime.goexit.abi0", Options{Return: true}); err == nil || !strings.Contains(err.Error(), "no return instruction") {
				t.Errorf("uretprobe on runtime.goexit.abi0, which never returns: %v", err)
			}

			locs, err := b.Locate("main.work", Options{Return: true})
			must(t, err)
			if len(locs) != len(offs) {
				t.Fatalf("uretprobe main.work: %d locations, want one per return (%d)", len(locs), len(offs))
			}
			for i, l := range locs {
				if l.Return || l.Offset != offs[i] || l.Func != "main.work" || l.Spec != "main.work" {
					t.Errorf("location %d: %+v", i, l)
				}
			}
		})
	}
}

func TestNotGo(t *testing.T) {
	b := openBinary(t, buildC(t, "prog.c", "prog"))
	if b.IsGo() {
		t.Error("IsGo is true for a C program")
	}
}
