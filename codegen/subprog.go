package codegen

import (
	"fmt"

	"github.com/cilium/ebpf/asm"

	"friday/check"
	"friday/syntax"
	"friday/types"
)

// Callbacks of bpf_for_each_map_elem are BPF subprograms appended to the
// program. A loop body runs in the callback's own frame; it reaches the
// probe's variables through the callback context, a pointer into the
// probe's stack frame (parentFrame below it), and the probe's context
// through a slot there.
//
// In scratch mode R9 holds the scratch memory's address in every function
// and the probe's variables live there, so a callback addresses them as
// the probe does. Each function keeps the context and the scratch address
// in slots of its own frame, and a callback gets its caller's frame to
// load them from.

// subprog is a finished subprogram.
type subprog struct {
	name  string
	insns asm.Instructions
	stack int // bytes of stack its frame uses
}

// parentFrame is the offset from the probe's frame pointer of the pointer
// passed as callback context: a valid stack address the callback adds
// variable offsets to.
const parentFrame = -8

// ctxSlot is where the probe keeps its context pointer for callbacks;
// scratchSlot where it keeps the scratch memory's address in scratch mode.
const (
	ctxSlot     = -8
	scratchSlot = -16
)

// loadFuncPtr loads the address of subprogram name into r.
func (f *fn) loadFuncPtr(r asm.Register, name string) {
	f.emit(asm.Instruction{OpCode: asm.LoadImmOp(asm.DWord), Dst: r, Src: asm.PseudoFunc, Constant: -1}.WithReference(name))
}

// newSubprog starts a callback function sharing f's program.
func (f *fn) newSubprog() *fn {
	root := f.root()
	sf := &fn{
		g: f.g, pr: f.pr, b: newBuilder(), info: f.info, points: f.points, ptype: f.ptype,
		vars: map[*check.Var]mem{}, parent: root, inline: map[*check.Func]bool{},
		free: map[asm.Register]bool{asm.R7: true, asm.R8: true},
	}
	sf.exit = sf.b.newLabel()
	// Scratch memory the caller uses stays as it is (see enterCallback).
	sf.scratch = f.scratch
	// The kernel wants line info at the start of every function.
	sf.b.setSource(string(f.b.src))
	for v, m := range root.vars {
		sf.vars[v] = root.shared(m)
	}
	root.nsub++
	sf.name = fmt.Sprintf("%s_cb%d", root.name, root.nsub)
	return sf
}

// shared is where a callback finds the probe's memory m.
func (f *fn) shared(m mem) mem {
	if f.useScratch {
		return m
	}
	return mem{asm.R9, m.off - parentFrame}
}

// enterCallback starts a loop callback whose context, the caller's frame,
// is in register r: R9 then holds the probe's frame (scratch memory in
// scratch mode) and R6 the probe's context.
func (f *fn) enterCallback(r asm.Register) {
	if !f.parent.useScratch {
		f.emit(asm.Mov.Reg(asm.R9, r),
			asm.LoadMem(rCtx, asm.R9, ctxSlot-parentFrame, asm.DWord))
		return
	}
	f.useScratch = true
	f.emit(asm.LoadMem(rCtx, r, ctxSlot-parentFrame, asm.DWord),
		asm.LoadMem(rScratch, r, scratchSlot-parentFrame, asm.DWord),
		asm.StoreMem(asm.RFP, ctxSlot, rCtx, asm.DWord),
		asm.StoreMem(asm.RFP, scratchSlot, rScratch, asm.DWord))
	f.stack, f.maxStack = 16, 16
}

// loadCtx reloads the probe's context into R6 in a loop callback.
func (f *fn) loadCtx() {
	if f.useScratch {
		f.emit(asm.LoadMem(rCtx, asm.RFP, ctxSlot, asm.DWord))
		return
	}
	f.emit(asm.LoadMem(rCtx, asm.R9, ctxSlot-parentFrame, asm.DWord))
}

func (f *fn) root() *fn {
	for f.parent != nil {
		f = f.parent
	}
	return f
}

// loopCallback ends the callback of a loop with its body: continue
// returns 0 (go on), break returns 1 (stop).
func (f *fn) loopCallback(body *syntax.Block, params int) {
	next, stop := f.b.newLabel(), f.b.newLabel()
	f.loops = append(f.loops, loop{brk: stop, cont: next})
	f.block(body)
	f.b.mark(next)
	f.emit(asm.Mov.Imm(asm.R0, 0))
	f.b.ja(f.exit)
	f.b.mark(stop)
	f.emit(asm.Mov.Imm(asm.R0, 1))
	f.finishSubprog(params)
}

// finishSubprog ends a callback returning R0 and adds it to the program.
func (f *fn) finishSubprog(params int) {
	f.b.mark(f.exit)
	f.emit(asm.Return())
	insns, err := f.b.finish()
	if err != nil {
		f.errorf(syntax.Pos{}, "%v", err)
	}
	root := f.root()
	if f.maxStack > maxStack {
		if !f.useScratch {
			// The probe is compiled again in scratch mode, where the
			// callback's big buffers live in the scratch map.
			root.maxStack = max(root.maxStack, f.maxStack)
		} else {
			f.errorf(f.pr.Syntax.Pos(), "loop body needs %d bytes of BPF stack, more than the %d available", f.maxStack, maxStack)
		}
	}
	insns[0] = funcMeta(insns[0], f.name, params, false).WithSymbol(f.name)
	root.subs = append(root.subs, subprog{f.name, insns, f.maxStack})
	root.maxScratch = max(root.maxScratch, f.maxScratch)
}

// forEach calls bpf_for_each_map_elem(map, cb, ctx, 0); R0 gets the number
// of elements visited.
func (f *fn) forEach(m *Map, cb string) {
	f.mapPtr(asm.R1, m.Spec.Name)
	f.loadFuncPtr(asm.R2, cb)
	f.frameCtx(asm.R3)
	f.emit(asm.Mov.Imm(asm.R4, 0))
	f.call(asm.FnForEachMapElem)
}

// mapLen is len(@m): the number of elements for_each visits with a
// callback that does nothing. len() of anything else is of a stack.
func (f *fn) mapLen(e syntax.Expr, c *check.Call) value {
	if c.Map == nil {
		return f.stackLen(e, c)
	}
	m := f.g.userMap(c.Map)
	if m == nil {
		return constVal(0, types.I64)
	}
	f.mapPtr(asm.R1, m.Spec.Name)
	return f.countElems()
}

// countElems counts the elements of the map in R1: for_each visits them
// with a callback that does nothing.
func (f *fn) countElems() value {
	sf := f.newSubprog()
	sf.emit(asm.Mov.Imm(asm.R0, 0))
	sf.finishSubprog(4)
	f.loadFuncPtr(asm.R2, sf.name)
	f.frameCtx(asm.R3)
	f.emit(asm.Mov.Imm(asm.R4, 0))
	f.call(asm.FnForEachMapElem)
	return value{kind: vReg, r: asm.R0, t: types.I64}
}

// frameCtx puts in r the context a loop callback gets: the probe's frame
// pointer, which a callback holds in R9 for the loops nested in it; in
// scratch mode, the caller's own frame.
func (f *fn) frameCtx(r asm.Register) {
	if f.parent != nil && !f.useScratch {
		f.emit(asm.Mov.Reg(r, asm.R9))
		return
	}
	f.emit(asm.Mov.Reg(r, asm.RFP), asm.Add.Imm(r, parentFrame))
}

// forMap is for ($kv : @m) { body }.
func (f *fn) forMap(s *syntax.ForStmt) {
	m := f.mapOf(s.Map)
	agg := m.Value.IsAggregate()
	if agg && !combinable(m.Value) || m.PerCPU && !agg {
		f.errorf(s.Pos(), "for loops over %s maps are not supported", m.Value)
	}
	if f.parent != nil && hasReturn(s.Body) {
		f.errorf(s.Pos(), "return is not supported in a for loop over a map nested in another loop's body: break out and return after the loops")
	}
	cv := f.info.Vars[s.Var]
	if cv == nil {
		f.errorf(s.Pos(), "internal error: unresolved loop variable")
	}
	sf := f.newSubprog()
	// R2 = key, R3 = value, R4 = context (the caller's frame).
	sf.enterCallback(asm.R4)
	kv := sf.vars[cv]
	kt := cv.Type
	if m.Key == nil || len(kt.Fields) != 2 {
		f.errorf(s.Pos(), "internal error: loop variable is not a (key, value) tuple")
	}
	// The key and value are copied so that the body may change the map.
	sf.emit(asm.Mov.Reg(asm.R7, asm.R2), asm.Mov.Reg(asm.R8, asm.R3))
	sf.copyMem(kv.at(kt.Fields[0].Offset), mem{asm.R7, 0}, m.Key.Size)
	if agg {
		// The callback sees this CPU's copy; the loop shows the
		// combined value. R6 lends itself as a scratch register.
		sf.aggCombine(m, kv.at(kt.Fields[0].Offset), loc{m: kv.at(kt.Fields[1].Offset)},
			loc{reg: asm.R7, isReg: true}, loc{reg: rCtx, isReg: true})
		sf.loadCtx()
	} else {
		sf.copyMem(kv.at(kt.Fields[1].Offset), mem{asm.R8, 0}, m.Value.Size)
	}
	flag := f.loopReturns(sf, s.Body)
	sf.loopCallback(s.Body, 4)
	f.forEach(m, sf.name)
	f.returnAfterLoop(flag)
}

// loopReturns prepares callback sf of a loop for the return statements of
// its body, if it has any, and gives the flag they set.
func (f *fn) loopReturns(sf *fn, body *syntax.Block) *mem {
	if !hasReturn(body) {
		return nil
	}
	flag := f.allocShared(8)
	f.zero(flag, 8)
	sf.loopRet = &loopReturn{flag: f.shared(flag)}
	if n := len(f.rets); n > 0 {
		r := f.rets[n-1]
		sf.loopRet.ret = &retTarget{slot: f.shared(r.slot), t: r.t}
	}
	return &flag
}

// returnAfterLoop returns from the probe or inlined function if the loop
// stopped because of a return statement.
func (f *fn) returnAfterLoop(flag *mem) {
	if flag == nil {
		return
	}
	skip := f.b.newLabel()
	f.emit(asm.LoadMem(asm.R0, flag.base, int16(flag.off), asm.DWord))
	f.b.jmpImm(asm.JEq, asm.R0, 0, skip)
	if n := len(f.rets); n > 0 {
		f.b.ja(f.rets[n-1].label)
	} else {
		f.b.ja(f.exit)
	}
	f.b.mark(skip)
}

// forLoop runs for ($i : lo..hi) { body } with bpf_loop(hi-lo, cb, ctx,
// 0): the verifier checks the body once, whatever the bounds.
func (f *fn) forLoop(s *syntax.ForStmt, slot mem) {
	lo := f.alloc(8)
	f.evalInto(s.Lo, lo, types.I64, false)
	hi := f.evalInt(s.Hi)
	sf := f.newSubprog()
	// R1 = index, R2 = context (the probe's frame).
	sf.enterCallback(asm.R2)
	first := f.shared(lo)
	sf.emit(asm.LoadMem(asm.R0, first.base, int16(first.off), asm.DWord),
		asm.Add.Reg(asm.R0, asm.R1))
	i := f.shared(slot)
	sf.emit(asm.StoreMem(i.base, int16(i.off), asm.R0, asm.DWord))
	flag := f.loopReturns(sf, s.Body)
	sf.loopCallback(s.Body, 2)

	// Iterations: hi - lo, none when hi <= lo.
	hr := f.toReg(hi, asm.R1)
	if hr.r != asm.R1 {
		f.emit(asm.Mov.Reg(asm.R1, hr.r))
	}
	f.drop(hr)
	f.emit(asm.LoadMem(asm.R2, lo.base, int16(lo.off), asm.DWord), asm.Sub.Reg(asm.R1, asm.R2))
	skip := f.b.newLabel()
	f.b.jmpImm(asm.JSLE, asm.R1, 0, skip)
	f.loadFuncPtr(asm.R2, sf.name)
	f.emit(asm.Mov.Reg(asm.R3, asm.RFP), asm.Add.Imm(asm.R3, parentFrame), asm.Mov.Imm(asm.R4, 0))
	f.call(asm.FnLoop)
	f.b.mark(skip)
	f.returnAfterLoop(flag)
}
