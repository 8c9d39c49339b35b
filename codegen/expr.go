package codegen

import (
	"github.com/cilium/ebpf/asm"

	"friday/check"
	"friday/internal/bpfint"
	"friday/syntax"
	"friday/types"
)

// constOf returns the checker's folded value of e, if any.
func (f *fn) constOf(e syntax.Expr) (value, bool) {
	c, ok := f.info.Consts[e]
	if !ok {
		return value{}, false
	}
	t := f.typeOf(e)
	if c.IsStr {
		return strConst(c.Str, t), true
	}
	if c.Bytes != nil && !isIntLike(t) {
		return value{}, false
	}
	if !isIntLike(t) {
		return value{}, false
	}
	return constVal(c.Int, t), true
}

// strConst is a string known at compile time; it is written to memory
// where it is used.
func strConst(s string, t *types.Type) value {
	if t == nil || t.Kind != types.String {
		t = types.StringOf(len(s) + 1)
	}
	return value{kind: vConst, t: t, s: s, isStr: true}
}

// computing records that e is being computed until the returned function
// is called.
func (f *fn) computing(e syntax.Node) func() {
	prev := f.at
	f.at = e
	return func() { f.at = prev }
}

// eval computes e. Integers come back as constants or in registers
// (possibly R0-R5, see keep), other values in memory.
func (f *fn) eval(e syntax.Expr) value {
	if v, ok := f.constOf(e); ok {
		return v
	}
	defer f.computing(e)()
	if c, ok := f.info.Consts[e]; ok && c.Bytes != nil {
		// An array constant (pton): written where it is used.
		t := f.typeOf(e)
		m := f.alloc(max(t.Size, len(c.Bytes)))
		f.writeBytes(m, c.Bytes)
		return value{kind: vMem, m: m, t: t}
	}
	switch e := e.(type) {
	case *syntax.IntLit:
		return constVal(int64(e.Value), f.typeOf(e))
	case *syntax.BoolLit:
		if e.Value {
			return constVal(1, types.BoolT)
		}
		return constVal(0, types.BoolT)
	case *syntax.StrLit:
		return strConst(e.Value, f.info.Types[e])
	case *syntax.Var:
		cv := f.info.Vars[e]
		if cv == nil {
			f.errorf(e.Pos(), "internal error: unresolved variable %s", e.Name)
		}
		return value{kind: vMem, m: f.vars[cv], t: cv.Type}
	case *syntax.MapIndex:
		return f.mapRead(e, e.Map, e.Keys)
	case *syntax.MapRef:
		return f.mapRead(e, e, nil)
	case *syntax.Ident:
		return f.builtin(e)
	case *syntax.Call:
		return f.callExpr(e)
	case *syntax.Unary:
		return f.unary(e)
	case *syntax.Binary:
		return f.binary(e)
	case *syntax.Ternary:
		return f.ternary(e)
	case *syntax.Field:
		return f.field(e)
	case *syntax.Index:
		return f.index(e)
	case *syntax.Cast:
		return f.cast(e)
	case *syntax.Tuple:
		return f.tuple(e, e.Elems)
	case *syntax.Record:
		return f.tuple(e, e.Values)
	case *syntax.BlockExpr:
		for _, s := range e.Stmts {
			f.stmt(s)
		}
		if e.Value == nil {
			return value{kind: vVoid, t: types.VoidT}
		}
		return f.eval(e.Value)
	}
	f.errorf(e.Pos(), "%T expressions are not supported by the code generator", e)
	return value{}
}

// evalInt evaluates an integer expression.
func (f *fn) evalInt(e syntax.Expr) value {
	v := f.eval(e)
	if v.kind == vConst && !v.isStr {
		return v
	}
	if !isIntLike(v.t) {
		f.errorf(e.Pos(), "expected an integer, got %s", v.t)
	}
	return v
}

// alu emits dst op= v, with v as an immediate when it fits.
func (f *fn) alu(op asm.ALUOp, dst asm.Register, v value) {
	imm, reg, isImm := f.operand(v, dst)
	if isImm {
		f.emit(op.Imm(dst, imm))
	} else {
		f.emit(op.Reg(dst, reg))
	}
}

// operand gives v as the source operand of an ALU or jump instruction:
// an immediate, or a register other than avoid.
func (f *fn) operand(v value, avoid asm.Register) (imm int32, reg asm.Register, isImm bool) {
	if v.kind == vConst && v.c == int64(int32(v.c)) {
		return int32(v.c), 0, true
	}
	if v.kind == vReg {
		return 0, v.r, false
	}
	r := asm.R0
	if avoid == asm.R0 {
		r = asm.R1
	}
	v = f.toReg(v, r)
	return 0, v.r, false
}

// operandIn is operand with the register to load v into when it is
// neither an immediate nor in a register.
func (f *fn) operandIn(v value, scratch asm.Register) (imm int32, reg asm.Register, isImm bool) {
	if v.kind == vConst && v.c == int64(int32(v.c)) {
		return int32(v.c), 0, true
	}
	if v.kind == vReg {
		return 0, v.r, false
	}
	f.toReg(v, scratch)
	return 0, scratch, false
}

// writable returns v in a register that may be overwritten with the
// result of an operation; other is the second operand, whose register
// must not be chosen.
func (f *fn) writable(v value, other value) value {
	if v.kind == vReg && (v.own || v.r < asm.R6) {
		return v
	}
	avoid := asm.Register(255)
	if other.kind == vReg {
		avoid = other.r
	}
	for _, r := range []asm.Register{asm.R0, asm.R1, asm.R2} {
		if r == avoid || (v.kind == vMem && v.m.base == r) {
			continue
		}
		if v.kind == vReg {
			f.emit(asm.Mov.Reg(r, v.r))
			return value{kind: vReg, r: r, t: v.t}
		}
		return f.toReg(v, r)
	}
	panic("unreachable")
}

var aluOps = map[string]asm.ALUOp{
	"+": asm.Add, "-": asm.Sub, "*": asm.Mul, "/": asm.Div, "%": asm.Mod,
	"&": asm.And, "|": asm.Or, "^": asm.Xor, "<<": asm.LSh, ">>": asm.RSh,
}

// signedALU is the variant of op for signed operands: division,
// remainder and right shift differ; other operations are the same.
func signedALU(op asm.ALUOp) asm.ALUOp {
	switch op {
	case asm.Div:
		return asm.SDiv
	case asm.Mod:
		return asm.SMod
	case asm.RSh:
		return asm.ArSh
	}
	return op
}

func (f *fn) binary(e *syntax.Binary) value {
	switch e.Op {
	case "&&", "||", "==", "!=", "<", "<=", ">", ">=":
		return f.boolValue(e)
	}
	op, ok := aluOps[e.Op]
	if !ok {
		f.errorf(e.Pos(), "operator %s is not supported", e.Op)
	}
	tx, ty := f.typeOf(e.X), f.typeOf(e.Y)
	signed := f.signedOp(e.X, e.Y)
	switch {
	case op == asm.Div && signed:
		op = asm.SDiv
	case op == asm.Mod && signed:
		op = asm.SMod
	case op == asm.RSh && tx.Signed:
		op = asm.ArSh
	}
	a := f.evalInt(e.X)
	if _, isConst := f.constOf(e.Y); !isConst {
		a = f.keep(a)
	}
	b := f.evalInt(e.Y)
	rt := f.typeOf(e)
	// Pointer arithmetic counts in elements.
	if tx.Kind == types.Pointer && ty.Kind != types.Pointer && (e.Op == "+" || e.Op == "-") {
		if n := elemSize(tx); n > 1 {
			b = f.scale(b, n)
		}
	}
	if a.kind == vConst && b.kind == vConst {
		if c, ok := fold(op, a.c, b.c); ok {
			return constVal(c, rt)
		}
	}
	isDiv := op == asm.Div || op == asm.SDiv || op == asm.Mod || op == asm.SMod
	if isDiv && b.kind == vConst && b.c == 0 {
		// The checker warned: the result is 1.
		f.drop(a)
		return constVal(1, rt)
	}
	d := f.writable(a, b)
	if !isDiv || b.kind == vConst {
		f.alu(op, d.r, b)
		f.drop(b)
		d.t = rt
		return d
	}
	// A divisor of 0 known only at run time gives 1 and a warning.
	b = f.toReg(b, regAvoiding(d))
	zero, end := f.b.newLabel(), f.b.newLabel()
	f.b.jmpImm(asm.JEq, b.r, 0, zero)
	f.alu(op, d.r, b)
	f.b.ja(end)
	f.b.mark(zero)
	f.drop(b)
	ev := f.event(e.Y, Errorf, check.DivZeroWarning, "", nil)
	ev.Warn, ev.Once, ev.Runtime = true, true, true
	f.emit(asm.Mov.Imm(d.r, 1))
	f.b.mark(end)
	d.t = rt
	return d
}

// ptrStep is what one step of ++, --, += or -= adds to a value of type
// t: the pointee's size for a pointer, 1 for an integer.
func ptrStep(t *types.Type) int {
	if t.Kind != types.Pointer {
		return 1
	}
	return elemSize(t)
}

func elemSize(t *types.Type) int {
	if t.Elem == nil || t.Elem.Size == 0 {
		return 1
	}
	return t.Elem.Size
}

func (f *fn) scale(v value, n int) value {
	if v.kind == vConst {
		return constVal(v.c*int64(n), v.t)
	}
	v = f.writable(v, value{})
	f.emit(asm.Mul.Imm(v.r, int32(n)))
	return v
}

// fold computes constant operations the way the BPF instruction would.
func fold(op asm.ALUOp, a, b int64) (int64, bool) {
	switch op {
	case asm.Add:
		return a + b, true
	case asm.Sub:
		return a - b, true
	case asm.Mul:
		return a * b, true
	case asm.And:
		return a & b, true
	case asm.Or:
		return a | b, true
	case asm.Xor:
		return a ^ b, true
	case asm.LSh:
		return a << (uint64(b) & 63), true
	case asm.RSh:
		return int64(uint64(a) >> (uint64(b) & 63)), true
	case asm.ArSh:
		return a >> (uint64(b) & 63), true
	case asm.Div:
		if b == 0 {
			return 0, true
		}
		return int64(uint64(a) / uint64(b)), true
	case asm.Mod:
		if b == 0 {
			return a, true
		}
		return int64(uint64(a) % uint64(b)), true
	case asm.SDiv:
		if b == 0 {
			return 0, true
		}
		if b == -1 {
			return -a, true
		}
		return a / b, true
	case asm.SMod:
		if b == 0 {
			return a, true
		}
		if b == -1 {
			return 0, true
		}
		return a % b, true
	}
	return 0, false
}

// signedOp reports whether an operation on x and y is signed: both are
// signed, or one is and the other is a constant, which takes the
// signedness of the other operand ($a < 0 with $a signed).
func (f *fn) signedOp(x, y syntax.Expr) bool {
	tx, ty := f.typeOf(x), f.typeOf(y)
	_, cx := f.constOf(x)
	_, cy := f.constOf(y)
	return (tx.Signed || cx) && (ty.Signed || cy) && (tx.Signed || ty.Signed)
}

// boolValue turns a condition into 0 or 1.
func (f *fn) boolValue(e syntax.Expr) value {
	if v, ok := f.constOf(e); ok {
		return v
	}
	t := f.b.newLabel()
	end := f.b.newLabel()
	f.branch(e, t, true)
	return f.zeroOrOne(t, end, types.BoolT)
}

// zeroOrOne leaves R0 0 where the code falls through and 1 where it
// jumps to one, and returns R0 as a value of type t.
func (f *fn) zeroOrOne(one, end string, t *types.Type) value {
	f.emit(asm.Mov.Imm(asm.R0, 0))
	f.b.ja(end)
	f.b.mark(one)
	f.emit(asm.Mov.Imm(asm.R0, 1))
	f.b.mark(end)
	return value{kind: vReg, r: asm.R0, t: t}
}

var jumpOps = map[string][2]asm.JumpOp{ // unsigned, signed
	"==": {asm.JEq, asm.JEq}, "!=": {asm.JNE, asm.JNE},
	"<": {asm.JLT, asm.JSLT}, "<=": {asm.JLE, asm.JSLE},
	">": {asm.JGT, asm.JSGT}, ">=": {asm.JGE, asm.JSGE},
}

var negated = map[string]string{"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
var swapped = map[string]string{"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}

// branch jumps to label when e's truth equals when, and falls through
// otherwise.
func (f *fn) branch(e syntax.Expr, label string, when bool) {
	if v, ok := f.constOf(e); ok && !v.isStr {
		if (v.c != 0) == when {
			f.b.ja(label)
		}
		return
	}
	switch x := e.(type) {
	case *syntax.BlockExpr:
		// A macro's expression: tested as itself, not turned into 0
		// or 1 first.
		if len(x.Stmts) == 0 && x.Value != nil {
			f.branch(x.Value, label, when)
			return
		}
	case *syntax.Unary:
		if x.Op == "!" {
			f.branch(x.X, label, !when)
			return
		}
	case *syntax.Binary:
		switch x.Op {
		case "&&", "||":
			// a && b jumps when true only if both are; a || b when either is.
			and := x.Op == "&&"
			// Y is computed only when X does not decide.
			if and == when {
				skip := f.b.newLabel()
				f.branch(x.X, skip, !when)
				done := f.conditional()
				f.branch(x.Y, label, when)
				done()
				f.b.mark(skip)
			} else {
				f.branch(x.X, label, when)
				done := f.conditional()
				f.branch(x.Y, label, when)
				done()
			}
			return
		case "==", "!=", "<", "<=", ">", ">=":
			op := x.Op
			if !when {
				op = negated[op]
			}
			f.compare(x, op, label)
			return
		}
	}
	v := f.eval(e)
	if v.kind == vVoid || v.isStr {
		f.errorf(e.Pos(), "condition is not an integer")
	}
	v = f.toReg(v, 0)
	if when {
		f.b.jmpImm(asm.JNE, v.r, 0, label)
	} else {
		f.b.jmpImm(asm.JEq, v.r, 0, label)
	}
	f.drop(v)
}

// compare jumps to label when X op Y holds.
func (f *fn) compare(x *syntax.Binary, op string, label string) {
	tx, ty := f.typeOf(x.X), f.typeOf(x.Y)
	if tx.Kind == types.String || ty.Kind == types.String {
		f.strCompare(x, op, label)
		return
	}
	if !isIntLike(tx) && !isIntLike(ty) {
		f.memCompare(x, op, label)
		return
	}
	signed := 0
	if f.signedOp(x.X, x.Y) {
		signed = 1
	}
	a := f.evalInt(x.X)
	if _, isConst := f.constOf(x.Y); !isConst {
		a = f.keep(a)
	}
	b := f.evalInt(x.Y)
	if a.kind == vConst && b.kind != vConst {
		a, b = b, a
		op = swapped[op]
	}
	a = f.toReg(a, regAvoiding(b))
	imm, reg, isImm := f.operand(b, a.r)
	jop := jumpOps[op][signed]
	if isImm {
		f.b.jmpImm(jop, a.r, imm, label)
	} else {
		f.b.jmpReg(jop, a.r, reg, label)
	}
	f.drop(a)
	f.drop(b)
}

// regAvoiding picks a transient register not used by v.
func regAvoiding(v value) asm.Register {
	if v.kind == vReg && v.r == asm.R0 || v.kind == vMem && v.m.base == asm.R0 {
		return asm.R1
	}
	return asm.R0
}

func (f *fn) unary(e *syntax.Unary) value {
	switch e.Op {
	case "!":
		return f.boolValue(e)
	case "-", "~":
		v := f.evalInt(e.X)
		if v.kind == vConst {
			if e.Op == "-" {
				return constVal(-v.c, f.typeOf(e))
			}
			return constVal(^v.c, f.typeOf(e))
		}
		v = f.writable(v, value{})
		if e.Op == "-" {
			f.emit(asm.Neg.Imm(v.r, 0))
		} else {
			f.emit(asm.Xor.Imm(v.r, -1))
		}
		v.t = f.typeOf(e)
		return v
	case "++", "--":
		return f.incDec(e)
	case "*":
		return f.deref(e)
	case "&":
		return f.addressOf(e)
	}
	f.errorf(e.Pos(), "operator %s is not supported", e.Op)
	return value{}
}

func (f *fn) ternary(e *syntax.Ternary) value {
	if c, ok := f.constOf(e.Cond); ok && !c.isStr {
		if c.c == 0 {
			return f.eval(e.Else)
		}
		if e.Then == nil {
			return f.eval(e.Cond)
		}
		return f.eval(e.Then)
	}
	t := f.typeOf(e)
	if t.Kind == types.Void {
		f.arms(e, func(x syntax.Expr) { f.eval(x) })
		return value{kind: vVoid, t: t}
	}
	if isIntLike(t) {
		// The result lives in a callee-saved register, or on the stack
		// when none is free.
		r, ok := f.getReg()
		var m mem
		if !ok {
			m = f.alloc(8)
		}
		put := func(x syntax.Expr) {
			v := f.evalInt(x)
			if ok {
				f.toRegInto(v, r)
			} else {
				f.storeInt(m, v, 8)
			}
		}
		if e.Then == nil {
			// The condition, computed once, is the result unless it
			// is zero (a scalar: the checker allows no other).
			end := f.b.newLabel()
			put(e.Cond)
			test := r
			if !ok {
				test = asm.R0
				f.loadInt(test, m, types.U64)
			}
			f.b.jmpImm(asm.JNE, test, 0, end)
			done := f.conditional()
			put(e.Else)
			done()
			f.b.mark(end)
		} else {
			f.arms(e, put)
		}
		if ok {
			return value{kind: vReg, r: r, t: t, own: true}
		}
		return value{kind: vMem, m: m, t: asm64(t)}
	}
	m := f.alloc(t.Size)
	f.arms(e, func(x syntax.Expr) { f.evalInto(x, m, t, true) })
	return value{kind: vMem, m: m, t: t}
}

// arms compiles the two arms of e with arm, each reached only when e's
// condition chooses it.
func (f *fn) arms(e *syntax.Ternary, arm func(syntax.Expr)) {
	els, end := f.b.newLabel(), f.b.newLabel()
	f.branch(e.Cond, els, false)
	defer f.conditional()()
	arm(e.Then)
	f.b.ja(end)
	f.b.mark(els)
	arm(e.Else)
	f.b.mark(end)
}

// toRegInto puts integer v into register r exactly.
func (f *fn) toRegInto(v value, r asm.Register) {
	switch v.kind {
	case vReg:
		if v.r != r {
			f.emit(asm.Mov.Reg(r, v.r))
		}
		f.drop(v)
	default:
		f.toReg(v, r)
	}
}

// cast converts integers (truncating or extending) and reinterprets
// other values.
func (f *fn) cast(e *syntax.Cast) value {
	to := f.typeOf(e)
	v := f.eval(e.X)
	if to.Kind == types.Array && (isIntLike(v.t) || v.kind == vConst && !v.isStr) {
		// An integer seen as an array of bytes (or smaller integers).
		m := f.alloc(to.Size)
		f.storeInt(m, v, min(to.Size, 8))
		return value{kind: vMem, m: m, t: to}
	}
	if to.Kind == types.String && !v.isStr && to.Size > v.t.Size {
		// A longer string: its bytes stay where they are, and what
		// stores the value pads it to the cast's capacity.
		return v
	}
	if !isIntLike(to) || !isIntLike(v.t) && !(v.kind == vConst && !v.isStr) {
		v.t = to
		return v
	}
	return f.convert(v, to)
}

// convert truncates or sign-extends integer v to type to.
func (f *fn) convert(v value, to *types.Type) value {
	size := intSize(to)
	if to.Kind == types.Bool {
		if v.kind == vConst {
			return constVal(b2i(v.c != 0), to)
		}
		v = f.writable(f.toReg(v, 0), value{})
		skip := f.b.newLabel()
		f.b.jmpImm(asm.JEq, v.r, 0, skip)
		f.emit(asm.Mov.Imm(v.r, 1))
		f.b.mark(skip)
		v.t = to
		return v
	}
	from := v.t
	if v.kind == vConst {
		return constVal(bpfint.Truncate(v.c, size, to.Signed), to)
	}
	if size == 8 || from != nil && from.IsInteger() && intSize(from) <= size && (from.Signed == to.Signed || intSize(from) < size && !from.Signed) {
		v.t = to
		return v
	}
	if v.kind == vMem {
		// Loading with the target's width truncates for free.
		if from.IsInteger() && intSize(from) >= size {
			v.t = to
			return v
		}
	}
	v = f.writable(f.toReg(v, 0), value{})
	switch {
	case to.Signed:
		f.emit(movSX(size).Reg(v.r, v.r))
	case size == 4:
		f.emit(asm.Mov.Reg32(v.r, v.r))
	default:
		f.emit(asm.And.Imm(v.r, int32(1<<(8*size)-1)))
	}
	v.t = to
	return v
}

func movSX(size int) asm.ALUOp {
	switch size {
	case 1:
		return asm.MovSX8
	case 2:
		return asm.MovSX16
	}
	return asm.MovSX32
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// incDec is x++, ++x, x--, --x on a variable or map element.
func (f *fn) incDec(e *syntax.Unary) value {
	d := int64(1)
	if e.Op == "--" {
		d = -1
	}
	switch x := e.X.(type) {
	case *syntax.Var:
		cv := f.info.Vars[x]
		slot := f.vars[cv]
		f.varWritten(cv)
		d *= int64(ptrStep(cv.Type))
		f.loadInt(asm.R0, slot, cv.Type)
		f.emit(asm.Add.Imm(asm.R0, int32(d)))
		f.emit(asm.StoreMem(slot.base, int16(slot.off), asm.R0, bpfint.Size(intSize(cv.Type))))
		if e.Postfix {
			f.emit(asm.Add.Imm(asm.R0, int32(-d)))
			return value{kind: vReg, r: asm.R0, t: cv.Type}
		}
		return value{kind: vMem, m: slot, t: cv.Type}
	case *syntax.MapIndex, *syntax.MapRef:
		if e.Postfix {
			return f.mapIncDec(e, oldValue)
		}
		return f.mapIncDec(e, newValue)
	}
	f.errorf(e.Pos(), "%s needs a variable or a map element", e.Op)
	return value{}
}
