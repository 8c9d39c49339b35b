package codegen

import (
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"friday/check"
	"friday/syntax"
	"friday/types"
)

const (
	skbMapName = "skb_out"
	// bpf_skb_output takes the number of packet bytes to append in the
	// upper half of its flags (BPF_F_CTXLEN_MASK), the perf buffer in
	// the lower half (BPF_F_CURRENT_CPU).
	skbMaxLen     = 0xfffff
	currentCPU    = 0xffffffff
	skbRecordSize = 32
	errInval      = 22
)

// skboutput is skboutput(file, skb, len, offset): it sends the first
// offset+len bytes of the packet with an SkbRecord through the perf event
// array; the runtime writes them to the pcap file without the first offset
// bytes. The value is the helper's: 0, or a negative error (-EINVAL for a
// NULL skb).
func (f *fn) skboutput(e syntax.Expr, c *check.Call, t *types.Type) value {
	file, _ := f.constString(c.Args[0])
	if at := f.typeOf(c.Args[1]); !isKernelStruct(at, "struct sk_buff") {
		f.errorf(c.Args[1].Pos(), "skboutput() expects a struct sk_buff pointer (%s provided)", at)
		return value{}
	}
	offset, ok := f.constOf(c.Args[3])
	if !ok || offset.c < 0 || offset.c > skbMaxLen {
		f.errorf(c.Args[3].Pos(), "the offset of skboutput() must be a constant from 0 to %d", skbMaxLen)
		return value{}
	}
	g := f.g
	if g.obj.SkbMap == "" {
		g.internalMap(skbMapName, &ebpf.MapSpec{Type: ebpf.PerfEventArray})
		g.obj.SkbMap = skbMapName
	}
	idx := slices.Index(g.obj.SkbFiles, file)
	if idx < 0 {
		idx = len(g.obj.SkbFiles)
		g.obj.SkbFiles = append(g.obj.SkbFiles, file)
	}
	rec := f.alloc(skbRecordSize)
	f.emit(storeImm(rec.base, int16(rec.off), int64(idx), asm.DWord),
		storeImm(rec.base, int16(rec.off+16), offset.c, asm.DWord))
	n := f.writable(f.toReg(f.evalInt(c.Args[2]), asm.R0), value{})
	f.emit(asm.Add.Imm(n.r, int32(offset.c)))
	f.clampReg(n.r, skbMaxLen)
	f.emit(asm.StoreMem(rec.base, int16(rec.off+24), n.r, asm.DWord))
	f.drop(n)
	f.call(asm.FnKtimeGetBootNs)
	f.emit(asm.StoreMem(rec.base, int16(rec.off+8), asm.R0, asm.DWord))
	null, end := f.b.newLabel(), f.b.newLabel()
	if !f.kernelPtr(c.Args[1], null) {
		f.errorf(c.Args[1].Pos(), "skboutput() needs a struct sk_buff taken from the probe's arguments, such as args.skb")
		return value{}
	}
	f.mapPtr(asm.R2, skbMapName)
	f.emit(asm.LoadMem(asm.R3, rec.base, int16(rec.off+24), asm.DWord),
		asm.LSh.Imm(asm.R3, 32),
		asm.Mov.Imm32(asm.R0, -1),
		asm.Or.Reg(asm.R3, asm.R0))
	f.addr(asm.R4, rec)
	f.emit(asm.Mov.Imm(asm.R5, skbRecordSize))
	f.call(asm.FnSkbOutput)
	f.b.ja(end)
	f.b.mark(null)
	f.emit(asm.Mov.Imm(asm.R0, -errInval))
	f.b.mark(end)
	return value{kind: vReg, r: asm.R0, t: t}
}

// socketCookie is socket_cookie(sk): the kernel's cookie of the socket, 0
// for a NULL one. The kernel offers bpf_get_socket_cookie to tracing
// programs only for a socket whose BTF type it knows: a struct sock
// pointer the probe's arguments lead to in a BTF-typed probe (fentry,
// fexit, iter). Kprobes, tracepoints, raw tracepoints and perf events may
// not call it.
func (f *fn) socketCookie(e syntax.Expr, c *check.Call, t *types.Type) value {
	if f.ptype != ebpf.Tracing {
		f.errorf(e.Pos(), "socket_cookie() cannot be used in %s probes: the kernel lets only fentry, fexit and iter probes call bpf_get_socket_cookie", f.points[0].Provider)
		return value{}
	}
	null, end := f.b.newLabel(), f.b.newLabel()
	if !f.kernelPtr(c.Args[0], null) {
		f.errorf(c.Args[0].Pos(), "socket_cookie() needs a struct sock taken from the probe's arguments, such as args.sk")
		return value{}
	}
	f.call(asm.FnGetSocketCookie)
	f.b.ja(end)
	f.b.mark(null)
	f.emit(asm.Mov.Imm(asm.R0, 0))
	f.b.mark(end)
	return value{kind: vReg, r: asm.R0, t: t}
}
