// Package bpftest holds the BPF program that tests of the attach layers load
// to learn whether, and how often, a probe fired.
package bpftest

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// CounterInsns adds one to the u64 at index slot of the array map m.
func CounterInsns(m *ebpf.Map, slot int32) asm.Instructions {
	return asm.Instructions{
		asm.StoreImm(asm.RFP, -4, int64(slot), asm.Word),
		asm.LoadMapPtr(asm.R1, m.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
		asm.Return(),
	}
}
