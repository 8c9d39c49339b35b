package codegen

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"friday/probe"
	"friday/types"
)

// exitRetval reads the return value of the function an fexit program
// traces: the kernel stores it in the context slot after the arguments,
// which the point's args describe as probe.RetvalField.
func (f *fn) exitRetval(t *types.Type) (value, bool) {
	if len(f.points) == 0 || f.points[0].Args == nil {
		return value{}, false
	}
	fd, ok := f.points[0].Args.Field(probe.RetvalField)
	if !ok {
		return value{}, false
	}
	return value{kind: vMem, m: mem{rCtx, fd.Offset}, t: fieldIntType(fd.Type, t)}, true
}

// kernelFuncIP gives the traced kernel function's address where the
// context does not hold it: fentry and fexit contexts have no registers,
// and when a kretprobe fires the instruction pointer is already back in
// the caller. The kernel keeps the address for bpf_get_func_ip.
func (f *fn) kernelFuncIP(t *types.Type) (value, bool) {
	if t.Kind == types.Usym || len(f.points) == 0 {
		return value{}, false
	}
	if f.ptype != ebpf.Tracing && f.points[0].Provider != "kretprobe" {
		return value{}, false
	}
	f.emit(asm.Mov.Reg(asm.R1, rCtx))
	f.call(asm.FnGetFuncIp)
	return value{kind: vReg, r: asm.R0, t: t}, true
}
