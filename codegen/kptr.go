package codegen

import (
	"errors"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"

	"friday/check"
	"friday/syntax"
	"friday/types"
)

// kernelPtr puts in R1 the kernel object e denotes: the value of a
// pointer, or the address of a struct. It loads the pointers on the way
// straight from the context and from the objects they point to, so that
// the verifier knows their BTF types: helpers that take kernel objects
// (bpf_d_path, bpf_skb_output) accept no other pointers. It jumps to null
// when a pointer on the way is NULL. Only R1 is used, and no helper is
// called.
func (f *fn) kernelPtr(e syntax.Expr, null string) bool {
	switch x := e.(type) {
	case *syntax.Ident:
		if f.isBuiltin(x, "ctx") {
			f.emit(asm.Mov.Reg(asm.R1, rCtx))
			return true
		}
	case *syntax.Cast:
		return f.kernelPtr(x.X, null)
	case *syntax.Unary:
		if x.Op == "&" && f.typeOf(x.X).Kind == types.Struct {
			return f.kernelPtr(x.X, null)
		}
	case *syntax.Field:
		t := f.typeOf(e)
		if t.Kind != types.Pointer && t.Kind != types.Struct {
			return false
		}
		var off int
		if id, ok := x.X.(*syntax.Ident); ok && f.isBuiltin(id, "args") {
			if f.ptype != ebpf.Tracing || len(f.points) == 0 || f.points[0].Args == nil {
				return false
			}
			fd, ok := f.points[0].Args.Field(x.Name)
			if !ok {
				return false
			}
			f.emit(asm.Mov.Reg(asm.R1, rCtx))
			off = fd.Offset
		} else {
			st := f.typeOf(x.X)
			if st.Kind == types.Pointer {
				st = st.Elem
			}
			fd, ok := st.Field(x.Name)
			if !ok || !f.kernelPtr(x.X, null) {
				return false
			}
			off = fd.Offset
		}
		if t.Kind == types.Struct {
			// A struct inside the object: its address.
			if off != 0 {
				f.emit(asm.Add.Imm(asm.R1, int32(off)))
			}
			return true
		}
		f.emit(asm.LoadMem(asm.R1, asm.R1, int16(off), asm.DWord))
		f.b.jmpImm(asm.JEq, asm.R1, 0, null)
		return true
	}
	return false
}

// path is path(p[, size]): the full path name of a struct path, by
// bpf_d_path; empty when the pointer is NULL. A name that does not fit
// keeps its end, as the helper leaves it.
func (f *fn) path(e syntax.Expr, c *check.Call, t *types.Type) value {
	if at := f.typeOf(c.Args[0]); !isKernelStruct(at, "struct path") {
		f.errorf(c.Args[0].Pos(), "path() expects a struct path or a pointer to one (%s provided)", at)
		return value{}
	}
	m := f.alloc(t.Size)
	f.zero(m, t.Size)
	done := f.b.newLabel()
	if !f.kernelPtr(c.Args[0], done) {
		f.errorf(c.Args[0].Pos(), "path() needs a struct path taken from the probe's arguments, such as args.file->f_path or ctx->file->f_path")
		return value{}
	}
	f.addr(asm.R2, m)
	f.emit(asm.Mov.Imm(asm.R3, int32(t.Size)))
	f.call(asm.FnDPath)
	f.b.mark(done)
	return value{kind: vMem, m: m, t: t}
}

// isKernelStruct says whether t is the struct name or a pointer to it.
func isKernelStruct(t *types.Type, name string) bool {
	if t.Kind == types.Pointer && t.Elem != nil {
		t = t.Elem
	}
	return t.Kind == types.Struct && t.Name == name
}

// override is override(rc): the probed kernel function returns rc
// without running, through bpf_override_return.
func (f *fn) override(e syntax.Expr, c *check.Call) value {
	// Only kernels built with CONFIG_BPF_KPROBE_OVERRIDE have the helper:
	// say so rather than leave it to the verifier's "unknown func".
	err := features.HaveProgramHelper(ebpf.Kprobe, asm.FnOverrideReturn)
	if errors.Is(err, ebpf.ErrNotSupported) {
		f.errorf(e.Pos(), "override() needs the helper bpf_override_return, which this kernel lacks (it is built without CONFIG_BPF_KPROBE_OVERRIDE)")
		return value{}
	}
	f.toRegInto(f.evalInt(c.Args[0]), asm.R2)
	f.emit(asm.Mov.Reg(asm.R1, rCtx))
	f.call(asm.FnOverrideReturn)
	return value{kind: vVoid, t: types.VoidT}
}

// writeUser is write_user(dst, src, len): the helper reads src from the
// program's memory, so the value is stored first; a length known only at
// run time is cut to the value's size, and nothing is written for 0.
func (f *fn) writeUser(e syntax.Expr, c *check.Call) value {
	// A kernel in lockdown refuses the helper to every program: say so
	// rather than leave it to the verifier's "cannot use helper".
	if err := features.HaveProgramHelper(f.ptype, asm.FnProbeWriteUser); errors.Is(err, ebpf.ErrNotSupported) {
		f.errorf(e.Pos(), "write_user() needs the helper bpf_probe_write_user, which this kernel refuses (a kernel in lockdown refuses it to every program: see kernel_lockdown(7))")
		return value{}
	}
	st := f.typeOf(c.Args[1])
	src := f.alloc(st.Size)
	f.evalInto(c.Args[1], src, st, false)
	dst := f.keep(f.evalInt(c.Args[0]))
	one, end := f.b.newLabel(), f.b.newLabel()
	if n, ok := f.constOf(c.Args[2]); ok {
		f.emit(asm.Mov.Imm(asm.R3, int32(n.c)))
	} else {
		f.toRegInto(f.evalInt(c.Args[2]), asm.R3)
		f.clampReg(asm.R3, st.Size)
		none := f.b.newLabel()
		f.b.jmpImm(asm.JNE, asm.R3, 0, none)
		f.emit(asm.Mov.Imm(asm.R0, 0))
		f.b.ja(end)
		f.b.mark(none)
	}
	f.toRegInto(dst, asm.R1)
	f.addr(asm.R2, src)
	f.call(asm.FnProbeWriteUser)
	f.b.jmpImm(asm.JEq, asm.R0, 0, one)
	return f.zeroOrOne(one, end, types.BoolT)
}

// debugf has the kernel format a line into the trace pipe: the format is
// rewritten for bpf_trace_vprintk, which reads every value as 64 bits
// from an array and a string through its address.
func (f *fn) debugf(c *check.Call) value {
	var data mem
	if len(c.Args) > 0 {
		data = f.alloc(8 * len(c.Args))
	}
	for i, a := range c.Args {
		slot := data.at(8 * i)
		at := f.typeOf(a)
		if c.Format.Verbs[i].Conv != "s" || isIntLike(at) {
			f.storeInt(slot, f.evalInt(a), 8)
			continue
		}
		m := f.alloc(at.Size)
		f.evalInto(a, m, at, false)
		f.addr(asm.R0, m)
		f.emit(asm.StoreMem(slot.base, int16(slot.off), asm.R0, asm.DWord))
	}
	text := kernelFormat(c.Format) + "\x00"
	fm := f.alloc(len(text))
	f.writeBytes(fm, []byte(text))
	f.addr(asm.R1, fm)
	f.emit(asm.Mov.Imm(asm.R2, int32(len(text))))
	if len(c.Args) > 0 {
		f.addr(asm.R3, data)
	} else {
		f.emit(asm.Mov.Imm(asm.R3, 0))
	}
	f.emit(asm.Mov.Imm(asm.R4, int32(8*len(c.Args))))
	f.call(asm.FnTraceVprintk)
	return value{kind: vVoid, t: types.VoidT}
}

// kernelFormat is a debugf format as the kernel's printf reads it: its
// integers are all 64-bit values.
func kernelFormat(fm *check.Format) string {
	var b strings.Builder
	last := 0
	for _, v := range fm.Verbs {
		b.WriteString(fm.Text[last:v.Start])
		b.WriteString("%" + v.Flags)
		if v.Width >= 0 {
			b.WriteString(strconv.Itoa(v.Width))
		}
		if strings.Contains("diuxX", v.Conv) {
			b.WriteString("ll")
		}
		b.WriteString(v.Conv)
		last = v.End
	}
	b.WriteString(fm.Text[last:])
	return b.String()
}
