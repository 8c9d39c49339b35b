package uprobe

import (
	"debug/elf"
	"encoding/binary"
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// arm64Ret is "ret" (return through x30), the form Go's compiler emits.
const arm64Ret = 0xd65f03c0

// ReturnOffsets gives the file offsets of every return instruction of fn.
//
// A kernel return probe replaces the return address on the stack with a
// trampoline; Go moves and copies goroutine stacks and walks them itself,
// so on Go code that corrupts the program. A return probe on a Go function
// therefore becomes plain probes on its return instructions.
func (b *Binary) ReturnOffsets(fn Func) ([]uint64, error) {
	code, err := b.Code(fn)
	if err != nil {
		return nil, err
	}
	var rel []uint64
	switch b.file.Machine {
	case elf.EM_X86_64:
		rel, err = x86Returns(code)
		if err != nil {
			return nil, fmt.Errorf("%s: function %s: %v", b.Path, fn.Name, err)
		}
	case elf.EM_AARCH64:
		for i := 0; i+4 <= len(code); i += 4 {
			if binary.LittleEndian.Uint32(code[i:]) == arm64Ret {
				rel = append(rel, uint64(i))
			}
		}
	default:
		return nil, fmt.Errorf("%s: finding return instructions on %v is not supported", b.Path, b.file.Machine)
	}
	if len(rel) == 0 {
		return nil, fmt.Errorf("%s: function %s has no return instruction", b.Path, fn.Name)
	}
	out := make([]uint64, len(rel))
	for i, r := range rel {
		out[i] = fn.Offset + r
	}
	return out, nil
}

// x86Returns decodes code from its start and returns the positions of its
// near return instructions.
func x86Returns(code []byte) ([]uint64, error) {
	var out []uint64
	err := x86Walk(code, func(pos int, inst x86asm.Inst) bool {
		if inst.Op == x86asm.RET {
			out = append(out, uint64(pos))
		}
		return true
	})
	return out, err
}

// x86Walk decodes code instruction by instruction. Compilers pad functions
// with int3 or zero bytes after their last instruction; decoding stops
// cleanly there.
func x86Walk(code []byte, visit func(pos int, inst x86asm.Inst) bool) error {
	for pos := 0; pos < len(code); {
		if allPadding(code[pos:]) {
			return nil
		}
		inst, err := x86asm.Decode(code[pos:], 64)
		if err != nil {
			return fmt.Errorf("cannot decode the instruction at +0x%x: %v", pos, err)
		}
		if !visit(pos, inst) {
			return nil
		}
		pos += inst.Len
	}
	return nil
}

func allPadding(b []byte) bool {
	for _, c := range b {
		if c != 0xcc && c != 0x00 {
			return false
		}
	}
	return true
}

// checkBoundary makes sure off (relative to fn's start) is the first byte
// of an instruction: a probe in the middle of one would corrupt it.
func (b *Binary) checkBoundary(fn Func, off uint64) error {
	if off == 0 {
		return nil
	}
	if fn.Size != 0 && off >= fn.Size {
		return fmt.Errorf("%s: offset %d is outside function %s (size %d)", b.Path, off, fn.Name, fn.Size)
	}
	switch b.file.Machine {
	case elf.EM_X86_64:
	case elf.EM_AARCH64:
		if off%4 != 0 {
			return fmt.Errorf("%s: offset %d into %s is not at an instruction boundary", b.Path, off, fn.Name)
		}
		return nil
	default:
		return nil
	}
	code, err := b.Code(fn)
	if err != nil {
		return err
	}
	ok := false
	err = x86Walk(code, func(pos int, _ x86asm.Inst) bool {
		ok = uint64(pos) == off
		return uint64(pos) < off
	})
	if err != nil {
		return fmt.Errorf("%s: function %s: %v", b.Path, fn.Name, err)
	}
	if !ok {
		return fmt.Errorf("%s: offset %d into %s is not at an instruction boundary", b.Path, off, fn.Name)
	}
	return nil
}
