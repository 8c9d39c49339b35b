package usdt

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"friday/internal/testenv"
)

// describe renders a parsed argument in the notation of testdata/args.txt.
func describe(a Arg) string {
	sign := "unsigned"
	if a.Signed {
		sign = "signed"
	}
	reg := func(r *Register) string { return fmt.Sprintf("%s@%d", r.Name, r.Offset) }
	s := fmt.Sprintf("%d %s %v", a.Size, sign, a.Kind)
	switch a.Kind {
	case ArgConst:
		s += fmt.Sprintf(" %d", a.Const)
	case ArgReg:
		s += fmt.Sprintf(" %s/%d", reg(a.Reg), a.Reg.Size)
	case ArgMem:
		if a.Base != nil {
			s += " base=" + reg(a.Base)
		}
		if a.Index != nil {
			s += fmt.Sprintf(" index=%s*%d", reg(a.Index), a.Scale)
		}
		if a.Symbol != "" {
			s += " sym=" + a.Symbol
		}
		if a.Offset != 0 {
			s += fmt.Sprintf(" off=%d", a.Offset)
		}
	}
	return s
}

func TestParseArgCases(t *testing.T) {
	f, err := os.Open("testdata/args.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		spec, want, ok := strings.Cut(text, "=>")
		if !ok {
			t.Fatalf("line %d: no =>", line)
		}
		spec, want = strings.TrimSpace(spec), strings.TrimSpace(want)
		n++
		a, err := parseArg(spec, x86Registers)
		if wantErr, isErr := strings.CutPrefix(want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("line %d: %s: got %v, want error containing %q", line, spec, err, wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("line %d: %s: %v", line, spec, err)
			continue
		}
		if got := describe(a); got != want || a.Text != spec {
			t.Errorf("line %d: %s:\n got %s\nwant %s", line, spec, got, want)
		}
	}
	if n == 0 {
		t.Fatal("no cases")
	}
}

func TestParseArgList(t *testing.T) {
	args, err := parseArgs("-4@%edx  8@-8(%rbp) 4@$5", x86Registers)
	if err != nil || len(args) != 3 || args[0].Kind != ArgReg || args[1].Kind != ArgMem || args[2].Kind != ArgConst {
		t.Errorf("parseArgs: %+v, %v", args, err)
	}
	if _, err := parseArgs("-4@%edx bad@x", x86Registers); err == nil {
		t.Error("a bad argument among good ones was accepted")
	}
}

// The register table must agree with the kernel's own description of
// struct pt_regs.
func TestRegistersMatchKernelPtRegs(t *testing.T) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		testenv.Unavailable(t, "no kernel BTF: %v", err)
	}
	var regs *btf.Struct
	if err := spec.TypeByName("pt_regs", &regs); err != nil {
		t.Fatal(err)
	}
	// The kernel names the slots without the "r" and "e" of the
	// instruction set's names.
	kernelName := map[string]string{
		"rbp": "bp", "rbx": "bx", "rax": "ax", "rcx": "cx", "rdx": "dx", "rsi": "si",
		"rdi": "di", "rip": "ip", "rsp": "sp", "orig_rax": "orig_ax", "eflags": "flags",
	}
	if got := len(x86PtRegs) * 8; got != int(regs.Size) {
		t.Errorf("pt_regs is %d bytes, we know %d", regs.Size, got)
	}
	// Newer kernels put cs and ss in anonymous unions.
	offsets := map[string]int{}
	var flatten func(members []btf.Member, base int)
	flatten = func(members []btf.Member, base int) {
		for _, m := range members {
			off := base + int(m.Offset.Bytes())
			if u, ok := m.Type.(*btf.Union); ok && m.Name == "" {
				flatten(u.Members, off)
				continue
			}
			offsets[m.Name] = off
		}
	}
	flatten(regs.Members, 0)
	for i, name := range x86PtRegs {
		kn := name
		if k, ok := kernelName[name]; ok {
			kn = k
		}
		off, ok := offsets[kn]
		if !ok || off != i*8 {
			t.Errorf("%s: slot at %d, kernel's %s is at %d (present %v)", name, i*8, kn, off, ok)
		}
		if r, ok := x86Registers[name]; ok && (r.Offset != off || r.Size != 8) {
			t.Errorf("register %s: %+v, kernel's %s is at %d", name, r, kn, off)
		}
	}
}
