// Package bpfint holds what the code generator and the USDT argument
// loader both know about integers narrower than a BPF register.
package bpfint

import "github.com/cilium/ebpf/asm"

// Size is the width of the load or store that moves an n-byte integer;
// any other n moves a whole register.
func Size(n int) asm.Size {
	switch n {
	case 1:
		return asm.Byte
	case 2:
		return asm.Half
	case 4:
		return asm.Word
	}
	return asm.DWord
}

// Truncate is v as a register holds it after v was stored in size bytes
// and loaded back, sign-extended when signed.
func Truncate(v int64, size int, signed bool) int64 {
	if size >= 8 {
		return v
	}
	shift := uint(64 - 8*size)
	if signed {
		return v << shift >> shift
	}
	return int64(uint64(v) << shift >> shift)
}
