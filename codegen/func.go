package codegen

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"friday/check"
	"friday/internal/bpfint"
	"friday/probe"
	"friday/syntax"
	"friday/types"
)

// Register conventions: R6 holds the context pointer, R7-R9 hold
// temporaries that must survive helper calls (R9 holds the scratch map
// pointer when the program uses one), R0-R5 hold values only between their
// computation and their immediate use.
const (
	rCtx     = asm.R6
	rScratch = asm.R9
)

// fn is the state of one BPF function being generated.
type fn struct {
	g      *gen
	pr     *check.Probe
	b      *builder
	info   *check.Info
	points []*probe.Point
	ptype  ebpf.ProgramType

	stack    int // bytes of stack in use
	maxStack int
	// Big buffers go to the per-CPU scratch map instead of the stack.
	useScratch bool
	scratch    int
	maxScratch int
	// callbacks says whether loop callbacks reach the probe's variables.
	callbacks bool

	free  map[asm.Register]bool // callee-saved temporaries not in use
	vars  map[*check.Var]mem
	loops []loop
	exit  string // label of the common return

	name   string // BPF function name
	parent *fn    // the probe's function, for loop callbacks
	nsub   int
	subs   []subprog
	rets   []retTarget // inlined user functions being generated
	inline map[*check.Func]bool
	// loopRet is set in the callback of a loop whose body returns.
	loopRet *loopReturn
	// at is the statement or expression being computed, where -k's
	// warnings point.
	at syntax.Node
	// lk keeps the pointers of map lookups for later uses of the same
	// elements; nil when the probe keeps none.
	lk *lookups
	// keepNone keeps no lookup, whose slots would not fit on the stack,
	// nor the task's ids.
	keepNone bool
	// pidTgid holds the current task's ids once read (see planPidTgid).
	pidTgid    mem
	hasPidTgid bool
}

// loopReturn is how a return statement in a loop's callback gets out of
// the probe or inlined function around the loop: it stores the value (in
// the caller's frame), sets flag and stops the loop, and the caller
// returns when the helper that ran the loop comes back with flag set.
type loopReturn struct {
	flag mem
	ret  *retTarget // of the inlined function around the loop; its label is the caller's
}

// retTarget is where return statements of an inlined function go.
type retTarget struct {
	label string
	slot  mem
	t     *types.Type
}

type loop struct{ brk, cont string }

func newFunc(g *gen, pr *check.Probe, typ ebpf.ProgramType, scratch bool) *fn {
	f := &fn{
		g: g, pr: pr, b: newBuilder(), info: pr.Info, points: pr.Points, ptype: typ,
		useScratch: scratch, vars: map[*check.Var]mem{}, inline: map[*check.Func]bool{},
		free: map[asm.Register]bool{asm.R7: true, asm.R8: true, asm.R9: !scratch},
	}
	return f
}

func (f *fn) errorf(pos syntax.Pos, format string, args ...any) {
	f.g.errorf(pos, format, args...)
}

// mem is a place in memory: base register plus offset. Base is R10 for
// the stack or a callee-saved register holding a pointer.
type mem struct {
	base asm.Register
	off  int
}

func (m mem) at(d int) mem { return mem{m.base, m.off + d} }

// alloc reserves size bytes, 8-byte aligned, on the stack or, for big
// buffers in scratch mode, in the scratch map. The space lives until the
// enclosing statement ends (see release).
func (f *fn) alloc(size int) mem {
	size = (size + 7) &^ 7
	if f.useScratch && size >= 32 {
		m := mem{rScratch, f.scratch}
		f.scratch += size
		if f.scratch > f.maxScratch {
			f.maxScratch = f.scratch
		}
		return m
	}
	f.stack += size
	if f.stack > f.maxStack {
		f.maxStack = f.stack
	}
	return mem{asm.RFP, -f.stack}
}

// allocShared reserves memory that loop callbacks reach too (variables,
// the slots of returns): in scratch mode, all of it in the scratch map,
// which callbacks address with the same base register as the probe.
func (f *fn) allocShared(size int) mem {
	if !f.useScratch {
		return f.alloc(size)
	}
	size = (size + 7) &^ 7
	m := mem{rScratch, f.scratch}
	f.scratch += size
	f.maxScratch = max(f.maxScratch, f.scratch)
	return m
}

// shortString is the capacity up to which loops over a string's bytes are
// cheap for the verifier to check whatever they do.
const shortString = 64

// forget makes the verifier forget the value of r: it goes to scratch
// memory and back, and the verifier does not follow what map values hold.
// A loop whose start the verifier knows only as a range is checked once
// for the range rather than once for each start. Outside scratch mode the
// probe is compiled again in it.
func (f *fn) forget(r asm.Register) {
	if !f.useScratch {
		root := f.root()
		root.maxStack = max(root.maxStack, maxStack+1)
		return
	}
	m := f.allocShared(8)
	f.emit(asm.StoreMem(m.base, int16(m.off), r, asm.DWord), asm.LoadMem(r, m.base, int16(m.off), asm.DWord))
}

type allocMark struct{ stack, scratch int }

func (f *fn) markAlloc() allocMark      { return allocMark{f.stack, f.scratch} }
func (f *fn) release(m allocMark)       { f.stack, f.scratch = m.stack, m.scratch }
func (f *fn) emit(i ...asm.Instruction) { f.b.emit(i...) }

// vkind says where a value is.
type vkind uint8

const (
	vVoid  vkind = iota
	vConst       // integer constant c
	vReg         // integer in register r
	vMem         // bytes at m; integers of t.Size bytes are loaded on use
)

type value struct {
	kind  vkind
	t     *types.Type
	c     int64
	r     asm.Register
	m     mem
	s     string // string constant, when isStr
	isStr bool
	// own: r (vReg) or m.base (vMem) is a temporary register this value
	// holds; drop returns it.
	own bool
}

func constVal(c int64, t *types.Type) value { return value{kind: vConst, c: c, t: t} }

// getReg takes a free callee-saved register, or returns false.
func (f *fn) getReg() (asm.Register, bool) {
	for _, r := range []asm.Register{asm.R7, asm.R8, asm.R9} {
		if f.free[r] {
			f.free[r] = false
			return r, true
		}
	}
	return 0, false
}

// drop releases what v holds.
func (f *fn) drop(v value) {
	if !v.own {
		return
	}
	switch v.kind {
	case vReg:
		f.free[v.r] = true
	case vMem:
		f.free[v.m.base] = true
	}
}

// keep makes v survive helper calls: a value in R0-R5 moves to a
// callee-saved register or, when none is free, to the stack.
func (f *fn) keep(v value) value {
	if v.kind != vReg || v.r >= asm.R6 {
		return v
	}
	if r, ok := f.getReg(); ok {
		f.emit(asm.Mov.Reg(r, v.r))
		return value{kind: vReg, r: r, t: v.t, own: true}
	}
	m := f.alloc(8)
	f.emit(asm.StoreMem(m.base, int16(m.off), v.r, asm.DWord))
	return value{kind: vMem, m: m, t: asm64(v.t)}
}

// asm64 is the type of an integer spilled as 8 bytes.
func asm64(t *types.Type) *types.Type {
	if t != nil && t.IsInteger() && t.Size == 8 {
		return t
	}
	signed := t != nil && t.Signed
	return types.IntOf(8, signed)
}

// toReg puts an integer value in a register. want is the register to use
// for constants and memory loads when v is not already in one; 0 means R0
// (callers that need the value across a helper call use keep).
func (f *fn) toReg(v value, want asm.Register) value {
	switch v.kind {
	case vReg:
		return v
	case vConst:
		r, own := f.target(want)
		f.loadConst(r, v.c)
		return value{kind: vReg, r: r, t: v.t, own: own}
	case vMem:
		if !isIntLike(v.t) {
			panic(fmt.Sprintf("codegen: toReg on %v", v.t))
		}
		r, own := f.target(want)
		f.loadInt(r, v.m, v.t)
		f.drop(v)
		return value{kind: vReg, r: r, t: v.t, own: own}
	}
	panic("codegen: toReg on void value")
}

func (f *fn) target(want asm.Register) (asm.Register, bool) {
	if want != 0 {
		return want, false
	}
	return asm.R0, false
}

func (f *fn) loadConst(r asm.Register, c int64) {
	if c == int64(int32(c)) {
		f.emit(asm.Mov.Imm(r, int32(c)))
	} else {
		f.emit(asm.LoadImm(r, c, asm.DWord))
	}
}

// loadInt loads an integer of t's size from m, sign-extending signed ones.
func (f *fn) loadInt(r asm.Register, m mem, t *types.Type) {
	size := intSize(t)
	if t.Signed && size < 8 {
		f.emit(asm.LoadMemSX(r, m.base, int16(m.off), bpfint.Size(size)))
		return
	}
	f.emit(asm.LoadMem(r, m.base, int16(m.off), bpfint.Size(size)))
}

func intSize(t *types.Type) int {
	switch t.Size {
	case 1, 2, 4, 8:
		return t.Size
	}
	return 8
}

// isIntLike reports whether values of t are numbers held in registers.
// Aggregate map values read as numbers too.
func isIntLike(t *types.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind {
	case types.Count, types.Sum, types.Min, types.Max, types.Avg:
		return true
	case types.KStack, types.Usym, types.CgroupPath:
		// A user symbol carries its pid after the address, a cgroup path
		// its filter before the id.
		return t.Size == 8
	}
	return t.IsInteger()
}

// storeInt writes integer v into memory as size bytes.
func (f *fn) storeInt(dst mem, v value, size int) {
	if v.kind == vConst && (size < 8 || v.c == int64(int32(v.c))) {
		f.emit(storeImm(dst.base, int16(dst.off), v.c, bpfint.Size(size)))
		return
	}
	v = f.toReg(v, 0)
	f.emit(asm.StoreMem(dst.base, int16(dst.off), v.r, bpfint.Size(size)))
	f.drop(v)
}

// addr puts the address of m in register r.
func (f *fn) addr(r asm.Register, m mem) {
	f.emit(asm.Mov.Reg(r, m.base))
	if m.off != 0 {
		f.emit(asm.Add.Imm(r, int32(m.off)))
	}
}

// zero clears n bytes at m (n a multiple of the widest store used).
func (f *fn) zero(m mem, n int) {
	for i := 0; i < n; {
		switch {
		case n-i >= 8 && (m.off+i)%8 == 0:
			f.emit(storeImm(m.base, int16(m.off+i), 0, asm.DWord))
			i += 8
		case n-i >= 4 && (m.off+i)%4 == 0:
			f.emit(storeImm(m.base, int16(m.off+i), 0, asm.Word))
			i += 4
		case n-i >= 2 && (m.off+i)%2 == 0:
			f.emit(storeImm(m.base, int16(m.off+i), 0, asm.Half))
			i += 2
		default:
			f.emit(storeImm(m.base, int16(m.off+i), 0, asm.Byte))
			i++
		}
	}
}

// maxInlineCopy is the longest copy made of loads and stores.
const maxInlineCopy = 64

// copyMem copies n bytes from src to dst. Small copies are inline loads
// and stores; big ones call probe_read_kernel.
func (f *fn) copyMem(dst, src mem, n int) {
	if n <= maxInlineCopy {
		tmp := asm.R0
		for tmp == src.base || tmp == dst.base {
			tmp++
		}
		for i := 0; i < n; {
			w := 8
			for w > n-i || (src.off+i)%w != 0 || (dst.off+i)%w != 0 {
				w /= 2
			}
			f.emit(asm.LoadMem(tmp, src.base, int16(src.off+i), bpfint.Size(w)),
				asm.StoreMem(dst.base, int16(dst.off+i), tmp, bpfint.Size(w)))
			i += w
		}
		return
	}
	f.addr(asm.R3, src)
	f.addr(asm.R1, dst)
	f.emit(asm.Mov.Imm(asm.R2, int32(n)))
	f.call(asm.FnProbeReadKernel)
}

func (f *fn) call(fn asm.BuiltinFunc) {
	f.emit(fn.Call())
	if f.g.opts.Warnings {
		f.checkHelper(fn)
	}
}

// span is a stretch of the script's text.
type span struct{ pos, end syntax.Pos }

func (s span) Pos() syntax.Pos { return s.pos }
func (s span) End() syntax.Pos { return s.end }

// exprSpan is the text of the expression n, where bpftrace reports a run
// time problem with it: a field access from the start of what it reads
// the field of to the end of the field's name, a map element with its
// keys.
func (f *fn) exprSpan(n syntax.Node) syntax.Node {
	e, ok := n.(syntax.Expr)
	if !ok {
		return n
	}
	s := span{pos: syntax.Start(e)}
	switch x := e.(type) {
	case *syntax.Field:
		if x.P.Line == s.pos.Line {
			s.end = x.P
			s.end.Col += len(".") + len(x.Name)
			if x.Arrow {
				s.end.Col++
			}
		}
	case *syntax.MapIndex:
		s.end = syntax.IndexEnd(f.g.p.File.Src, s.pos)
	}
	return s
}

// checkedHelpers are the helpers whose failures -k reports, as bpftrace's
// -k does: probe reads, whose failure leaves zeros where the script reads
// memory, and map updates, whose failure loses what it stores.
var checkedHelpers = map[asm.BuiltinFunc]string{
	asm.FnProbeRead:          "probe_read",
	asm.FnProbeReadStr:       "probe_read_str",
	asm.FnProbeReadKernel:    "probe_read_kernel",
	asm.FnProbeReadUser:      "probe_read_user",
	asm.FnProbeReadKernelStr: "probe_read_kernel_str",
	asm.FnProbeReadUserStr:   "probe_read_user_str",
	asm.FnMapUpdateElem:      "map_update_elem",
}

// checkHelper follows a helper call with a warning, at the expression
// being computed, when the helper returned an error: each helper call of
// the script is a warning of its own, printed each time it fails. R0 is
// kept for the code that reads the helper's result.
func (f *fn) checkHelper(h asm.BuiltinFunc) {
	name, ok := checkedHelpers[h]
	if !ok || f.at == nil {
		return
	}
	ret := f.alloc(8)
	f.emit(asm.StoreMem(ret.base, int16(ret.off), asm.R0, asm.DWord))
	done := f.b.newLabel()
	f.b.jmpImm(asm.JSGE, asm.R0, 0, done)
	layout := types.TupleOf(&types.Type{Kind: types.Strerror, Size: 8}, types.I64)
	write := func(dst mem) {
		// The errno for the message, then the return code itself.
		f.emit(asm.LoadMem(asm.R1, ret.base, int16(ret.off), asm.DWord),
			asm.StoreMem(dst.base, int16(dst.off+8), asm.R1, asm.DWord),
			asm.Mov.Imm(asm.R2, 0),
			asm.Sub.Reg(asm.R2, asm.R1),
			asm.StoreMem(dst.base, int16(dst.off), asm.R2, asm.DWord))
	}
	details := "\nAdditional Info - helper: " + name + ", retcode: %d"
	if h == asm.FnMapUpdateElem {
		// A full map is told of without -k (see update).
		f.b.jmpImm(asm.JEq, asm.R0, -int32(unix.E2BIG), done)
	}
	ev := f.eventWith(f.exprSpan(f.at), Errorf, "%s"+details, "", nil, layout, write)
	ev.Warn, ev.Runtime, ev.Helper = true, true, name
	f.b.mark(done)
	f.emit(asm.LoadMem(asm.R0, ret.base, int16(ret.off), asm.DWord))
}

// mapPtr loads a map's address into r, for a helper that may add or
// delete elements.
func (f *fn) mapPtr(r asm.Register, name string) {
	f.mapChanged(name)
	f.emit(asm.LoadMapPtr(r, 0).WithReference(name))
}

// source sets the script text attached to the next instructions.
func (f *fn) source(n syntax.Node) {
	pos := n.Pos()
	if !pos.IsValid() {
		return
	}
	f.at = n
	name, src := f.g.p.File.SourceOf(pos)
	f.b.setSource(fmt.Sprintf("%s:%d:%d: %s", name, pos.Line, pos.Col, lineText(src, pos.Line)))
}

func lineText(src []byte, line int) string {
	if line < 1 {
		return ""
	}
	text, _ := syntax.SourceLine(src, line)
	return strings.TrimSpace(text)
}

// typeOf is the checked type of e.
func (f *fn) typeOf(e syntax.Expr) *types.Type {
	if t, ok := f.info.Types[e]; ok && t != nil {
		return t
	}
	f.errorf(e.Pos(), "internal error: expression has no type")
	return nil
}

// compileProbe generates the body of a probe program.
func (f *fn) compileProbe(name string) (asm.Instructions, error) {
	pr := f.pr
	f.name = name
	f.exit = f.b.newLabel()
	f.source(pr.Syntax)
	f.emit(asm.Mov.Reg(rCtx, asm.R1))
	f.callbacks = needsCallbacks(pr.Syntax.Body, pr.Info, map[*check.Func]bool{})
	if f.callbacks {
		// Loop callbacks find the context here (see enterCallback).
		f.emit(asm.StoreMem(asm.RFP, ctxSlot, rCtx, asm.DWord))
		f.stack, f.maxStack = 8, 8
	}
	if f.useScratch {
		// The lookup's key, then the scratch memory's address for
		// callbacks, at scratchSlot.
		f.emit(storeImm(asm.RFP, scratchSlot, 0, asm.Word))
		f.stack, f.maxStack = 16, 16
		f.mapPtr(asm.R1, f.g.scratchMap())
		f.addr(asm.R2, mem{asm.RFP, scratchSlot})
		f.call(asm.FnMapLookupElem)
		f.b.jmpImm(asm.JEq, asm.R0, 0, f.exit)
		f.emit(asm.Mov.Reg(rScratch, asm.R0), asm.StoreMem(asm.RFP, scratchSlot, rScratch, asm.DWord))
	}
	f.allocVars()
	f.planLookups()
	f.planPidTgid()
	if pr.Syntax.Pred != nil {
		f.source(pr.Syntax.Pred)
		f.branch(pr.Syntax.Pred, f.exit, false)
	}
	f.block(pr.Syntax.Body)
	f.b.mark(f.exit)
	f.emit(asm.Mov.Imm(asm.R0, 0), asm.Return())
	if !f.sound() {
		return nil, errUnsound
	}
	f.dropUnusedCtx()
	insns, err := f.b.finish()
	if err != nil {
		return nil, err
	}
	insns[0] = funcMeta(insns[0], name, 1, true)
	if len(f.subs) > 0 {
		insns[0] = insns[0].WithSymbol(name)
	}
	// Callbacks run on top of the probe's frame; the kernel limits the
	// frames of a call chain together, each rounded up to 32 bytes.
	deepest := 0
	for _, s := range f.subs {
		insns = append(insns, s.insns...)
		deepest = max(deepest, (s.stack+31)&^31)
	}
	if deepest > 0 {
		f.maxStack = (f.maxStack+31)&^31 + deepest
	}
	return insns, nil
}

// dropUnusedCtx removes the copy of the context pointer when nothing
// reads it.
func (f *fn) dropUnusedCtx() {
	insns := f.b.insns
	// R1 still holds the context up to the first call, jump, jump target
	// or write to R1; uses of R6 before that can read R1 instead.
	end := len(insns)
	for i := 1; i < len(insns); i++ {
		ins := insns[i]
		cls := ins.OpCode.Class()
		if cls.IsJump() || ins.Dst == asm.R1 && (cls.IsALU() || cls.IsLoad()) {
			end = i
			break
		}
	}
	for _, idx := range f.b.labels {
		if idx > 0 && idx < end {
			end = idx
		}
	}
	for i, ins := range insns[1:] {
		if (ins.Src == rCtx || ins.Dst == rCtx) && i+1 >= end {
			return
		}
	}
	for i := 1; i < end; i++ {
		if insns[i].Src == rCtx {
			insns[i].Src = asm.R1
		}
		if insns[i].Dst == rCtx {
			insns[i].Dst = asm.R1
		}
	}
	if src := f.b.insns[0].Source(); src != nil && f.b.insns[1].Source() == nil {
		f.b.insns[1] = f.b.insns[1].WithSource(src)
	}
	f.b.remove(0)
}

// allocVars gives every scratch variable of the probe its stack slot.
func (f *fn) allocVars() {
	seen := map[*check.Var]bool{}
	var list []*check.Var
	add := func(v *check.Var) {
		if v != nil && !seen[v] {
			seen[v] = true
			list = append(list, v)
		}
	}
	// Map iteration order is random; order by position for stable code.
	for _, v := range f.info.Decls {
		add(v)
	}
	for _, v := range f.info.Vars {
		add(v)
	}
	sortVars(list)
	for _, v := range list {
		f.allocVar(v)
	}
}

// allocVar gives a variable its slot, zeroed if it may be read before
// anything is stored in it. Without loop callbacks, a small variable stays
// on the stack in scratch mode too: the verifier follows the values of a
// while loop's counter there, not in a map value.
func (f *fn) allocVar(v *check.Var) {
	n := max(v.Type.Size, 8)
	if f.root().callbacks {
		f.vars[v] = f.allocShared(n)
	} else {
		f.vars[v] = f.alloc(n)
	}
	if v.MayBeUnset {
		f.zero(f.vars[v], (n+7)&^7)
	}
}

// storeImm is *(size *)(dst + off) = imm. asm.StoreImm refuses 8-byte
// stores, which BPF has (the immediate is sign-extended).
func storeImm(dst asm.Register, off int16, imm int64, size asm.Size) asm.Instruction {
	return asm.Instruction{
		OpCode:   asm.OpCode(asm.StClass).SetMode(asm.MemMode).SetSize(size),
		Dst:      dst,
		Offset:   off,
		Constant: int64(int32(imm)),
	}
}
