package codegen

import (
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"friday/check"
	"friday/internal/bpfint"
	"friday/syntax"
	"friday/types"
)

// callOf returns what the checker resolved a call or identifier to.
func (f *fn) callOf(e syntax.Expr) *check.Call {
	if f.info.Calls != nil {
		if c := f.info.Calls[e]; c != nil {
			return c
		}
	}
	switch x := e.(type) {
	case *syntax.Ident:
		return &check.Call{Name: x.Name}
	case *syntax.Call:
		return &check.Call{Name: x.Name, Args: x.Args}
	}
	return nil
}

func (f *fn) isBuiltin(id *syntax.Ident, name string) bool {
	c := f.callOf(id)
	return c != nil && c.Name == name
}

// pt_regs offsets on x86-64, for uprobes and perf events.
var regOffsets = map[string]int{
	"r15": 0, "r14": 8, "r13": 16, "r12": 24, "bp": 32, "bx": 40, "r11": 48, "r10": 56,
	"r9": 64, "r8": 72, "ax": 80, "cx": 88, "dx": 96, "si": 104, "di": 112,
	"orig_ax": 120, "ip": 128, "cs": 136, "flags": 144, "sp": 152, "ss": 160,
}

var argRegs = []string{"di", "si", "dx", "cx", "r8", "r9"}

// helperValue calls a helper without arguments; its result is in R0.
func (f *fn) helperValue(fn asm.BuiltinFunc, t *types.Type) value {
	f.call(fn)
	return value{kind: vReg, r: asm.R0, t: t}
}

// helperHalf is the upper or the lower 32 bits of what helper fn returns,
// for the helpers that pack two ids (tgid and pid, gid and uid) in one.
func (f *fn) helperHalf(fn asm.BuiltinFunc, upper bool, t *types.Type) value {
	f.call(fn)
	return f.half(upper, t)
}

// half is the upper or lower 32 bits of R0.
func (f *fn) half(upper bool, t *types.Type) value {
	if upper {
		f.emit(asm.RSh.Imm(asm.R0, 32))
	} else {
		f.emit(asm.Mov.Reg32(asm.R0, asm.R0))
	}
	return value{kind: vReg, r: asm.R0, t: t}
}

// builtin evaluates a builtin identifier such as pid or comm.
func (f *fn) builtin(id *syntax.Ident) value {
	c := f.callOf(id)
	t := f.typeOf(id)
	return f.builtinCall(id, c, t)
}

func (f *fn) builtinCall(e syntax.Expr, c *check.Call, t *types.Type) value {
	switch c.Name {
	case "pid", "tid":
		if ns, ok := f.g.opts.Kernel.pidNS(); ok && c.Mode != "init" {
			return f.nsPidTid(ns, c.Name == "pid", t)
		}
		f.currentPidTgid()
		return f.half(c.Name == "pid", t)
	case "uid", "gid", "username":
		return f.helperHalf(asm.FnGetCurrentUidGid, c.Name == "gid", t)
	case "cpu":
		return f.helperValue(asm.FnGetSmpProcessorId, t)
	case "nsecs":
		switch c.Mode {
		case "boot":
			return f.helperValue(asm.FnKtimeGetBootNs, t)
		case "tai":
			return f.helperValue(asm.FnKtimeGetTaiNs, t)
		case "sw_tai":
			// For kernels without bpf_ktime_get_tai_ns: the boot clock
			// plus TAI's offset from it, taken when the script compiles.
			f.call(asm.FnKtimeGetBootNs)
			f.emit(asm.LoadImm(asm.R1, f.g.opts.Kernel.tai(), asm.DWord), asm.Add.Reg(asm.R0, asm.R1))
			return value{kind: vReg, r: asm.R0, t: t}
		}
		return f.helperValue(asm.FnKtimeGetNs, t)
	case "elapsed":
		key := f.alloc(8)
		f.emit(storeImm(key.base, int16(key.off), 0, asm.Word))
		f.mapPtr(asm.R1, f.g.startMap())
		f.addr(asm.R2, key)
		f.call(asm.FnMapLookupElem)
		skip := f.b.newLabel()
		f.b.jmpImm(asm.JEq, asm.R0, 0, skip)
		f.emit(asm.LoadMem(asm.R0, asm.R0, 0, asm.DWord))
		f.b.mark(skip)
		start := f.keep(value{kind: vReg, r: asm.R0, t: types.U64})
		f.call(asm.FnKtimeGetNs)
		f.alu(asm.Sub, asm.R0, start)
		f.drop(start)
		return value{kind: vReg, r: asm.R0, t: t}
	case "cgroup":
		return f.helperValue(asm.FnGetCurrentCgroupId, t)
	case "curtask":
		return f.helperValue(asm.FnGetCurrentTask, t)
	case "ctx":
		f.emit(asm.Mov.Reg(asm.R0, rCtx))
		return value{kind: vReg, r: asm.R0, t: t}

	case "rand":
		return f.helperValue(asm.FnGetPrandomU32, t)
	case "jiffies":
		return f.helperValue(asm.FnJiffies64, t)
	case "numaid":
		return f.helperValue(asm.FnGetNumaNodeId, t)
	case "cpid":
		if f.g.opts.CPID == 0 {
			// As bpftrace's reference has it: 0, and a warning when the
			// value is used; has_cpid tells beforehand.
			ev := f.event(e, Errorf, "cpid is 0: no command was given with -c", "", nil)
			ev.Warn, ev.Once, ev.Runtime = true, true, true
		}
		return constVal(int64(f.g.opts.CPID), t)
	case "has_cpid":
		return constVal(b2i(f.g.opts.CPID != 0), t)
	case "usermode":
		if f.ptype == ebpf.Kprobe || f.ptype == ebpf.PerfEvent {
			// User mode when the code segment selector's privilege level is 3.
			f.emit(asm.LoadMem(asm.R0, rCtx, int16(regOffsets["cs"]), asm.DWord), asm.And.Imm(asm.R0, 3))
			v := f.writable(value{kind: vReg, r: asm.R0, t: t}, value{})
			skip := f.b.newLabel()
			f.emit(asm.Mov.Imm(asm.R1, 0))
			f.b.jmpImm(asm.JNE, v.r, 3, skip)
			f.emit(asm.Mov.Imm(asm.R1, 1))
			f.b.mark(skip)
			return value{kind: vReg, r: asm.R1, t: t}
		}
		if p := f.points; len(p) > 0 && (p[0].Provider == "begin" || p[0].Provider == "end") {
			// bpftrace runs BEGIN and END through uprobes on itself.
			return constVal(1, t)
		}
		return constVal(0, t)
	case "ncpus":
		return constVal(int64(f.g.opts.NumCPU), t)
	case "pcomm", "ppid":
		return f.parentTask(e, c, t)
	case "comm":
		if len(c.Args) > 0 {
			return f.commOfPid(e, c, t)
		}
		m := f.alloc(t.Size)
		f.comm(m, t.Size)
		return value{kind: vMem, m: m, t: t}
	case "arg":
		return f.arg(e, c.N, t)
	case "retval":
		switch f.ptype {
		case ebpf.Kprobe, ebpf.PerfEvent:
			return value{kind: vMem, m: mem{rCtx, regOffsets["ax"]}, t: types.IntOf(8, t.Signed)}
		case ebpf.Tracing:
			if v, ok := f.exitRetval(t); ok {
				return v
			}
		}
		f.errorf(e.Pos(), "retval is not supported in this probe type")

	case "func":
		if t.Kind == types.String {
			return strConst(f.points[0].Func, t)
		}
		if v, ok := f.kernelFuncIP(t); ok {
			return v
		}
		if t.Kind == types.Usym && (f.ptype == ebpf.Kprobe || f.ptype == ebpf.PerfEvent) {

			m := f.alloc(t.Size)
			f.funcIP()
			f.emit(asm.StoreMem(m.base, int16(m.off), asm.R0, asm.DWord))
			f.pidInto(m.at(8))
			return value{kind: vMem, m: m, t: t}
		}
		if f.ptype == ebpf.Kprobe || f.ptype == ebpf.PerfEvent {
			return value{kind: vMem, m: mem{rCtx, regOffsets["ip"]}, t: types.U64}
		}
		f.errorf(e.Pos(), "func is not supported in this probe type")
	case "probe":
		if t.Kind == types.String {
			return strConst(f.points[0].Name, t)
		}
		return constVal(f.g.probeID(f.points[0].Name), t)
	case "kstack", "ustack":
		return f.stackID(e, c, t)
	case "args":
		if len(f.points) > 0 && f.points[0].Args != nil {
			return f.argsValue(f.points[0].Args, t)
		}
	}
	f.errorf(e.Pos(), "builtin %s is not supported by the code generator", c.Name)
	return value{}
}

// comm writes the current task's name into n bytes at m; the helper
// pads with zeros.
func (f *fn) comm(m mem, n int) {
	f.addr(asm.R1, m)
	f.emit(asm.Mov.Imm(asm.R2, int32(n)))
	f.call(asm.FnGetCurrentComm)
}

// arg reads argument n of a function probe or raw tracepoint.
func (f *fn) arg(e syntax.Expr, n int, t *types.Type) value {
	it := types.IntOf(8, t.Signed)
	if len(f.points) > 0 && f.points[0].USDT != nil {
		return f.usdtArg(e, n, t)
	}
	switch f.ptype {
	case ebpf.Kprobe, ebpf.PerfEvent:
		if n < len(argRegs) {
			return value{kind: vMem, m: mem{rCtx, regOffsets[argRegs[n]]}, t: it}
		}
		// Further arguments are on the user stack above the return address.
		sp := value{kind: vMem, m: mem{rCtx, regOffsets["sp"]}, t: types.U64}
		return f.readRemote(sp, 8*(n-len(argRegs)+1), types.Field{Type: types.U64}, it, spaceUser)
	case ebpf.RawTracepoint, ebpf.Tracing:
		return value{kind: vMem, m: mem{rCtx, 8 * n}, t: it}
	}
	f.errorf(e.Pos(), "arg%d is not supported in this probe type", n)
	return value{}
}

// stackID records the current kernel or user stack and gives its id (and
// the pid for user stacks).
//
// Stacks are kept as bpftrace keeps them since it left stack trace maps:
// the kernel writes the frames into a per-CPU buffer (bpf_get_stack,
// which zeroes what the frames leave of it), a hash of the frames is the
// id, and the frames are stored in a hash map under it unless already
// there. Unlike bpf_get_stackid, whose map keeps one stack per bucket of
// a hash of 32 bits and refuses another that falls in a taken bucket
// (EEXIST), no stack is lost until the map is full, and the map takes
// memory only for the stacks it holds. A stack that cannot be recorded
// gives the helper's error, negative, as its id: EFAULT when there are no
// frames (the kernel stack of a sample in user space), E2BIG when the map
// is full.
func (f *fn) stackID(e syntax.Expr, c *check.Call, t *types.Type) value {
	depth := t.StackDepth
	if depth <= 0 {
		depth = f.g.opts.StackDepth
	}
	user := c.Name == "ustack"
	if t.Stack == types.StackBuildID {
		return f.buildIDStackID(t, depth)
	}
	name := f.g.stackMap(user, false, depth)
	buf := f.g.stackBuf(depth)
	key, slot := f.alloc(8), f.alloc(8)
	done, stored := f.b.newLabel(), f.b.newLabel()

	f.emit(storeImm(key.base, int16(key.off), 0, asm.Word))
	f.mapPtr(asm.R1, buf)
	f.addr(asm.R2, key)
	f.call(asm.FnMapLookupElem)
	notFull := f.b.newLabel()
	f.b.jmpImm(asm.JNE, asm.R0, 0, notFull)
	f.emit(asm.Mov.Imm(asm.R0, -int32(unix.ENOMEM)))
	f.b.ja(done)
	f.b.mark(notFull)
	f.emit(asm.StoreMem(slot.base, int16(slot.off), asm.R0, asm.DWord))
	flags := int32(0)
	if user {
		flags = 256 // BPF_F_USER_STACK
	}
	f.emit(asm.Mov.Reg(asm.R1, rCtx), asm.Mov.Reg(asm.R2, asm.R0), asm.Mov.Imm(asm.R3, int32(8*depth)),
		asm.Mov.Imm(asm.R4, flags))
	f.call(asm.FnGetStack)
	f.b.jmpImm(asm.JSLT, asm.R0, 0, done)

	// The hash of the frames (R4), from their count (R3) on: R1 walks the
	// buffer, R2 counts. A multiply and a shift mix in each frame.
	loop, hashed := f.b.newLabel(), f.b.newLabel()
	f.emit(asm.Mov.Reg(asm.R3, asm.R0), asm.RSh.Imm(asm.R3, 3),
		asm.LoadMem(asm.R1, slot.base, int16(slot.off), asm.DWord),
		asm.Mov.Imm(asm.R2, 0),
		asm.Mov.Reg(asm.R4, asm.R3), asm.Mul.Imm(asm.R4, stackHashMul))
	f.b.mark(loop)
	f.b.jmpReg(asm.JGE, asm.R2, asm.R3, hashed)
	f.b.jmpImm(asm.JGE, asm.R2, int32(depth), hashed)
	f.emit(asm.LoadMem(asm.R5, asm.R1, 0, asm.DWord),
		asm.Xor.Reg(asm.R4, asm.R5), asm.Mul.Imm(asm.R4, stackHashMul),
		asm.Mov.Reg(asm.R5, asm.R4), asm.RSh.Imm(asm.R5, 47), asm.Xor.Reg(asm.R4, asm.R5),
		asm.Add.Imm(asm.R1, 8), asm.Add.Imm(asm.R2, 1))
	f.b.ja(loop)
	f.b.mark(hashed)
	// Ids are positive: the errors are negative.
	f.emit(asm.Mov.Reg(asm.R5, asm.R4), asm.RSh.Imm(asm.R5, 33), asm.Xor.Reg(asm.R4, asm.R5),
		asm.Mul.Imm(asm.R4, stackHashMul), asm.LSh.Imm(asm.R4, 1), asm.RSh.Imm(asm.R4, 1),
		asm.StoreMem(key.base, int16(key.off), asm.R4, asm.DWord))
	f.mapPtr(asm.R1, name)
	f.addr(asm.R2, key)
	f.emit(asm.LoadMem(asm.R3, slot.base, int16(slot.off), asm.DWord),
		asm.Mov.Imm(asm.R4, unix.BPF_NOEXIST),
		// Not f.call: a stack already stored is no failure for -k.
		asm.FnMapUpdateElem.Call())
	f.b.jmpImm(asm.JEq, asm.R0, 0, stored)
	f.b.jmpImm(asm.JNE, asm.R0, -int32(unix.EEXIST), done)
	f.b.mark(stored)
	f.emit(asm.LoadMem(asm.R0, key.base, int16(key.off), asm.DWord))
	f.b.mark(done)
	return f.stackValue(t, asm.R0)
}

// stackHashMul is the odd constant stack hashes multiply by (MurmurHash2's).
const stackHashMul = 0x5bd1e995

// buildIDStackID records the current user stack as build ids and file
// offsets in a stack trace map, which the kernel alone can fill so.
func (f *fn) buildIDStackID(t *types.Type, depth int) value {
	name := f.g.stackMap(true, true, depth)
	f.emit(asm.Mov.Reg(asm.R1, rCtx))
	f.mapPtr(asm.R2, name)
	f.emit(asm.Mov.Imm(asm.R3, 256)) // BPF_F_USER_STACK
	f.call(asm.FnGetStackid)
	return f.stackValue(t, asm.R0)
}

// stackValue makes a stack value of the id in r: for a user stack, the id
// then the pid whose address space it belongs to.
func (f *fn) stackValue(t *types.Type, r asm.Register) value {
	if t.Size <= 8 {
		return value{kind: vReg, r: r, t: t}
	}
	m := f.alloc(t.Size)
	f.emit(asm.StoreMem(m.base, int16(m.off), r, asm.DWord))
	f.pidInto(m.at(8))
	return value{kind: vMem, m: m, t: t}
}

// StackMapName is the name of the map holding the stacks of
// kstack (user false) or ustack values of a depth, of build ids for
// ustack(build_id): stack ids are only meaningful in the map of their
// value's type (Type.Stack, Type.StackDepth).
func StackMapName(user, buildID bool, depth int) string {
	switch {
	case buildID:
		return "stack_b" + itoa(depth)
	case user:
		return "stack_u" + itoa(depth)
	}
	return "stack_k" + itoa(depth)
}

// IsStackMap tells the maps StackMapName names.
func IsStackMap(name string) bool {
	return strings.HasPrefix(name, "stack_")
}

// BuildIDFrameSize is the size of a frame in a stack map of build ids
// (struct bpf_stack_build_id): a status (int32), the 20-byte build id,
// and the offset in the file (or the address when the status says so).
const BuildIDFrameSize = 32

// stackMap is the map of the stacks of a kind and depth: a hash map of
// ids to frames, or for build ids, a stack trace map in which the kernel
// turns user addresses into build id and file offset pairs as it records
// a stack.
func (g *gen) stackMap(user, buildID bool, depth int) string {
	name := StackMapName(user, buildID, depth)
	spec := &ebpf.MapSpec{Type: ebpf.Hash, KeySize: 8, ValueSize: uint32(8 * depth),
		MaxEntries: uint32(g.opts.StackMapSize), Flags: unix.BPF_F_NO_PREALLOC}
	if buildID {
		spec = &ebpf.MapSpec{Type: ebpf.StackTrace, KeySize: 4, ValueSize: uint32(BuildIDFrameSize * depth),
			MaxEntries: uint32(g.opts.StackMapSize), Flags: unix.BPF_F_STACK_BUILD_ID}
	}
	g.internalMap(name, spec)
	return name
}

// stackBuf is the per-CPU buffer stacks are taken into, too large for the
// BPF stack: one for every depth, as deep as the deepest.
func (g *gen) stackBuf(depth int) string {
	buf := g.internalMap(stackBufName, &ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, MaxEntries: 1})
	buf.Spec.ValueSize = max(buf.Spec.ValueSize, uint32(8*depth))
	return stackBufName
}

func (g *gen) probeID(name string) int64 {
	if id, ok := g.probeIDs[name]; ok {
		return id
	}
	id := int64(len(g.obj.ProbeNames))
	g.probeIDs[name] = id
	g.obj.ProbeNames = append(g.obj.ProbeNames, name)
	return id
}

// builtinInto writes calls that produce buffers (str, comm) straight into
// their destination. It reports false when e is not such a call.
func (f *fn) builtinInto(e syntax.Expr, dst mem, t *types.Type, pad bool) bool {
	c := f.callOf(e)
	if c == nil {
		return false
	}
	switch c.Name {
	case "comm":
		if t.Kind != types.String || len(c.Args) > 0 {
			return false
		}
		n := min(t.Size, 16)
		f.comm(dst, n)
		if pad && t.Size > n {
			f.zero(dst.at(n), t.Size-n)
		}
		return true
	case "str":
		if t.Kind != types.String {
			return false
		}
		f.strInto(e, c, dst, t.Size, pad)
		return true
	}
	return false
}

// strInto reads a NUL-terminated string from a pointer into size bytes at
// dst. Without a length, a string longer than size fills it without a NUL,
// which marks it cut when printed.
func (f *fn) strInto(e syntax.Expr, c *check.Call, dst mem, size int, pad bool) {
	if len(c.Args) == 0 {
		f.errorf(e.Pos(), "str() needs an argument")
	}
	arg := c.Args[0]
	at := f.typeOf(arg)
	if fd, ok := f.tracepointField(arg); ok && at.Kind == types.String {
		f.recordFieldInto(fd, dst, types.StringOf(size), pad)
		return
	}
	if at.Kind == types.String {
		// Already a string (a tracepoint's char array or data_loc field).
		v := f.eval(arg)
		f.valueInto(arg, v, dst, types.StringOf(size), pad)
		return
	}
	if pad {
		f.zero(dst, size)
	}
	f.strRead(c, size, func(r asm.Register) { f.addr(r, dst) }, true)
}

// strRead reads str()'s string, of capacity size, to the address at puts
// in a register; R0 is then the helper's result. With cut, a string
// longer than size fills it without a NUL when str() has no length (see
// strCut).
func (f *fn) strRead(c *check.Call, size int, at func(r asm.Register), cut bool) {
	arg := c.Args[0]
	p := f.keep(f.evalInt(arg))
	var n value
	if len(c.Args) > 1 {
		n = f.evalInt(c.Args[1])
		if n.kind == vConst {
			// str(p, n) reads n-1 characters and the NUL.
			n = constVal(min(n.c, int64(size)), types.U64)
		} else {
			n = f.keep(n)
		}
	}
	f.ptrInto(asm.R3, p)
	at(asm.R1)
	switch {
	case n.kind == vVoid:
		f.emit(asm.Mov.Imm(asm.R2, int32(size)))
	case n.kind == vConst:
		f.emit(asm.Mov.Imm(asm.R2, int32(n.c)))
	default:
		// Clamp a run-time length to the buffer (and make it provably so).
		nr := f.toReg(n, asm.R2)
		if nr.r != asm.R2 {
			f.emit(asm.Mov.Reg(asm.R2, nr.r))
		}
		f.drop(nr)
		ok := f.b.newLabel()
		f.b.jmpImm(asm.JLE, asm.R2, int32(size), ok)
		f.emit(asm.Mov.Imm(asm.R2, int32(size)))
		f.b.mark(ok)
	}
	s := f.addrSpace(f.typeOf(arg))
	f.call(f.readFn(s, true))
	if cut && n.kind == vVoid {
		f.strCut(at, size, s, func(r asm.Register) { f.ptrInto(r, p) })
	}
	f.drop(p)
}

// ptrInto puts pointer p in register r, leaving p as it is.
func (f *fn) ptrInto(r asm.Register, p value) {
	switch {
	case p.kind == vReg && p.r != r:
		f.emit(asm.Mov.Reg(r, p.r))
	case p.kind != vReg:
		f.toReg(value{kind: p.kind, c: p.c, m: p.m, t: p.t}, r)
	}
}

// strCut follows a string read of size bytes to the address at puts in a
// register, R0 the helper's result: when the string and its NUL filled
// them, the byte the NUL took is read too, from the string at the address
// src puts in a register, so that a string going on past them fills them
// without a NUL, as bpftrace's current release marks a string cut. R0 is
// then size.
func (f *fn) strCut(at func(r asm.Register), size int, s space, src func(r asm.Register)) {
	done := f.b.newLabel()
	f.b.jmpImm(asm.JNE, asm.R0, int32(size), done)
	src(asm.R3)
	f.emit(asm.Add.Imm(asm.R3, int32(size-1)))
	at(asm.R1)
	f.emit(asm.Add.Imm(asm.R1, int32(size-1)), asm.Mov.Imm(asm.R2, 1))
	f.call(f.readFn(s, false))
	f.emit(asm.Mov.Imm(asm.R0, int32(size)))
	f.b.mark(done)
}

// callExpr evaluates a function call used as a value or statement.
func (f *fn) callExpr(e *syntax.Call) value {
	c := f.callOf(e)
	t := f.typeOf(e)
	if c.Func != nil {
		return f.inlineCall(e, c)
	}
	if c.Map != nil && f.g.userMap(c.Map) != nil && c.Name != "has_key" {
		// delete(), clear(), zero() and the like: the element a pointer
		// was kept for may be gone.
		f.mapChanged(f.g.userMap(c.Map).Spec.Name)
	}
	switch c.Name {
	case "str":
		m := f.alloc(t.Size)
		f.strInto(e, c, m, t.Size, true)
		return value{kind: vMem, m: m, t: t}
	case "printf", "errorf", "warnf", "system", "cat", "time", "print", "exit", "clear", "zero", "join", "assert":
		return f.asyncCall(e, c, t)
	case "delete":
		f.deleteElem(e, c)
		if f.g.userMap(c.Map) == nil {
			return constVal(0, types.BoolT)
		}
		// The helper returns 0 when the key was there, -ENOENT when not.
		found, end := f.b.newLabel(), f.b.newLabel()
		f.b.jmpImm(asm.JEq, asm.R0, 0, found)
		f.emit(asm.Mov.Imm(asm.R0, 0))
		f.b.ja(end)
		f.b.mark(found)
		f.emit(asm.Mov.Imm(asm.R0, 1))
		f.b.mark(end)
		return value{kind: vReg, r: asm.R0, t: types.BoolT}
	case "has_key":
		return f.hasKey(e, c)
	case "__has_key", "__delete":
		m := f.keep(f.evalInt(c.Args[0]))
		f.toRegInto(f.evalInt(c.Args[1]), asm.R2)
		f.toRegInto(m, asm.R1)
		if c.Name == "__delete" {
			f.call(asm.FnMapDeleteElem)
			return value{kind: vReg, r: asm.R0, t: t}
		}
		f.call(asm.FnMapLookupElem)
		f.emit(asm.Mov.Reg(asm.R1, asm.R0), asm.Mov.Imm(asm.R0, 0))
		missing := f.b.newLabel()
		f.b.jmpImm(asm.JEq, asm.R1, 0, missing)
		f.emit(asm.Mov.Imm(asm.R0, 1))
		f.b.mark(missing)
		return value{kind: vReg, r: asm.R0, t: t}
	case "__elem_count":
		f.toRegInto(f.evalInt(c.Args[0]), asm.R1)
		return f.countElems()
	case "len":
		return f.mapLen(e, c)
	case "find":
		return f.find(e, c)
	case "ksym", "kptr", "uptr", "username", "strerror", "syscall_name", "signal_name":
		if len(c.Args) != 1 {
			break
		}
		v := f.evalInt(c.Args[0])
		v.t = t
		return v
	case "usym":
		return f.withPid(c.Args[0], t)
	case "kaddr":
		return f.kaddr(e, c, t)
	case "percpu_kaddr":
		return f.percpuKaddr(e, c, t)
	case "path":
		return f.path(e, c, t)
	case "override":
		return f.override(e, c)
	case "debugf":
		return f.debugf(c)
	case "write_user":
		return f.writeUser(e, c)
	case "skboutput":
		return f.skboutput(e, c, t)
	case "uaddr":
		return f.uaddr(e, c, t)
	case "reg":
		name, _ := f.constString(c.Args[0])
		off, ok := regOffsets[name]
		if !ok || f.ptype != ebpf.Kprobe && f.ptype != ebpf.PerfEvent {
			f.errorf(e.Pos(), "reg(%q) is not available here", name)
		}
		return value{kind: vMem, m: mem{rCtx, off}, t: types.U64}
	case "bswap":
		v := f.writable(f.toReg(f.evalInt(c.Args[0]), 0), value{})
		if at := f.typeOf(c.Args[0]); intSize(at) > 1 {
			f.emit(asm.BSwap(v.r, bpfint.Size(intSize(at))))
		}
		v.t = t
		return v
	case "macaddr":
		return f.macaddr(c, t)
	case "ntop":
		return f.ntop(c, t)
	case "cgroup_path":
		filter := int64(0)
		if c.Format != nil {
			filter = 1 + int64(f.g.addEvent(CgroupFilter, c.Format.Text, types.TupleOf(), e.Pos(), syntax.Pos{}).ID)
		}
		m := f.alloc(t.Size)
		f.emit(storeImm(m.base, int16(m.off), filter, asm.DWord))
		f.storeInt(m.at(8), f.evalInt(c.Args[0]), 8)
		return value{kind: vMem, m: m, t: t}
	case "strftime":
		// The format travels as the ID of a Strftime event the runtime
		// never receives; it only looks the format up.
		ev := f.g.addEvent(Strftime, c.Format.Text, types.TupleOf(), e.Pos(), syntax.Pos{})
		m := f.alloc(t.Size)
		f.emit(storeImm(m.base, int16(m.off), int64(ev.ID), asm.DWord))
		f.storeInt(m.at(8), f.evalInt(c.Args[0]), 8)
		return value{kind: vMem, m: m, t: t}
	case "buf":
		m := f.alloc(t.Size)
		f.bufInto(e, c, m, t)
		return value{kind: vMem, m: m, t: t}
	case "strlen":
		return f.strlen(c)
	case "strcap":
		// Strings and arrays have their capacity folded by the checker.
		v := f.strlen(c)
		v.t = t
		return v
	case "kfunc_allowed":
		name, _ := f.constString(c.Args[0])
		return constVal(b2i(f.g.opts.Kernel.kfuncAllowed(f.ptype, name)), t)
	case "socket_cookie":
		return f.socketCookie(e, c, t)
	case "static_assert", "assert_str":
		// Checked when the script was compiled.
		return value{kind: vVoid, t: types.VoidT}
	case "strcontains":
		return f.strcontains(e, c)
	case "globmatch":
		return f.globmatch(c)
	case "signal", "signal_thread":
		v := f.evalInt(c.Args[0])
		f.toRegInto(v, asm.R1)
		if c.Name == "signal" {
			f.call(asm.FnSendSignal)
		} else {
			f.call(asm.FnSendSignalThread)
		}
		return value{kind: vVoid, t: types.VoidT}
	case "memcmp":
		return f.memcmp(e, c)
	case "strstr":
		return f.strstr(e, c)
	case "strncmp":
		return f.strncmp(e, c)
	case "count", "sum", "min", "max", "avg", "stats", "hist", "lhist":
		f.errorf(e.Pos(), "%s() must be assigned to a map", c.Name)
	}
	return f.builtinCall(e, c, t)
}

// measureTAIOffset is CLOCK_TAI minus CLOCK_BOOTTIME in nanoseconds: TAI
// read between two readings of the boot clock, against their mean, from
// the tightest of a few such readings.
func measureTAIOffset() int64 {
	var offset int64
	window := int64(-1)
	for range 16 {
		var b1, tai, b2 unix.Timespec
		unix.ClockGettime(unix.CLOCK_BOOTTIME, &b1)
		unix.ClockGettime(unix.CLOCK_TAI, &tai)
		unix.ClockGettime(unix.CLOCK_BOOTTIME, &b2)
		if w := b2.Nano() - b1.Nano(); window < 0 || w < window {
			window, offset = w, tai.Nano()-(b1.Nano()+b2.Nano())/2
		}
	}
	return offset
}

// pidNS names a pid namespace as bpf_get_ns_current_pid_tgid wants it:
// the device and inode of its nsfs file.
type pidNS struct{ dev, ino uint64 }

// initPidNSIno is the inode number of the initial pid namespace
// (PROC_PID_INIT_INO).
const initPidNSIno = 0xeffffffc

// readPidNamespace is friday's own pid namespace when it is not the
// initial one: pid and tid count in it unless the script asks for init's.
func readPidNamespace() (pidNS, bool) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &st); err != nil || st.Ino == initPidNSIno {
		return pidNS{}, false
	}
	return pidNS{st.Dev, st.Ino}, true
}

// nsPidTid is the current task's process (pid) or thread id in namespace
// ns, 0 for a task outside it.
func (f *fn) nsPidTid(ns pidNS, pid bool, t *types.Type) value {
	// struct bpf_pidns_info: the thread id, then the process id.
	m := f.alloc(8)
	f.emit(storeImm(m.base, int16(m.off), 0, asm.DWord),
		asm.LoadImm(asm.R1, int64(ns.dev), asm.DWord),
		asm.LoadImm(asm.R2, int64(ns.ino), asm.DWord))
	f.addr(asm.R3, m)
	f.emit(asm.Mov.Imm(asm.R4, 8))
	f.call(asm.FnGetNsCurrentPidTgid)
	off := m.off
	if pid {
		off += 4
	}
	f.emit(asm.LoadMem(asm.R0, m.base, int16(off), asm.Word))
	return value{kind: vReg, r: asm.R0, t: t}
}

// pidInto stores the current process id as a u32 followed by a zero u32:
// the pid of friday's namespace, as pid gives it, under which user-space
// symbols are looked up in its /proc.
func (f *fn) pidInto(m mem) {
	if ns, ok := f.g.opts.Kernel.pidNS(); ok {
		v := f.nsPidTid(ns, true, types.U32)
		f.emit(asm.StoreMem(m.base, int16(m.off), v.r, asm.DWord))
		return
	}
	f.call(asm.FnGetCurrentPidTgid)
	f.emit(asm.RSh.Imm(asm.R0, 32), asm.StoreMem(m.base, int16(m.off), asm.R0, asm.DWord))
}

// withPid builds a usym value: the address and the current pid.
func (f *fn) withPid(arg syntax.Expr, t *types.Type) value {
	m := f.alloc(t.Size)
	f.storeInt(m, f.evalInt(arg), 8)
	f.pidInto(m.at(8))
	return value{kind: vMem, m: m, t: t}
}

// macaddr reads 6 bytes from an array or through a pointer.
func (f *fn) macaddr(c *check.Call, t *types.Type) value {
	at := f.typeOf(c.Args[0])
	m := f.alloc(t.Size)
	if at.Kind == types.Array {
		v := f.eval(c.Args[0])
		if v.kind != vMem {
			f.errorf(c.Args[0].Pos(), "macaddr() needs an array in memory")
		}
		f.copyMem(m, v.m, 6)
		return value{kind: vMem, m: m, t: t}
	}
	f.readInto(m, 6, f.evalInt(c.Args[0]), f.addrSpace(at))
	return value{kind: vMem, m: m, t: t}
}

// space is the address space memory is read from.
type space int

const (
	spaceKernel space = iota
	spaceUser
	// spaceNone is an address nothing placed: bpftrace reads it with the
	// older helpers, which pick the space by the address itself.
	spaceNone
)

// addrSpace is the address space of an address of type t, as bpftrace
// decides it: a pointer, or an integer kptr() or uptr() marked, says so
// itself; a plain integer, such as a uprobe's arg0, is in user memory when
// every point of the probe is in user code. In probes that run in no
// task's context of their own (BEGIN, interval, profile...) an address not
// marked is in no space.
func (f *fn) addrSpace(t *types.Type) space {
	switch {
	case t.User:
		return spaceUser
	case t.Kernel:
		return spaceKernel
	case f.noAddrSpace():
		return spaceNone
	case t.Kind == types.Pointer:
		return spaceKernel
	}
	for _, pt := range f.points {
		switch pt.Provider {
		case "uprobe", "uretprobe", "usdt":
		default:
			return spaceKernel
		}
	}
	if len(f.points) > 0 {
		return spaceUser
	}
	return spaceKernel
}

// noAddrSpace says whether the probe's points give addresses no space:
// those bpftrace's probes of no kernel or user function are.
func (f *fn) noAddrSpace() bool {
	for _, pt := range f.points {
		switch pt.Provider {
		case "begin", "end", "self", "test", "bench", "interval", "profile", "software", "hardware", "watchpoint", "asyncwatchpoint":
		default:
			return false
		}
	}
	return len(f.points) > 0
}

// readFn is the helper that reads memory of space s; str reads a string.
func (f *fn) readFn(s space, str bool) asm.BuiltinFunc {
	switch {
	case s == spaceUser && str:
		return asm.FnProbeReadUserStr
	case s == spaceUser:
		return asm.FnProbeReadUser
	case s == spaceNone && str:
		return asm.FnProbeReadStr
	case s == spaceNone:
		return asm.FnProbeRead
	case str:
		return asm.FnProbeReadKernelStr
	}
	return asm.FnProbeReadKernel
}

// readInto copies n bytes from the address in p, of space s, to m.
func (f *fn) readInto(m mem, n int, p value, s space) {
	f.toRegInto(p, asm.R3)
	f.addr(asm.R1, m)
	f.emit(asm.Mov.Imm(asm.R2, int32(n)))
	f.call(f.readFn(s, false))
}

// ntop builds an inet value: the address family as u64, then 16 address
// bytes.
func (f *fn) ntop(c *check.Call, t *types.Type) value {
	addr := c.Args[len(c.Args)-1]
	at := f.typeOf(addr)
	m := f.alloc(t.Size)
	size := 4
	switch {
	case at.Kind == types.Array:
		size = at.Size
	case at.Kind == types.Pointer && at.Elem != nil && at.Elem.Kind == types.Array:
		size = at.Elem.Size
	}
	if len(c.Args) == 2 {
		f.storeInt(m, f.evalInt(c.Args[0]), 8)
	} else {
		family := int64(2) // AF_INET
		if size == 16 {
			family = 10 // AF_INET6
		}
		f.emit(storeImm(m.base, int16(m.off), family, asm.DWord))
	}
	f.zero(m.at(8), 16)
	switch {
	case at.Kind == types.Array:
		v := f.eval(addr)
		f.valueInto(addr, v, m.at(8), types.ArrayOf(types.U8, size), false)
	case at.Kind == types.Pointer:
		f.readInto(m.at(8), size, f.evalInt(addr), f.addrSpace(at))
	default:
		f.storeInt(m.at(8), f.evalInt(addr), 4)
	}
	return value{kind: vMem, m: m, t: t}
}

// bufInto reads buf(p, n): a u8 length, then the bytes.
func (f *fn) bufInto(e syntax.Expr, c *check.Call, m mem, t *types.Type) {
	capacity := t.Size - 1
	arg := c.Args[0]
	at := f.typeOf(arg)
	inMem := at.Kind == types.Array || at.Kind == types.String
	if _, lit := arg.(*syntax.StrLit); inMem && !lit {
		// A string literal reads as padded with NULs, as in bpftrace;
		// other values end where they end.
		capacity = min(capacity, at.Size)
	}
	n := capacity
	dynamic := false
	if len(c.Args) > 1 {
		if k, ok := f.constOf(c.Args[1]); ok {
			n = min(int(k.c), capacity)
		} else {
			// Like bpftrace, a length known only at run time is cut to
			// what the buffer holds.
			dynamic = true
			v := f.writable(f.toReg(f.evalInt(c.Args[1]), asm.R0), value{})
			f.clampReg(v.r, capacity)
			f.emit(asm.StoreMem(m.base, int16(m.off), v.r, asm.Byte))
			f.drop(v)
		}
	}
	if !dynamic {
		f.emit(storeImm(m.base, int16(m.off), int64(n), asm.Byte))
	}
	if inMem {
		v := f.eval(arg)
		switch {
		case v.isStr:
			f.writeBytes(m.at(1), append([]byte(v.s), make([]byte, n)...)[:n])
		case v.kind == vMem:
			f.copyMem(m.at(1), v.m, n)
		default:
			f.errorf(arg.Pos(), "buf() needs an array in memory")
		}
		return
	}
	if !dynamic {
		f.readInto(m.at(1), n, f.evalInt(arg), f.addrSpace(at))
		return
	}
	// Bytes past the length are zero, so that buffers compare whole.
	f.zero(m.at(1), capacity)
	f.toRegInto(f.evalInt(arg), asm.R3)
	f.addr(asm.R1, m.at(1))
	// The length goes back through memory; clamped again, the verifier
	// sees it cannot overrun the buffer.
	f.emit(asm.LoadMem(asm.R2, m.base, int16(m.off), asm.Byte))
	f.clampReg(asm.R2, capacity)
	f.call(f.readFn(f.addrSpace(at), false))
}

// clampReg lowers register r to at most limit, comparing unsigned so that
// negative values are cut to the limit too.
func (f *fn) clampReg(r asm.Register, limit int) {
	ok := f.b.newLabel()
	f.b.jmpImm(asm.JLE, r, int32(limit), ok)
	f.emit(asm.Mov.Imm(r, int32(limit)))
	f.b.mark(ok)
}
