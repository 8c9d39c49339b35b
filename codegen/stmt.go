package codegen

import (
	"slices"
	"strings"

	"github.com/cilium/ebpf/asm"

	"friday/check"
	"friday/internal/bpfint"
	"friday/syntax"
	"friday/types"
)

func sortVars(vs []*check.Var) {
	slices.SortStableFunc(vs, check.CompareVars)
}

func (f *fn) block(b *syntax.Block) {
	if b == nil {
		return
	}
	for _, s := range b.Stmts {
		f.stmt(s)
	}
}

// stmt generates one statement. Temporaries allocated by it are released
// when it ends.
func (f *fn) stmt(s syntax.Stmt) {
	mark := f.markAlloc()
	defer f.release(mark)
	switch s := s.(type) {
	case *syntax.Block:
		f.block(s)
	case *syntax.ExprStmt:
		f.source(s)
		if c, ok := s.X.(*syntax.Call); ok && f.callOf(c).Name == "delete" && f.callOf(c).Func == nil {
			f.deleteDiscarded(c, f.callOf(c))
			break
		}
		if u, ok := s.X.(*syntax.Unary); ok && (u.Op == "++" || u.Op == "--") {
			if ref, _ := mapAccess(u.X); ref != nil {
				f.mapIncDec(u, noResult)
				break
			}
		}
		f.drop(f.eval(s.X))
	case *syntax.AssignStmt:
		// Point at the statement's start, not at its operator.
		f.source(s.LHS)
		f.assign(s)
	case *syntax.VarDecl:
		f.source(s)
		cv := f.info.Decls[s]
		if cv == nil {
			f.errorf(s.Pos(), "internal error: unresolved declaration")
		}
		slot := f.vars[cv]
		if s.Value == nil {
			f.zero(slot, (cv.Type.Size+7)&^7)
			f.varWritten(cv)
			return
		}
		f.evalInto(s.Value, slot, cv.Type, true)
		f.varWritten(cv)
		f.copied(cv, s.Value)
	case *syntax.IfStmt:
		f.source(s)
		f.ifStmt(s)
	case *syntax.WhileStmt:
		f.source(s)
		// A loop starts and ends without kept pointers: what its body
		// keeps is of its own turn only.
		f.forgetLookups()
		defer f.forgetLookups()
		top, end := f.b.newLabel(), f.b.newLabel()
		f.b.mark(top)
		f.branch(s.Cond, end, false)
		f.loops = append(f.loops, loop{brk: end, cont: top})
		f.block(s.Body)
		f.loops = f.loops[:len(f.loops)-1]
		f.b.ja(top)
		f.b.mark(end)
	case *syntax.ForStmt:
		f.source(s)
		f.forgetLookups()
		defer f.forgetLookups()
		f.forStmt(s)
	case *syntax.UnrollStmt:
		f.source(s)
		n, ok := f.info.Unrolls[s]
		if !ok {
			c, isConst := f.constOf(s.Count)
			if !isConst {
				f.errorf(s.Pos(), "unroll count must be a constant")
			}
			n = int(c.c)
		}
		for i := 0; i < n; i++ {
			f.block(s.Body)
		}
	case *syntax.JumpStmt:
		f.source(s)
		switch s.Kind {
		case "return":
			if n := len(f.rets); n > 0 {
				r := f.rets[n-1]
				if s.Value != nil && r.t.Kind != types.Void {
					f.evalInto(s.Value, r.slot, r.t, true)
				}
				f.b.ja(r.label)
				return
			}
			if lr := f.loopRet; lr != nil {
				if s.Value != nil && lr.ret != nil && lr.ret.t.Kind != types.Void {
					f.evalInto(s.Value, lr.ret.slot, lr.ret.t, true)
				}
				f.emit(storeImm(lr.flag.base, int16(lr.flag.off), 1, asm.DWord), asm.Mov.Imm(asm.R0, 1))
			}
			f.b.ja(f.exit)
		case "break", "continue":
			if len(f.loops) == 0 {
				f.errorf(s.Pos(), "%s outside of a loop", s.Kind)
			}
			l := f.loops[len(f.loops)-1]
			if s.Kind == "break" {
				f.b.ja(l.brk)
			} else {
				f.b.ja(l.cont)
			}
		}
	default:
		f.errorf(s.Pos(), "%T statements are not supported by the code generator", s)
	}
}

func (f *fn) ifStmt(s *syntax.IfStmt) {
	if cond, ok := f.staticCond(s.Cond); ok {
		// Only the arm that runs is compiled, so that the other may
		// use what this probe cannot, as kfunc_allowed() guards.
		if cond {
			f.block(s.Then)
		} else if s.Else != nil {
			f.stmt(s.Else)
		}
		return
	}
	els, end := f.b.newLabel(), f.b.newLabel()
	f.branch(s.Cond, els, false)
	before := f.keptLookups()
	f.block(s.Then)
	then := f.keptLookups()
	f.setLookups(before)
	if s.Else != nil {
		f.b.ja(end)
	}
	f.b.mark(els)
	if s.Else != nil {
		f.stmt(s.Else)
	}
	f.b.mark(end)
	f.joinLookups(then)
}

// staticCond is the value of a condition known when the probe is
// compiled: a constant, or kfunc_allowed(), which depends on the probe's
// program type, possibly negated.
func (f *fn) staticCond(e syntax.Expr) (bool, bool) {
	if v, ok := f.constOf(e); ok && !v.isStr {
		return v.c != 0, true
	}
	switch x := e.(type) {
	case *syntax.Unary:
		if x.Op == "!" {
			v, ok := f.staticCond(x.X)
			return !v, ok
		}
	case *syntax.Call:
		if c := f.callOf(x); c != nil && c.Name == "kfunc_allowed" {
			return f.eval(x).c != 0, true
		}
	}
	return false, false
}

func (f *fn) assign(s *syntax.AssignStmt) {
	switch l := s.LHS.(type) {
	case *syntax.MapIndex:
		f.mapAssign(s, l.Map, l.Keys)
	case *syntax.MapRef:
		f.mapAssign(s, l, nil)
	case *syntax.Var:
		cv := f.info.Vars[l]
		if cv == nil {
			f.errorf(l.Pos(), "internal error: unresolved variable %s", l.Name)
		}
		slot := f.vars[cv]
		if s.Op == "=" {
			f.evalInto(s.RHS, slot, cv.Type, true)
			f.varWritten(cv)
			f.copied(cv, s.RHS)
			return
		}
		defer f.varWritten(cv)
		op, ok := aluOps[strings.TrimSuffix(s.Op, "=")]
		if !ok {
			f.errorf(s.Pos(), "operator %s is not supported", s.Op)
		}
		if cv.Type.Signed {
			op = signedALU(op)
		}
		v := f.evalInt(s.RHS)
		if n := ptrStep(cv.Type); n > 1 && (op == asm.Add || op == asm.Sub) {
			v = f.scale(v, n)
		}
		d := asm.R0
		if v.kind == vReg && v.r == asm.R0 {
			d = asm.R1
		}
		f.loadInt(d, slot, cv.Type)
		imm, reg, isImm := f.operand(v, d)
		if isImm {
			f.emit(op.Imm(d, imm))
		} else {
			f.emit(op.Reg(d, reg))
		}
		f.drop(v)
		f.emit(asm.StoreMem(slot.base, int16(slot.off), d, bpfint.Size(intSize(cv.Type))))
	case *syntax.Ident:
		if l.Name == "_" {
			f.drop(f.eval(s.RHS))
			return
		}
		f.errorf(s.Pos(), "cannot assign to %s", l.Name)
	default:
		f.errorf(s.Pos(), "assignment to this expression is not supported by the code generator")
	}
}

// forStmt generates a range loop; the verifier bounds it.
func (f *fn) forStmt(s *syntax.ForStmt) {
	if s.Map != nil {
		f.forMap(s)
		return
	}
	cv := f.info.Vars[s.Var]
	if cv == nil {
		for _, v := range f.info.Decls {
			if v.Name == s.Var.Name && v.Pos == s.Var.Pos() {
				cv = v
			}
		}
	}
	if cv == nil {
		f.errorf(s.Pos(), "internal error: unresolved loop variable")
	}
	slot := f.vars[cv]
	lo, loConst := f.constOf(s.Lo)
	hiC, hiConst := f.constOf(s.Hi)
	if (!loConst || !hiConst || hiC.c-lo.c > plainLoopMax || callsStatement(s.Body)) && f.parent == nil {
		f.forLoop(s, slot)
		return
	}
	// The counter lives on the stack, where the verifier follows its
	// value and so bounds the loop; in scratch mode the variable itself
	// is in the scratch map, whose contents it does not follow.
	ctr := slot
	if slot.base != asm.RFP {
		ctr = f.alloc(8)
	}
	f.evalInto(s.Lo, ctr, types.I64, false)
	hi := f.keep(f.evalInt(s.Hi))
	top, cont, end := f.b.newLabel(), f.b.newLabel(), f.b.newLabel()
	f.b.mark(top)
	f.loadInt(asm.R0, ctr, types.I64)
	imm, reg, isImm := f.operand(hi, asm.R0)
	if isImm {
		f.b.jmpImm(asm.JSGE, asm.R0, imm, end)
	} else {
		f.b.jmpReg(asm.JSGE, asm.R0, reg, end)
	}
	if ctr != slot {
		f.emit(asm.StoreMem(slot.base, int16(slot.off), asm.R0, asm.DWord))
	}
	f.loops = append(f.loops, loop{brk: end, cont: cont})
	f.block(s.Body)
	f.loops = f.loops[:len(f.loops)-1]
	f.b.mark(cont)
	f.loadInt(asm.R0, ctr, types.I64)
	f.emit(asm.Add.Imm(asm.R0, 1), asm.StoreMem(ctr.base, int16(ctr.off), asm.R0, asm.DWord))
	f.b.ja(top)
	f.b.mark(end)
	f.drop(hi)
}

// plainLoopMax is the most iterations a range loop with constant bounds
// runs as a plain loop, which the verifier walks once per iteration;
// longer or run-time bounded ones use bpf_loop, and so do those that call
// a function as a statement (see callsStatement).
const plainLoopMax = 64

// callsStatement reports whether a loop body calls a function as a
// statement: printf() or print() send an event, whose paths (a record
// reserved or not, each string read or not) the verifier follows again in
// each iteration of a plain loop, milliseconds of a tool's start-up for
// one loop. bpf_loop's callback is checked once, and its call costs a few
// nanoseconds an iteration beside an event's hundreds.
func callsStatement(body *syntax.Block) bool {
	return anyStmt(body, func(s syntax.Stmt) bool {
		es, ok := s.(*syntax.ExprStmt)
		if !ok {
			return false
		}
		_, ok = es.X.(*syntax.Call)
		return ok
	})
}

// syntaxWalk calls fn for e and every expression inside it.
func syntaxWalk(e syntax.Expr, fn func(syntax.Expr)) {
	if e == nil {
		return
	}
	fn(e)
	switch x := e.(type) {
	case *syntax.MapIndex:
		for _, k := range x.Keys {
			syntaxWalk(k, fn)
		}
	case *syntax.Call:
		for _, a := range x.Args {
			syntaxWalk(a, fn)
		}
	case *syntax.Unary:
		syntaxWalk(x.X, fn)
	case *syntax.Binary:
		syntaxWalk(x.X, fn)
		syntaxWalk(x.Y, fn)
	case *syntax.Ternary:
		syntaxWalk(x.Cond, fn)
		syntaxWalk(x.Then, fn)
		syntaxWalk(x.Else, fn)
	case *syntax.Field:
		syntaxWalk(x.X, fn)
	case *syntax.Index:
		syntaxWalk(x.X, fn)
		syntaxWalk(x.Index, fn)
	case *syntax.Cast:
		syntaxWalk(x.X, fn)
	case *syntax.Tuple:
		for _, a := range x.Elems {
			syntaxWalk(a, fn)
		}
	case *syntax.Record:
		for _, a := range x.Values {
			syntaxWalk(a, fn)
		}
	}
}

// needsCallbacks reports whether a probe or function body, checked as
// info, has a for loop, whose body may become a callback (range loops may
// become bpf_loop callbacks too), or calls a function that has one.
func needsCallbacks(body *syntax.Block, info *check.Info, seen map[*check.Func]bool) bool {
	if anyStmt(body, func(s syntax.Stmt) bool { _, ok := s.(*syntax.ForStmt); return ok }) {
		return true
	}
	for _, c := range info.Calls {
		if c.Func != nil && !seen[c.Func] {
			seen[c.Func] = true
			if needsCallbacks(c.Func.Syntax.Body, c.Func.Info, seen) {
				return true
			}
		}
	}
	return false
}

// hasReturn reports whether a block returns, other than in the user
// functions it calls.
func hasReturn(b *syntax.Block) bool {
	return anyStmt(b, func(s syntax.Stmt) bool {
		j, ok := s.(*syntax.JumpStmt)
		return ok && j.Kind == "return"
	})
}

// anyStmt reports whether pred holds for a statement of b, nested blocks
// included.
func anyStmt(b *syntax.Block, pred func(syntax.Stmt) bool) bool {
	var walk func(s syntax.Stmt) bool
	// inExpr walks the statements of the macro calls in e, which
	// expansion made BlockExprs.
	var inExpr func(e syntax.Expr) bool
	inExpr = func(e syntax.Expr) bool {
		found := false
		syntaxWalk(e, func(x syntax.Expr) {
			if be, ok := x.(*syntax.BlockExpr); ok && !found {
				found = slices.ContainsFunc(be.Stmts, walk) || inExpr(be.Value)
			}
		})
		return found
	}
	walk = func(s syntax.Stmt) bool {
		if s == nil {
			return false
		}
		if pred(s) {
			return true
		}
		switch s := s.(type) {
		case *syntax.Block:
			return slices.ContainsFunc(s.Stmts, walk)
		case *syntax.ExprStmt:
			return inExpr(s.X)
		case *syntax.AssignStmt:
			return inExpr(s.LHS) || inExpr(s.RHS)
		case *syntax.VarDecl:
			return inExpr(s.Value)
		case *syntax.IfStmt:
			return inExpr(s.Cond) || walk(s.Then) || s.Else != nil && walk(s.Else)
		case *syntax.WhileStmt:
			return inExpr(s.Cond) || walk(s.Body)
		case *syntax.UnrollStmt:
			return walk(s.Body)
		case *syntax.ForStmt:
			return walk(s.Body)
		case *syntax.JumpStmt:
			return inExpr(s.Value)
		}
		return false
	}
	return b != nil && walk(b)
}

// inlineCall generates a call of a user function in place: the arguments
// go to the parameters' slots and return statements jump to the end.
func (f *fn) inlineCall(e *syntax.Call, c *check.Call) value {
	fd := c.Func
	if f.inline[fd] {
		f.errorf(e.Pos(), "recursive call of %s is not supported", fd.Syntax.Name)
	}
	if len(c.Args) != len(fd.Params) {
		f.errorf(e.Pos(), "%s() takes %d arguments", fd.Syntax.Name, len(fd.Params))
	}
	slots := make([]mem, len(fd.Params))
	for i, p := range fd.Params {
		slots[i] = f.allocShared(max(p.Type.Size, 8))
		f.evalInto(c.Args[i], slots[i], p.Type, true)
	}
	saved := f.info
	f.info = fd.Info
	f.inline[fd] = true
	var list []*check.Var
	for _, v := range fd.Info.Decls {
		list = append(list, v)
	}
	for _, v := range fd.Info.Vars {
		list = append(list, v)
	}
	sortVars(list)
	for i, p := range fd.Params {
		f.vars[p] = slots[i]
	}
	for _, v := range list {
		isParam := false
		for _, p := range fd.Params {
			isParam = isParam || p == v
		}
		if !isParam {
			f.allocVar(v)
		}
	}
	res := fd.Result
	if res == nil {
		res = types.VoidT
	}
	r := retTarget{label: f.b.newLabel(), t: res}
	if res.Kind != types.Void {
		r.slot = f.allocShared(max(res.Size, 8))
	}
	f.rets = append(f.rets, r)
	f.block(fd.Syntax.Body)
	f.rets = f.rets[:len(f.rets)-1]
	f.b.mark(r.label)
	if hasReturn(fd.Syntax.Body) {
		// Paths from its returns join here.
		f.forgetLookups()
	}
	f.info = saved
	delete(f.inline, fd)
	if res.Kind == types.Void {
		return value{kind: vVoid, t: res}
	}
	return value{kind: vMem, m: r.slot, t: res}
}
