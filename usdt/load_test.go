package usdt

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"
)

// Constants are narrowed and widened at compile time as the spec's size
// and sign say.
func TestLoadConst(t *testing.T) {
	for _, c := range []struct {
		spec string
		want int64
	}{
		{"4@$-1", 0xffffffff},
		{"-4@$-1", -1},
		{"-1@$200", -56},
		{"1@$200", 200},
		{"2@$70000", 70000 - 65536},
		{"8@$-5", -5},
	} {
		a, err := parseArg(c.spec, x86Registers)
		if err != nil {
			t.Fatal(err)
		}
		insns, err := a.Load(asm.R7, asm.R6, -8)
		if err != nil || len(insns) != 1 || insns[0].Constant != c.want || insns[0].Dst != asm.R7 {
			t.Errorf("%s: %v, %v; want the constant %d", c.spec, insns, err, c.want)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	mem, err := parseArg("8@-8(%rbp)", x86Registers)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ctx   asm.Register
		stack int16
		err   string
	}{
		{asm.R1, -8, "does not survive a helper call"},
		{asm.R6, -4, "not an 8-aligned slot"},
		{asm.R6, 8, "not an 8-aligned slot"},
	} {
		if _, err := mem.Load(asm.R7, c.ctx, c.stack); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("Load(ctx %v, stack %d): %v, want %q", c.ctx, c.stack, err, c.err)
		}
	}
	// Registers need no helper call, so any ctx register will do.
	reg, err := parseArg("-4@%eax", x86Registers)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Load(asm.R0, asm.R1, 0); err != nil {
		t.Errorf("register argument with ctx in R1: %v", err)
	}
}
