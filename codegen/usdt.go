package codegen

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"friday/syntax"
	"friday/types"
)

// usdtArg reads argument n of a USDT probe from where the site's note says
// it is: a register, memory relative to registers, or a constant. The
// checker gives sites whose arguments differ programs of their own, so the
// first point speaks for all.
func (f *fn) usdtArg(e syntax.Expr, n int, t *types.Type) value {
	site := f.points[0].USDT
	if n >= len(site.Args) {
		// The checker reports arguments a site does not have.
		f.errorf(e.Pos(), "internal error: %s has no arg%d", f.points[0].Name, n)
		return value{}
	}
	// Load parks memory arguments in an 8-byte stack slot and clobbers
	// R0-R5, as a helper call does.
	m := f.alloc(8)
	insns, err := site.Args[n].Load(asm.R0, rCtx, int16(m.off))
	if err != nil {
		f.errorf(e.Pos(), "%s: arg%d: %v", f.points[0].Name, n, err)
		return value{}
	}
	f.emit(insns...)
	f.emit(asm.StoreMem(m.base, int16(m.off), asm.R0, asm.DWord))
	return value{kind: vMem, m: m, t: types.IntOf(8, t.Signed)}
}

// funcIP puts the address of the probed function into R0. In a return
// probe the instruction pointer is already back in the caller; the kernel
// remembers the probed address (bpf_get_func_ip, for uprobes since Linux
// 6.6).
func (f *fn) funcIP() {
	if f.ptype == ebpf.Kprobe && len(f.points) > 0 && f.points[0].Provider == "uretprobe" {
		f.emit(asm.Mov.Reg(asm.R1, rCtx))
		f.call(asm.FnGetFuncIp)
		return
	}
	f.emit(asm.LoadMem(asm.R0, rCtx, int16(regOffsets["ip"]), asm.DWord))
}
