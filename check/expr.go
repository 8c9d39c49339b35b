package check

import (
	"math"
	"strconv"
	"strings"

	"friday/probe"
	"friday/syntax"
	"friday/types"
)

// expr types e and records the result. A nil result means the type could
// not be determined; an error has then been reported (or was suppressed
// because an operand already failed).
func (b *body) expr(e syntax.Expr) *types.Type {
	if e == nil {
		return nil
	}
	t := b.expr1(e)
	if t != nil {
		b.info.Types[e] = t
	}
	return t
}

// exprStmt types an expression used as a statement, where void calls
// and aggregate misuse are judged differently.
func (b *body) exprStmt(e syntax.Expr) {
	if call, ok := e.(*syntax.Call); ok && aggFuncs[call.Name] && !b.isUserFunc(call.Name) {
		b.rhs(call, "")
		return
	}
	if t := b.expr(e); t != nil && t.Kind != types.Void && warnDiscarded(e) {
		pos := syntax.Start(e)
		b.c.warn(pos, syntax.TokenEnd(b.c.file.Src, pos, true), "Return value discarded.")
	}
}

// warnDiscarded reports whether an expression statement whose value goes
// unused deserves a warning, as newer bpftrace gives: not ++ and --, nor
// delete(), whose result only says whether the key was there, even as the
// value of a block (or of the macro call it expands).
func warnDiscarded(e syntax.Expr) bool {
	switch e := e.(type) {
	case *syntax.BlockExpr:
		return e.Value != nil && warnDiscarded(e.Value)
	case *syntax.Unary:
		return e.Op != "++" && e.Op != "--"
	case *syntax.Call:
		return e.Name != "delete"
	}
	return true
}

// elemType is the type of element x, of type t, in a tuple or record: an
// integer literal takes the smallest integer type that holds it, as
// bpftrace types literals (1 is a uint8, -1 an int8), so that a tuple of
// literals is laid out as bpftrace lays it out.
func (b *body) elemType(x syntax.Expr, t *types.Type) *types.Type {
	if !b.literal(x) || !isInt(t) {
		return valueType(t)
	}
	v := b.info.Consts[x].Int
	for _, size := range []int{1, 2, 4, 8} {
		nt := types.IntOf(size, v < 0)
		if fits(v, !t.Signed, nt) {
			return nt
		}
	}
	return t
}

func (b *body) setConst(e syntax.Expr, v int64) {
	b.info.Consts[e] = Const{Int: v}
}

func (b *body) expr1(e syntax.Expr) *types.Type {
	switch e := e.(type) {
	case *syntax.IntLit:
		b.setConst(e, int64(e.Value))
		return constType(int64(e.Value), e.Value > math.MaxInt64)
	case *syntax.StrLit:
		b.info.Consts[e] = Const{Str: e.Value, IsStr: true}
		return types.StringOf(len(e.Value) + 1)
	case *syntax.BoolLit:
		v := int64(0)
		if e.Value {
			v = 1
		}
		b.setConst(e, v)
		return types.BoolT
	case *syntax.PosParam:
		return b.posParam(e)
	case *syntax.Var:
		return b.varRef(e)
	case *syntax.MapRef:
		return b.mapRead(e, nil)
	case *syntax.MapIndex:
		return b.mapRead(e.Map, e.Keys)
	case *syntax.Ident:
		return b.ident(e)
	case *syntax.Call:
		return b.call(e)
	case *syntax.Unary:
		return b.unary(e)
	case *syntax.Binary:
		return b.binary(e)
	case *syntax.Ternary:
		return b.ternary(e)
	case *syntax.Field:
		return b.field(e)
	case *syntax.Index:
		return b.index(e)
	case *syntax.Cast:
		return b.cast(e)
	case *syntax.Tuple:
		elems := make([]*types.Type, len(e.Elems))
		for i, x := range e.Elems {
			t := b.expr(x)
			if t == nil {
				return nil
			}
			if !b.storable(t, x, "a tuple") {
				return nil
			}
			elems[i] = b.elemType(x, t)
		}
		return types.TupleOf(elems...)
	case *syntax.Record:
		elems := make([]*types.Type, len(e.Values))
		seen := map[string]bool{}
		for i, x := range e.Values {
			if seen[e.Names[i]] {
				b.errorf(x.Pos(), "Duplicate field name in record: %s", e.Names[i])
			}
			seen[e.Names[i]] = true
			t := b.expr(x)
			if t == nil {
				return nil
			}
			if !b.storable(t, x, "a record") {
				return nil
			}
			elems[i] = b.elemType(x, t)
		}
		return types.RecordOf(e.Names, elems)
	case *syntax.BlockExpr:
		b.push()
		defer b.pop()
		b.stmts(e.Stmts)
		if e.Value == nil {
			return types.VoidT
		}
		t := b.expr(e.Value)
		if c, ok := b.info.Consts[e.Value]; ok && len(e.Stmts) == 0 {
			b.info.Consts[e] = c
		}
		return t
	case *syntax.Sizeof:
		return b.sizeof(e)
	case *syntax.Offsetof:
		return b.offsetof(e)
	case *syntax.TypeExpr:
		b.errorf(e.Pos(), "A type (%s) cannot be used as a value", e.Name)
		return nil
	}
	b.errorf(e.Pos(), "unsupported expression")
	return nil
}

func (b *body) posParam(e *syntax.PosParam) *types.Type {
	params := b.c.opts.Params
	if e.Count {
		b.setConst(e, int64(len(params)))
		return constType(int64(len(params)), false)
	}
	if e.N < 1 || e.N > len(params) {
		// A missing parameter reads as 0 (or "" where a string is wanted).
		b.setConst(e, 0)
		return constType(0, false)
	}
	s := params[e.N-1]
	// Decimal, hexadecimal with 0x, or octal with a leading 0, as
	// bpftrace reads numbers given on the command line.
	base, digits := 10, s
	if rest, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		base, digits = 16, rest
	} else if len(s) > 1 && s[0] == '0' {
		if _, err := strconv.ParseUint(s[1:], 8, 64); err == nil {
			base, digits = 8, s[1:]
		}
	}
	if v, err := strconv.ParseInt(digits, base, 64); err == nil {
		b.setConst(e, v)
		return constType(v, false)
	}
	if v, err := strconv.ParseUint(digits, base, 64); err == nil {
		b.setConst(e, int64(v))
		return types.U64
	}
	b.info.Consts[e] = Const{Str: s, IsStr: true}
	return types.StringOf(len(s) + 1)
}

func (b *body) varRef(e *syntax.Var) *types.Type {
	v := b.lookup(e.Name)
	if v == nil {
		if !b.unknown[e.Name] {
			b.errorf(e.Pos(), "Undefined or undeclared variable: %s", displayName(e.Name))
		}
		return nil
	}
	b.info.Vars[e] = v
	if v.Type == nil || b.unset[v] {
		if !b.unknown[e.Name] {
			b.errorf(e.Pos(), "Variable used before it was assigned: %s", v.Name)
		}
		return nil
	}
	return v.Type
}

func (b *body) mapRead(ref *syntax.MapRef, keys []syntax.Expr) *types.Type {
	m := b.c.maps[ref.Name]
	if m != nil {
		b.info.Maps[ref] = m
	}
	var kt *types.Type
	kok := true
	if keys != nil || (m != nil && m.keySet) {
		if m == nil {
			m = b.c.useMap(ref.Name, ref.Pos())
			b.info.Maps[ref] = m
		}
		kt, kok = b.keyType(m, keys, ref.Pos())
	}
	if m == nil || m.Value == nil {
		b.c.noteRead(ref.Name, ref.Pos())
		return nil
	}
	if kok && m.keySet {
		if (m.Key == nil) != (kt == nil) {
			if kt == nil {
				b.errorf(ref.Pos(), "%s used as a map without an explicit key (scalar map), previously used with an explicit key (non-scalar map)", m.Name)
			} else {
				b.errorf(ref.Pos(), "%s used as a map with an explicit key (non-scalar map), previously used without an explicit key (scalar map)", m.Name)
			}
			return nil
		}
		if kt != nil && merge(m.Key, kt, false) == nil {
			b.errorf(ref.Pos(), "Argument mismatch for %s: trying to access with arguments: '%s' when map expects arguments: '%s'", m.Name, kt, m.Key)
			return nil
		}
	}
	return m.Value
}

func (b *body) unary(e *syntax.Unary) *types.Type {
	switch e.Op {
	case "++", "--":
		return b.incdec(e)
	case "&":
		return b.addrOf(e)
	}
	t := b.expr(e.X)
	if t == nil {
		return nil
	}
	c, isConst := b.info.Consts[e.X]
	switch e.Op {
	case "-":
		if !isIntegral(t) {
			b.errorf(e.Pos(), "The - operator can not be used on expressions of type '%s'", t)
			return nil
		}
		if isConst && !c.IsStr {
			b.setConst(e, -c.Int)
			return constType(-c.Int, false)
		}
		return types.I64
	case "~":
		if !isIntegral(t) {
			b.errorf(e.Pos(), "The ~ operator can not be used on expressions of type '%s'", t)
			return nil
		}
		r := types.IntOf(8, isSigned(t))
		if isConst && !c.IsStr {
			b.setConst(e, ^c.Int)
		}
		return r
	case "!":
		if !isScalar(t) {
			b.errorf(e.Pos(), "The ! operator can not be used on expressions of type '%s'", t)
			return nil
		}
		if isConst && !c.IsStr {
			v := int64(0)
			if c.Int == 0 {
				v = 1
			}
			b.setConst(e, v)
		}
		return types.BoolT
	case "*":
		switch {
		case isPtr(t):
			if t.Elem.Kind == types.Void {
				b.errorf(e.Pos(), "Can not dereference a void pointer (%s): cast it first", t)
				return nil
			}
			return t.Elem.Complete()
		case isInt(t):
			// bpftrace reads 8 bytes from an integer address.
			return types.I64
		}
		if t.Kind == types.Struct {
			b.errorf(e.Pos(), "Can not dereference struct/union of type '%s'. It is not a pointer.", t)
		} else {
			b.errorf(e.Pos(), "The * operator can not be used on expressions of type '%s'", t)
		}
		return nil
	}
	b.errorf(e.Pos(), "Unknown unary operator %s", e.Op)
	return nil
}

// addrOf accepts &x where x lives in memory: a field or element reached
// through a pointer, or a scratch variable of any type.
func (b *body) addrOf(e *syntax.Unary) *types.Type {
	if ref, ok := e.X.(*syntax.MapRef); ok {
		// The map itself, for the functions that take one (__has_key).
		b.mapArg(ref)
		return types.PointerTo(types.VoidT)
	}
	t := b.expr(e.X)
	if t == nil {
		return nil
	}
	switch e.X.(type) {
	case *syntax.Field, *syntax.Index:
		return types.PointerTo(t)
	case *syntax.Unary:
		if u := e.X.(*syntax.Unary); u.Op == "*" {
			return types.PointerTo(t)
		}
	case *syntax.Var:
		if t.Kind != types.Void {
			return types.PointerTo(t)
		}
	case *syntax.MapIndex:
		b.errorf(e.Pos(), "Can not take the address of a map element: copy the value to a scratch variable first")
		return nil
	}
	b.errorf(e.Pos(), "Can not take the address of this expression")
	return nil
}

func (b *body) incdec(e *syntax.Unary) *types.Type {
	switch x := e.X.(type) {
	case *syntax.Var:
		t := b.expr(x)
		if t == nil {
			return nil
		}
		if t.Kind != types.Int && !isPtr(t) {
			b.c.errorNode(e, "The %s operator can not be used on expressions of type '%s'", e.Op, t)
			return nil
		}
		steps(t)
		return t
	case *syntax.MapRef, *syntax.MapIndex:
		var ref *syntax.MapRef
		var keys []syntax.Expr
		if mi, ok := x.(*syntax.MapIndex); ok {
			ref, keys = mi.Map, mi.Keys
		} else {
			ref = x.(*syntax.MapRef)
		}
		m := b.c.useMap(ref.Name, ref.Pos())
		b.info.Maps[ref] = m
		if keys != nil {
			kt, ok := b.keyType(m, keys, ref.Pos())
			if ok {
				b.c.setKey(m, kt, ref.Pos())
			}
		} else {
			b.c.setKey(m, nil, ref.Pos())
		}
		if m.Value == nil {
			b.c.mapSign[m.Name] = 2
			b.c.setValue(m, types.I64, e.Pos())
		}
		if m.Value.Kind != types.Int && !isPtr(m.Value) {
			b.c.errorNode(e, "The %s operator can not be used on expressions of type '%s'", e.Op, m.Value)
			return nil
		}
		steps(m.Value)
		b.info.Types[x] = m.Value
		return m.Value
	}
	b.c.errorNode(e, "The %s operator can only be used on scratch variables and maps", e.Op)
	return nil
}

// steps completes the pointee of a pointer that arithmetic moves: it moves
// by the pointee's size, which a struct converted lazily knows only then.
func steps(t *types.Type) {
	if isPtr(t) {
		t.Elem.Complete()
	}
}

var arithOps = map[string]bool{"+": true, "-": true, "*": true, "/": true, "%": true,
	"&": true, "|": true, "^": true, "<<": true, ">>": true}
var cmpOps = map[string]bool{"==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}

func (b *body) binary(e *syntax.Binary) *types.Type {
	lt := b.expr(e.X)
	rt := b.expr(e.Y)
	if lt == nil || rt == nil {
		return nil
	}
	lc, lconst := b.info.Consts[e.X]
	rc, rconst := b.info.Consts[e.Y]
	switch {
	case e.Op == "&&" || e.Op == "||":
		for _, p := range []struct {
			t *types.Type
			x syntax.Expr
		}{{lt, e.X}, {rt, e.Y}} {
			if !isScalar(p.t) {
				b.errorf(p.x.Pos(), "Invalid type for %s: %s", e.Op, p.t)
				return nil
			}
		}
		// The left operand decides alone when it is false for && or true
		// for ||: the right one is not evaluated.
		and := e.Op == "&&"
		switch {
		case lconst && !lc.IsStr && (lc.Int != 0) != and:
			b.setConst(e, boolInt(!and))
		case lconst && !lc.IsStr && rconst && !rc.IsStr:
			b.setConst(e, boolInt(rc.Int != 0))
		}
		return types.BoolT
	case cmpOps[e.Op]:
		return b.compare(e, lt, rt)
	case arithOps[e.Op]:
	default:
		b.c.errorNode(e, "Unknown operator %s", e.Op)
		return nil
	}
	// Pointer arithmetic.
	if isPtr(lt) || isPtr(rt) {
		steps(lt)
		steps(rt)
		switch {
		case isPtr(lt) && isIntegral(rt) && (e.Op == "+" || e.Op == "-"):
			return lt
		case isPtr(rt) && isIntegral(lt) && e.Op == "+":
			return rt
		case isPtr(lt) && isPtr(rt) && e.Op == "-":
			return types.I64
		}
		b.c.errorNode(e, "The %s operator can not be used on expressions of types %s, %s", e.Op, lt, rt)
		return nil
	}
	if !isIntegral(lt) || !isIntegral(rt) {
		b.c.errorNode(e, "Type mismatch for '%s': comparing '%s' with '%s'", e.Op, lt, rt)
		return nil
	}
	lsigned, rsigned := isSigned(lt) || lt.Kind == types.Bool, isSigned(rt) || rt.Kind == types.Bool
	// A constant takes the signedness of the other operand.
	switch {
	case lconst && !rconst:
		lsigned = rsigned
	case rconst && !lconst:
		rsigned = lsigned
	case lconst && rconst:
		// Constants fold as 64-bit values, unsigned when either is an
		// unsigned integer (a cast, or a literal above MaxInt64), as C does.
		lsigned, rsigned = foldsSigned(lt), foldsSigned(rt)
	}
	signed := lsigned && rsigned
	if lconst && rconst && !lc.IsStr && !rc.IsStr {
		if v, ok := foldArith(e.Op, lc.Int, rc.Int, signed); ok {
			b.setConst(e, v)
			return constType(v, !signed)
		}
		if e.Op == "/" || e.Op == "%" {
			b.divZero(e.Y)
			b.setConst(e, 1)
			return constType(1, !signed)
		}
	}
	if (e.Op == "/" || e.Op == "%") && rconst && rc.Int == 0 {
		b.divZero(e.Y)
	}
	return types.IntOf(8, signed)
}

// DivZeroWarning is what a division or modulo by zero yields a warning
// about, when the script is compiled or, for a divisor known only then,
// when it runs: the result is 1, as in bpftrace.
const DivZeroWarning = "Divide or modulo by 0 detected. This can lead to unexpected results. 1 is being used as the result."

func (b *body) divZero(y syntax.Expr) {
	pos := syntax.Start(y)
	b.c.warn(pos, syntax.TokenEnd(b.c.file.Src, pos, true), DivZeroWarning)
}

// foldsSigned reports whether a constant of type t leaves folded arithmetic
// signed: only an unsigned integer type makes it unsigned, as in C.
func foldsSigned(t *types.Type) bool {
	return t.Kind != types.Int || t.Signed
}

func boolInt(v bool) int64 {
	if v {
		return 1
	}
	return 0
}

func foldArith(op string, l, r int64, signed bool) (int64, bool) {
	switch op {
	case "+":
		return l + r, true
	case "-":
		return l - r, true
	case "*":
		return l * r, true
	case "/":
		if r == 0 {
			return 0, false
		}
		if signed {
			return l / r, true
		}
		return int64(uint64(l) / uint64(r)), true
	case "%":
		if r == 0 {
			return 0, false
		}
		if signed {
			return l % r, true
		}
		return int64(uint64(l) % uint64(r)), true
	case "&":
		return l & r, true
	case "|":
		return l | r, true
	case "^":
		return l ^ r, true
	case "<<":
		return l << uint64(r&63), true
	case ">>":
		if signed {
			return l >> uint64(r&63), true
		}
		return int64(uint64(l) >> uint64(r&63)), true
	}
	return 0, false
}

func (b *body) compare(e *syntax.Binary, lt, rt *types.Type) *types.Type {
	lc, lconst := b.info.Consts[e.X]
	rc, rconst := b.info.Consts[e.Y]
	switch {
	case isScalar(lt) && isScalar(rt):
		if lconst && rconst && !lc.IsStr && !rc.IsStr {
			signed := foldsSigned(lt) && foldsSigned(rt)
			b.setConst(e, boolInt(cmpInts(e.Op, lc.Int, rc.Int, signed)))
		}
		return types.BoolT
	case stringLike(lt) && stringLike(rt):
		if e.Op != "==" && e.Op != "!=" {
			b.c.errorNode(e, "The %s operator can not be used on expressions of types %s, %s", e.Op, lt, rt)
			return nil
		}
		if lconst && rconst && lc.IsStr && rc.IsStr {
			b.setConst(e, boolInt((lc.Str == rc.Str) == (e.Op == "==")))
		}
		return types.BoolT
	case (lt.Kind == types.Array || lt.Kind == types.Tuple || lt.Kind == types.Buffer) && types.Equal(lt, rt),
		lt.Kind == types.Buffer && rt.Kind == types.Buffer:
		// Buffers of two sizes compare as bpftrace's do: their lengths
		// first, then the data the shorter one has room for.
		if e.Op != "==" && e.Op != "!=" {
			if lt.Kind == types.Array {
				b.c.errorNode(e, "The %s operator cannot be used on arrays.", e.Op)
			} else {
				b.c.errorNode(e, "The %s operator can not be used on expressions of types %s, %s", e.Op, lt, rt)
			}
			return nil
		}
		return types.BoolT
	}
	if printedOnly(lt) && stringLike(rt) || printedOnly(rt) && stringLike(lt) {
		pt := lt
		if !printedOnly(pt) {
			pt = rt
		}
		b.c.errorNode(e, "Type mismatch for '%s': comparing %s with %s (%s values become text only when printed)", e.Op, lt, rt, pt)
		return nil
	}
	b.c.errorNode(e, "Type mismatch for '%s': comparing %s with %s", e.Op, lt, rt)
	return nil
}

// printedOnly says whether values of t are numbers that output turns into
// text, such as strerror()'s.
func printedOnly(t *types.Type) bool {
	switch t.Kind {
	case types.Strerror, types.Syscall, types.Signal, types.Ksym, types.Usym, types.Username, types.CgroupPath, types.Timestamp:
		return true
	}
	return false
}

// stringLike: strings, and char arrays and pointers compared as strings.
func stringLike(t *types.Type) bool {
	switch t.Kind {
	case types.String:
		return true
	case types.Array:
		return t.Elem.Kind == types.Int && t.Elem.Size == 1
	}
	return false
}

func cmpInts(op string, l, r int64, signed bool) bool {
	if !signed {
		ul, ur := uint64(l), uint64(r)
		switch op {
		case "<":
			return ul < ur
		case "<=":
			return ul <= ur
		case ">":
			return ul > ur
		case ">=":
			return ul >= ur
		}
	}
	switch op {
	case "==":
		return l == r
	case "!=":
		return l != r
	case "<":
		return l < r
	case "<=":
		return l <= r
	case ">":
		return l > r
	}
	return l >= r
}

func (b *body) ternary(e *syntax.Ternary) *types.Type {
	ct := b.expr(e.Cond)
	then, tt := e.Then, ct
	if then == nil {
		then = e.Cond
	} else {
		tt = b.expr(then)
	}
	et := b.expr(e.Else)
	if ct != nil && !isScalar(ct) {
		b.errorf(e.Cond.Pos(), "Invalid condition: %s", ct)
	}
	if tt == nil || et == nil {
		return nil
	}
	if c, ok := b.info.Consts[e.Cond]; ok && !c.IsStr {
		pick := e.Else
		if c.Int != 0 {
			pick = then
		}
		if v, ok := b.info.Consts[pick]; ok {
			b.info.Consts[e] = v
		}
	}
	switch {
	case isIntegral(tt) && isIntegral(et):
		a, c := intOf(valueType(tt)), intOf(valueType(et))
		if b.isConst(then) && !b.isConst(e.Else) {
			return types.IntOf(8, c.Signed)
		}
		if b.isConst(e.Else) && !b.isConst(then) {
			return types.IntOf(8, a.Signed)
		}
		u := unifyInts(a, c)
		if u == nil {
			u = types.I64
		}
		if b.isConst(e) {
			return u
		}
		return types.IntOf(8, u.Signed)
	case tt.Kind == types.String && et.Kind == types.String:
		if tt.Size >= et.Size {
			return tt
		}
		return et
	case tt.Kind == types.Void && et.Kind == types.Void:
		return types.VoidT
	}
	if m := merge(tt, et, true); m != nil {
		return m
	}
	b.c.errorNode(e, "Branches must return the same type: have '%s' and '%s'", tt, et)
	return nil
}

func (b *body) field(e *syntax.Field) *types.Type {
	if b.isConfig(e.X) {
		return b.configField(e)
	}
	t := b.expr(e.X)
	if t == nil {
		return nil
	}
	st := t
	if isPtr(st) {
		st = st.Elem.Complete()
	}
	switch st.Kind {
	case types.Struct:
		if len(st.Fields) == 0 && st.Size == 0 {
			b.c.errorNode(e, "Incomplete type %s: its fields are unknown", st.Name)
			return nil
		}
		f, ok := st.Field(e.Name)
		if !ok {
			if id, isIdent := e.X.(*syntax.Ident); isIdent && id.Name == "args" && probe.IsCommonField(e.Name) {
				b.c.errorNode(e, "Tracepoint field %s can not be read: use the builtins (pid, tid, ...) instead", e.Name)
				return nil
			}
			b.c.errorNode(e, "Struct/union of type '%s' does not contain a field named '%s'", st.Name, e.Name)
			return nil
		}
		ft := f.Type
		if f.DataLoc && ft.Kind == types.String && ft.Size == 0 {
			// The length of a __data_loc string is known only at run time.
			ft = types.StringOf(b.c.maxStr)
		}
		if t.User && ft.Kind == types.Pointer {
			ft = userPtr(ft)
		}
		return ft
	case types.Tuple, types.Record:
		if isPtr(t) {
			break
		}
		f, ok := st.Field(e.Name)
		if !ok {
			if st.Kind == types.Tuple {
				b.c.errorNode(e, "Invalid tuple index: %s. Found %d elements in tuple.", e.Name, len(st.Fields))
			} else {
				b.c.errorNode(e, "Record does not contain a field named '%s'", e.Name)
			}
			return nil
		}
		return f.Type
	}
	b.c.errorNode(e, "Can not access field '%s' on expression of type '%s'", e.Name, t)
	return nil
}

func (b *body) index(e *syntax.Index) *types.Type {
	t := b.expr(e.X)
	it := b.expr(e.Index)
	if t == nil || it == nil {
		return nil
	}
	if !isIntegral(it) {
		b.errorf(e.Index.Pos(), "The array index operator [] only accepts positive (unsigned) integer indices. Got: %s", it)
		return nil
	}
	c, isConst := b.info.Consts[e.Index]
	switch t.Kind {
	case types.Array:
		if isConst && t.Len > 0 && (c.Int < 0 || c.Int >= int64(t.Len)) {
			b.errorf(e.Index.Pos(), "the index %d is out of bounds for array of size %d", c.Int, t.Len)
			return nil
		}
		return t.Elem
	case types.Pointer:
		if t.Elem.Kind == types.Void {
			b.c.errorNode(e, "The array index operator [] cannot be used on a pointer to an unsized type (void *).")
			return nil
		}
		return t.Elem.Complete()
	case types.String:
		if isConst && (c.Int < 0 || c.Int >= int64(t.Size)) {
			b.errorf(e.Index.Pos(), "the index %d is out of bounds for array of size %d", c.Int, t.Size)
			return nil
		}
		// "/"[0] is a character constant, which the language lacks.
		if s, ok := b.info.Consts[e.X]; ok && s.IsStr && isConst {
			ch := int64(0)
			if c.Int < int64(len(s.Str)) {
				ch = int64(int8(s.Str[c.Int]))
			}
			b.setConst(e, ch)
		}
		return types.I8
	case types.Tuple, types.Record:
		if !isConst {
			b.errorf(e.Index.Pos(), "Tuple index must be a constant")
			return nil
		}
		if c.Int < 0 || c.Int >= int64(len(t.Fields)) {
			b.errorf(e.Index.Pos(), "Invalid tuple index: %d. Found %d elements in tuple.", c.Int, len(t.Fields))
			return nil
		}
		return t.Fields[c.Int].Type
	}
	b.c.errorNode(e, "The array index operator [] can only be used on arrays and pointers, found %s.", t)
	return nil
}

// userPtr marks a pointer (and pointers it leads to) as pointing into user
// memory.
func userPtr(t *types.Type) *types.Type {
	if t == nil || t.Kind != types.Pointer || t.User {
		return t
	}
	p := *t
	p.User = true
	p.Elem = userPtr(t.Elem)
	return &p
}

// userSpace reports whether pointers made in this body point into user
// memory by default.
func (b *body) userSpace() bool {
	if len(b.provs) == 0 {
		return false
	}
	for _, p := range b.provs {
		switch p {
		case "uprobe", "uretprobe", "usdt":
		default:
			return false
		}
	}
	return true
}

func (b *body) cast(e *syntax.Cast) *types.Type {
	to := b.resolveType(e.Type, true)
	from := b.expr(e.X)
	if to == nil || from == nil {
		return nil
	}
	c, isConst := b.info.Consts[e.X]
	switch to.Kind {
	case types.Int, types.Bool:
		if from.Kind == types.Array && from.Elem.Kind == types.Int && to.Kind == types.Int {
			if from.Size != to.Size {
				b.errorf(e.Pos(), "Cannot cast from \"%s\" to \"%s\" (sizes differ)", from, to)
				return nil
			}
			return to
		}
		if !isScalar(from) && from.Kind != types.Ksym && from.Kind != types.Usym {
			b.errorf(e.Pos(), "Cannot cast from \"%s\" to \"%s\"", from, to)
			return nil
		}
		if isConst && !c.IsStr {
			b.setConst(e, truncate(c.Int, to))
		}
		return to
	case types.Pointer:
		if !isInt(from) && !isPtr(from) && from.Kind != types.Enum {
			b.errorf(e.Pos(), "Cannot cast from \"%s\" to \"%s\"", from, to)
			return nil
		}
		if b.userSpace() || (isPtr(from) && from.User) {
			to = userPtr(to)
		}
		return to
	case types.Array:
		if to.Elem.Kind != types.Int {
			b.errorf(e.Pos(), "Cannot cast from \"%s\" to \"%s\" (only integer arrays are supported)", from, to)
			return nil
		}
		// A string's bytes may be seen as an array of bytes, as bpftrace
		// lets a char array that became a string be cast back.
		byteString := from.Kind == types.String && to.Elem.Size == 1
		if from.Kind != types.Int && !(from.Kind == types.Array && from.Elem.Kind == types.Int) && !byteString {
			b.errorf(e.Pos(), "Cannot cast from \"%s\" to \"%s\"", from, to)
			return nil
		}
		if _, isCast := e.X.(*syntax.Cast); isConst && !isCast && from.Kind == types.Int {
			// An integer literal is a 64-bit value here, as in bpftrace.
			from = types.IntOf(8, from.Signed)
		}
		if to.Len < 0 {
			if from.Size%to.Elem.Size != 0 {
				b.errorf(e.Pos(), "Cannot cast from \"%s\" to \"%s\"", from, to)
				return nil
			}
			to = types.ArrayOf(to.Elem, from.Size/to.Elem.Size)
		}
		if to.Size != from.Size {
			b.errorf(e.Pos(), "Cannot cast from \"%s\" to \"%s\" (sizes differ)", from, to)
			return nil
		}
		return to
	case types.Enum:
		if !isIntegral(from) {
			b.errorf(e.Pos(), "Cannot cast from \"%s\" to \"%s\"", from, to)
			return nil
		}
		return to
	case types.String:
		// A string of another capacity: a shorter one keeps the first
		// bytes, cut as str() cuts a string too long for it.
		if from.Kind != types.String {
			b.errorf(e.Pos(), "Cannot cast from \"%s\" to \"%s\"", from, to)
			return nil
		}
		if isConst && c.IsStr {
			if len(c.Str)+1 > to.Size {
				b.errorf(e.Pos(), "Cannot cast from \"%s\" to \"%s\": the string literal does not fit", from, to)
				return nil
			}
			b.info.Consts[e] = c
		}
		return to
	}
	b.errorf(e.Pos(), "Cannot cast from \"%s\" to \"%s\"", from, to)
	return nil
}

// truncate converts constant v to integer type t as a cast does.
func truncate(v int64, t *types.Type) int64 {
	if t.Kind == types.Bool {
		return boolInt(v != 0)
	}
	bits := uint(t.Size * 8)
	if bits >= 64 {
		return v
	}
	u := uint64(v) & (1<<bits - 1)
	if t.Signed && u&(1<<(bits-1)) != 0 {
		return int64(u) - 1<<bits
	}
	return int64(u)
}

// typeNamed returns the type an identifier names when it is a type name
// rather than a value (sizeof(pair_t) where pair_t is a typedef).
func (b *body) typeNamed(e syntax.Expr) *types.Type {
	id, ok := e.(*syntax.Ident)
	if !ok || b.lookupValueIdent(id.Name) {
		return nil
	}
	if t := b.c.ctypes[id.Name]; t != nil {
		return t
	}
	if t := intNames[id.Name]; t != nil {
		return t
	}
	return b.c.btf.typedef(id.Name)
}

// lookupValueIdent reports whether name is a builtin value.
func (b *body) lookupValueIdent(name string) bool {
	_, ok := builtins[name]
	return ok || argRe.MatchString(name)
}

// resolveType is the checker's resolveType, which also takes
// typeof(expr) here: the type of the expression, never evaluated.
func (b *body) resolveType(te *syntax.TypeExpr, unsized bool) *types.Type {
	if te.Of == nil {
		return b.c.resolveType(te, unsized)
	}
	t := b.expr(te.Of)
	if t == nil {
		return nil
	}
	t = valueType(t)
	for range te.Ptr {
		t = types.PointerTo(t)
	}
	if te.Array > 0 {
		t = types.ArrayOf(t, te.Array)
	}
	return t
}

// typeOrExpr is the type sizeof and offsetof measure: the type written,
// the type x names, or else the type of expression x.
func (b *body) typeOrExpr(te *syntax.TypeExpr, x syntax.Expr) *types.Type {
	switch {
	case te != nil:
		return b.resolveType(te, false)
	case b.typeNamed(x) != nil:
		return b.typeNamed(x)
	}
	return b.expr(x)
}

func (b *body) sizeof(e *syntax.Sizeof) *types.Type {
	t := b.typeOrExpr(e.Type, e.X)
	if t == nil {
		return nil
	}
	if t.Kind == types.Void && e.Type != nil {
		b.errorf(e.Pos(), "sizeof(void) is not allowed")
		return nil
	}
	size := t.Size
	if e.Type == nil && t.Kind == types.Int {
		// As bpftrace types them: an integer variable or literal may be
		// narrower than the 64 bits it takes here.
		size = b.intWidth(e.X, t)
		if ref, ok := e.X.(*syntax.Var); ok {
			if v := b.info.Vars[ref]; v != nil && v.width > 0 && !v.fixed {
				size = v.width
			}
		}
	}
	b.setConst(e, int64(size))
	return types.U64
}

func (b *body) offsetof(e *syntax.Offsetof) *types.Type {
	t := b.typeOrExpr(e.Type, e.X)
	if t == nil {
		return nil
	}
	off := 0
	for _, name := range e.Field {
		if t.Kind != types.Struct && t.Kind != types.Tuple && t.Kind != types.Record {
			b.errorf(e.Pos(), "offsetof() requires a struct type, not %s", t)
			return nil
		}
		f, ok := t.Field(name)
		if !ok {
			b.errorf(e.Pos(), "Struct/union of type '%s' does not contain a field named '%s'", t, name)
			return nil
		}
		off += f.Offset
		t = f.Type
	}
	b.setConst(e, int64(off))
	return types.U64
}
