package run

import (
	"encoding/binary"
	"testing"

	"github.com/cilium/ebpf/asm"

	"friday/types"
)

func words(ws ...int64) []byte {
	b := make([]byte, 8*len(ws))
	for i, w := range ws {
		binary.NativeEndian.PutUint64(b[8*i:], uint64(w))
	}
	return b
}

func TestCombine(t *testing.T) {
	tests := []struct {
		name string
		t    *types.Type
		cpus [][]byte
		want []byte
	}{
		{"count", &types.Type{Kind: types.Count, Size: 8}, [][]byte{words(3), words(4)}, words(7)},
		{"hist buckets", &types.Type{Kind: types.Hist, Size: 24}, [][]byte{words(1, 0, 2), words(0, 5, 1)}, words(1, 5, 3)},
		{"avg count and total", &types.Type{Kind: types.Avg, Size: 16}, [][]byte{words(2, 10), words(1, 5)}, words(3, 15)},
		{"signed min skips unset CPUs", &types.Type{Kind: types.Min, Size: 16, Signed: true}, [][]byte{words(0, 0), words(-3, 1), words(2, 1)}, words(-3, 1)},
		{"unsigned max", &types.Type{Kind: types.Max, Size: 16}, [][]byte{words(7, 1), words(0, 0), words(9, 1)}, words(9, 1)},
		{"min of no CPU", &types.Type{Kind: types.Min, Size: 16}, [][]byte{words(0, 0), words(0, 0)}, words(0, 0)},
		{"max of a plain word", &types.Type{Kind: types.Max, Size: 8, Signed: true}, [][]byte{words(-5), words(-2)}, words(-2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := combine(tt.t, tt.cpus)
			if string(got) != string(tt.want) {
				t.Errorf("combine = %x, want %x", got, tt.want)
			}
		})
	}
}

func TestFailedSource(t *testing.T) {
	insns := asm.Instructions{
		asm.Mov.Imm(asm.R0, 0).WithSource(asm.Comment("script.bt:1:9: first")),
		asm.LoadImm(asm.R1, 1<<40, asm.DWord), // two slots: raw offsets 1 and 2
		asm.Mov.Imm(asm.R2, 0).WithSource(asm.Comment("script.bt:2:3: second")),
		asm.Mov.Imm(asm.R3, 0),
		asm.Return(),
	}
	log := []string{
		"0: R1=ctx() R10=fp0",
		"0: (b7) r0 = 0",
		"1: (18) r1 = 0x10000000000",
		"4: (b7) r3 = 0",
		"5: (95) exit",
		"R0 !read_ok",
		"processed 5 insns (limit 1000000)",
	}
	if got, want := failedSource(insns, log), "script.bt:2:3: second"; got != want {
		t.Errorf("failedSource = %q, want %q", got, want)
	}
	if got, want := failedSource(insns, log[:3]), "script.bt:1:9: first"; got != want {
		t.Errorf("failedSource before the second line = %q, want %q", got, want)
	}
	if got, want := failedSource(insns, []string{"unreachable insn 4", "processed 0 insns"}), "script.bt:2:3: second"; got != want {
		t.Errorf("failedSource of a named instruction = %q, want %q", got, want)
	}
	if got := failedSource(insns, []string{"BPF program is too large"}); got != "" {
		t.Errorf("failedSource without instructions = %q, want none", got)
	}
}
