package bpfint

import (
	"testing"

	"github.com/cilium/ebpf/asm"
)

func TestSize(t *testing.T) {
	for n, want := range map[int]asm.Size{1: asm.Byte, 2: asm.Half, 4: asm.Word, 8: asm.DWord, 3: asm.DWord, 16: asm.DWord} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		v      int64
		size   int
		signed bool
		want   int64
	}{
		{0x1ff, 1, false, 0xff},
		{0x1ff, 1, true, -1},
		{0x17f, 1, true, 0x7f},
		{-1, 2, false, 0xffff},
		{0x8000_0000, 4, true, -0x8000_0000},
		{0x1_8000_0000, 4, false, 0x8000_0000},
		{-5, 8, false, -5},
	} {
		if got := Truncate(c.v, c.size, c.signed); got != c.want {
			t.Errorf("Truncate(%#x, %d, %v) = %#x, want %#x", c.v, c.size, c.signed, got, c.want)
		}
	}
}
