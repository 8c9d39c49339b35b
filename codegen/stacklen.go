package codegen

import (
	"github.com/cilium/ebpf/asm"

	"friday/check"
	"friday/syntax"
	"friday/types"
)

// stackBufName is the per-CPU buffer the frames of kstack, ustack and
// their len() are written to: a full stack does not fit on the BPF stack.
const stackBufName = ".stackbuf"

// stackLen is len(kstack) or len(ustack): the number of frames of the
// current stack, up to the depth of the stack's type. bpf_get_stack gives
// the bytes it wrote, 8 a frame.
func (f *fn) stackLen(e syntax.Expr, c *check.Call) value {
	sc := f.callOf(c.Args[0])
	if sc == nil || sc.Name != "kstack" && sc.Name != "ustack" {
		f.errorf(e.Pos(), "internal error: len() of a stack that is not kstack or ustack")
		return constVal(0, types.I64)
	}
	depth := f.typeOf(c.Args[0]).StackDepth
	if depth <= 0 {
		depth = f.g.opts.StackDepth
	}
	buf := f.g.stackBuf(depth)
	flags := int32(0)
	if sc.Name == "ustack" {
		flags = 256 // BPF_F_USER_STACK
	}
	key := f.alloc(4)
	f.emit(storeImm(key.base, int16(key.off), 0, asm.Word))
	f.mapPtr(asm.R1, buf)
	f.addr(asm.R2, key)
	f.call(asm.FnMapLookupElem)
	none := f.b.newLabel()
	end := f.b.newLabel()
	f.b.jmpImm(asm.JEq, asm.R0, 0, none)
	f.emit(asm.Mov.Reg(asm.R2, asm.R0), asm.Mov.Reg(asm.R1, rCtx), asm.Mov.Imm(asm.R3, int32(8*depth)), asm.Mov.Imm(asm.R4, flags))
	f.call(asm.FnGetStack)
	// An error (no user stack in a kernel thread) counts as no frames.
	f.b.jmpImm(asm.JSLT, asm.R0, 0, none)
	f.emit(asm.RSh.Imm(asm.R0, 3))
	f.b.ja(end)
	f.b.mark(none)
	f.emit(asm.Mov.Imm(asm.R0, 0))
	f.b.mark(end)
	return value{kind: vReg, r: asm.R0, t: types.I64}
}
