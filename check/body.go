package check

import (
	"fmt"
	"strings"

	"friday/probe"
	"friday/syntax"
	"friday/types"
)

// body is the state of checking one probe body (for one group of points)
// or one function body.
type body struct {
	c      *checker
	info   *Info
	points []*probe.Point
	provs  []string // distinct providers of points
	scope  *scope
	fn     *Func
	loops  int
	calls  map[string]bool // user functions called (recursion check)
	// unknown marks variables whose value had no type because of an
	// earlier error; reads of them are not reported again.
	unknown map[string]bool
	// implicit holds the variables created by a plain assignment. Older
	// bpftrace scoped variables to the whole probe, and scripts written
	// for it assign a variable in both arms of an if and read it after:
	// such a variable stays visible after its block ends. Variables
	// declared with let keep strict block scope.
	implicit map[string]*Var
	// origin is the reference that created each variable, whose final
	// type seeds the variable in the next pass (see checker.seeds).
	origin map[*Var]*syntax.Var
	// unset holds variables declared by let without a value and not yet
	// assigned.
	unset map[*Var]bool
	// group tells apart the bodies checked from one tree (one per group
	// of points), for seeds.
	group int
}

// seedKey names one variable of one checked body across passes.
type seedKey struct {
	ref   *syntax.Var
	group int
}

// seed is what a variable ended a pass with: its type, Var.typed and
// Var.width.
type seed struct {
	t            *types.Type
	typed, width int
}

type scope struct {
	parent *scope
	vars   map[string]*Var
}

func newInfo() *Info {
	return &Info{
		Types:   map[syntax.Expr]*types.Type{},
		Vars:    map[*syntax.Var]*Var{},
		Decls:   map[*syntax.VarDecl]*Var{},
		Calls:   map[syntax.Expr]*Call{},
		Consts:  map[syntax.Expr]Const{},
		Fors:    map[*syntax.ForStmt]*Map{},
		Maps:    map[*syntax.MapRef]*Map{},
		Unrolls: map[*syntax.UnrollStmt]int{},
	}
}

func (c *checker) newBody(points []*probe.Point) *body {
	b := &body{c: c, info: newInfo(), points: points, calls: map[string]bool{},
		unknown: map[string]bool{}, implicit: map[string]*Var{}, origin: map[*Var]*syntax.Var{}, unset: map[*Var]bool{}}
	seen := map[string]bool{}
	for _, p := range points {
		if !seen[p.Provider] {
			seen[p.Provider] = true
			b.provs = append(b.provs, p.Provider)
		}
	}
	b.scope = &scope{vars: map[string]*Var{}}
	return b
}

func (c *checker) checkProbe(p *syntax.Probe, pts []*probe.Point, group int) *Probe {
	b := c.newBody(pts)
	b.group = group
	dead := false
	if p.Pred != nil {
		t := b.expr(p.Pred)
		if t != nil && !isScalar(t) {
			c.errorf(p.Pred.Pos(), "Invalid type for predicate: %s", t)
		}
		// A predicate that options make always false drops the probe:
		// its body is dead code too.
		k, isConst := b.info.Consts[p.Pred]
		dead = c.opts.SkipDead && isConst && !k.IsStr && k.Int == 0
	}
	if p.Body != nil && !dead {
		b.stmts(p.Body.Stmts)
	}
	b.finish()
	return &Probe{Syntax: p, Points: pts, Info: b.info}
}

func (c *checker) checkFunc(fd *syntax.FuncDecl) {
	f := c.funcs[fd.Name]
	if f == nil {
		return
	}
	f.Syntax = fd
	b := c.newBody(nil)
	b.fn = f
	b.group = -1
	for _, p := range f.Params {
		b.scope.vars[p.Name] = p
	}
	if fd.Body != nil {
		b.stmts(fd.Body.Stmts)
		if f.Result != nil && f.Result.Kind != types.Void && !endsWithReturn(fd.Body.Stmts) {
			c.errorf(fd.Pos(), "Function %s must return a value of type %s on every path", fd.Name, f.Result)
		}
	}
	if b.calls[fd.Name] || c.reaches(fd.Name) {
		c.errorf(fd.Pos(), "Recursive function call: %s (recursion is not supported)", fd.Name)
	}
	b.finish()
	f.Info = b.info
}

// reaches reports whether function name can call itself through other
// functions.
func (c *checker) reaches(name string) bool {
	seen := map[string]bool{}
	var visit func(string) bool
	visit = func(n string) bool {
		fd := c.fdecls[n]
		if fd == nil || seen[n] {
			return false
		}
		seen[n] = true
		found := false
		inspect(fd.Body, func(node syntax.Node) bool {
			if call, ok := node.(*syntax.Call); ok {
				if call.Name == name || visit(call.Name) {
					found = true
				}
			}
			return !found
		})
		return found
	}
	return visit(name)
}

func endsWithReturn(stmts []syntax.Stmt) bool {
	if len(stmts) == 0 {
		return false
	}
	switch s := stmts[len(stmts)-1].(type) {
	case *syntax.JumpStmt:
		return s.Kind == "return"
	case *syntax.IfStmt:
		return ifReturns(s)
	case *syntax.Block:
		return endsWithReturn(s.Stmts)
	}
	return false
}

func ifReturns(s *syntax.IfStmt) bool {
	if s.Then == nil || !endsWithReturn(s.Then.Stmts) {
		return false
	}
	switch e := s.Else.(type) {
	case *syntax.Block:
		return endsWithReturn(e.Stmts)
	case *syntax.IfStmt:
		return ifReturns(e)
	}
	return false
}

// finish gives every variable reference the variable's final type: a
// variable's integer type may widen after an earlier read was typed.
func (b *body) finish() {
	// "let $x;" with neither a type nor any assignment: nothing ever
	// reads its value, and it needs a type to get a slot.
	for v := range b.unset {
		if v.Type == nil {
			v.Type = types.I64
		}
	}
	for ref, v := range b.info.Vars {
		if v.Type != nil {
			b.info.Types[ref] = v.Type
		}
	}
	for v, ref := range b.origin {
		if v.Type != nil {
			b.c.seeds[seedKey{ref, b.group}] = seed{v.Type, v.typed, v.width}
		}
	}
}

// newVar creates a variable first written at ref. A variable whose type
// widened in an earlier pass starts with that wider type, so that every
// read of it is typed alike.
func (b *body) newVar(ref *syntax.Var) *Var {
	sd := b.c.seeds[seedKey{ref, b.group}]
	v := &Var{Name: displayName(ref.Name), Pos: ref.Pos(), Type: sd.t, typed: sd.typed, width: sd.width}
	v.seeded = v.Type != nil
	b.origin[v] = ref
	return v
}

func (b *body) errorf(pos syntax.Pos, format string, args ...any) {
	b.c.errorf(pos, format, args...)
}

// errorSpan reports an error about the text from pos to end.
func (b *body) errorSpan(pos, end syntax.Pos, format string, args ...any) {
	if !b.c.silent {
		b.c.errs.addSpan(pos, end, format, args...)
	}
}

func (b *body) push() { b.scope = &scope{parent: b.scope, vars: map[string]*Var{}} }
func (b *body) pop()  { b.scope = b.scope.parent }

func (b *body) lookup(name string) *Var {
	for s := b.scope; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v
		}
	}
	v := b.implicit[name]
	if v != nil {
		v.MayBeUnset = true
	}
	return v
}

func (b *body) stmts(list []syntax.Stmt) {
	for i, s := range list {
		b.stmt(s)
		if i+1 < len(list) {
			if kind := leaves(s); kind != "" {
				// At the jump, as bpftrace; at what follows an if
				// whose arms both leave, which bpftrace does not see.
				pos := list[i+1].Pos()
				if a, ok := list[i+1].(*syntax.AssignStmt); ok {
					pos = syntax.Start(a.LHS)
				}
				if _, ok := s.(*syntax.JumpStmt); ok {
					pos = s.Pos()
				}
				b.c.warn(pos, syntax.TokenEnd(b.c.file.Src, pos, false), "All code after a '"+kind+"' is unreachable.")
			}
		}
	}
}

// leaves is how statement s always leaves its block ("return", "break",
// "continue"), or "" when it may not.
func leaves(s syntax.Stmt) string {
	switch s := s.(type) {
	case *syntax.JumpStmt:
		return s.Kind
	case *syntax.IfStmt:
		if s.Then == nil || s.Else == nil {
			return ""
		}
		if k := leaves(s.Then); k != "" && leaves(s.Else) != "" {
			return k
		}
	case *syntax.Block:
		if len(s.Stmts) > 0 {
			return leaves(s.Stmts[len(s.Stmts)-1])
		}
	}
	return ""
}

func (b *body) block(bl *syntax.Block) {
	if bl == nil {
		return
	}
	b.push()
	b.stmts(bl.Stmts)
	b.pop()
}

func (b *body) stmt(s syntax.Stmt) {
	switch s := s.(type) {
	case *syntax.Block:
		b.block(s)
	case *syntax.ExprStmt:
		b.exprStmt(s.X)
	case *syntax.AssignStmt:
		b.assign(s)
	case *syntax.VarDecl:
		b.varDecl(s)
	case *syntax.IfStmt:
		b.cond(s.Cond, "if")
		c, isConst := b.info.Consts[s.Cond]
		skip := b.c.opts.SkipDead && isConst && !c.IsStr
		if !skip || c.Int != 0 {
			b.block(s.Then)
		}
		if s.Else != nil && (!skip || c.Int == 0) {
			if blk, ok := s.Else.(*syntax.Block); ok {
				b.block(blk)
			} else {
				b.stmt(s.Else)
			}
		}
	case *syntax.WhileStmt:
		b.cond(s.Cond, "while")
		b.loops++
		b.block(s.Body)
		b.loops--
	case *syntax.ForStmt:
		b.forStmt(s)
	case *syntax.UnrollStmt:
		n, ok := b.constInt(s.Count, "unroll")
		if ok {
			// bpftrace underlines "unroll (n)".
			end := s.Rparen
			end.Col++
			switch {
			case n < 1:
				b.errorSpan(s.Pos(), end, "unroll minimum value is 1")
			case n > 100:
				b.errorSpan(s.Pos(), end, "unroll maximum value is 100")
			default:
				b.info.Unrolls[s] = int(n)
			}
		}
		b.block(s.Body)
	case *syntax.JumpStmt:
		b.jump(s)
	case nil:
	default:
		b.errorf(s.Pos(), "unsupported statement")
	}
}

func (b *body) cond(e syntax.Expr, what string) {
	t := b.expr(e)
	if t != nil && !isScalar(t) {
		if what == "if" {
			b.errorf(e.Pos(), "Invalid condition: %s", t)
		} else {
			b.errorf(e.Pos(), "Invalid condition in %s(): %s", what, t)
		}
	}
}

func (b *body) jump(s *syntax.JumpStmt) {
	switch s.Kind {
	case "break", "continue":
		if b.loops == 0 {
			b.errorf(s.Pos(), "'%s' statement is not allowed outside of a loop", s.Kind)
		}
	case "return":
		if b.fn != nil {
			res := b.fn.Result
			if res == nil {
				// The declared result type was invalid (already reported).
				b.expr(s.Value)
				return
			}
			if s.Value == nil {
				if res.Kind != types.Void {
					b.errorf(s.Pos(), "Function %s must return a value of type %s", b.fn.Syntax.Name, res)
				}
				return
			}
			t := b.expr(s.Value)
			if t == nil {
				return
			}
			if res.Kind == types.Void {
				b.errorf(s.Value.Pos(), "Function %s does not return a value", b.fn.Syntax.Name)
				return
			}
			if !b.assignable(res, t, s.Value) {
				b.errorf(s.Value.Pos(), "Function %s is of type %s, cannot return %s", b.fn.Syntax.Name, res, t)
			}
			return
		}
		if s.Value != nil {
			t := b.expr(s.Value)
			if t != nil && !isIntegral(t) {
				b.errorf(s.Value.Pos(), "Probe return values can only be integers. Found %s", t)
			}
		}
	}
}

// assignable reports whether a value of type t (from expression e) may be
// stored where type dst is expected without changing dst.
func (b *body) assignable(dst, t *types.Type, e syntax.Expr) bool {
	if dst == nil || t == nil {
		return true
	}
	if dst.Kind == types.Int && isIntegral(t) {
		if c, ok := b.info.Consts[e]; ok && !c.IsStr {
			return fits(c.Int, !isSigned(t) && c.Int < 0, dst)
		}
		if t.Kind != types.Int {
			return true
		}
		if t.Signed == dst.Signed {
			return t.Size <= dst.Size
		}
		return !t.Signed && t.Size < dst.Size
	}
	if dst.Kind == types.String && t.Kind == types.String {
		return t.Size <= dst.Size || b.isConst(e)
	}
	return merge(dst, t, false) == dst
}

// literal reports whether e is an integer written as a literal (or its
// negation), whose type bends to the variable it is stored in.
func (b *body) literal(e syntax.Expr) bool {
	if u, ok := e.(*syntax.Unary); ok && u.Op == "-" {
		e = u.X
	}
	_, ok := e.(*syntax.IntLit)
	return ok
}

// intWidth is the size bpftrace gives integer value e of type t: a
// literal's is that of the smallest integer holding it, unsigned unless
// negative.
func (b *body) intWidth(e syntax.Expr, t *types.Type) int {
	neg := false
	if u, ok := e.(*syntax.Unary); ok && u.Op == "-" {
		e, neg = u.X, true
	}
	lit, ok := e.(*syntax.IntLit)
	if !ok {
		return t.Size
	}
	for _, size := range []int{1, 2, 4} {
		limit := uint64(1) << (8 * size)
		if neg {
			limit /= 2
			if lit.Value <= limit {
				return size
			}
		} else if lit.Value < limit {
			return size
		}
	}
	return 8
}

func (b *body) isConst(e syntax.Expr) bool {
	_, ok := b.info.Consts[e]
	return ok
}

// valueType is the type a variable gets from a value: aggregate map
// values read into a variable become plain integers.
func valueType(t *types.Type) *types.Type {
	switch t.Kind {
	case types.Count, types.Sum, types.Min, types.Max, types.Avg:
		return types.IntOf(8, t.Signed || t.Kind == types.Avg)
	}
	return t
}

func (b *body) varDecl(s *syntax.VarDecl) {
	if s.Var == nil {
		return
	}
	name := s.Var.Name
	// A let may not shadow a variable of an enclosing block either.
	for sc := b.scope; sc != nil; sc = sc.parent {
		if prev, ok := sc.vars[name]; ok && prev != nil {
			b.errorf(s.Pos(), "Variable %s was already declared. Variable shadowing is not allowed.", displayName(name))
			break
		}
	}
	v := &Var{Name: displayName(name), Pos: s.Var.Pos()}
	if s.Type == nil {
		v = b.newVar(s.Var)
	} else {
		v.Type = b.resolveType(s.Type, false)
		if v.Type == nil {
			b.unknown[name] = true
		} else {
			v.fixed = true
		}
	}
	if s.Value == nil && s.Type == nil {
		b.unset[v] = true
	}
	if s.Value != nil {
		t := b.expr(s.Value)
		switch {
		case t == nil:
			if v.Type == nil {
				b.unknown[name] = true
			}
		case !b.storable(t, s.Value, "a scratch variable"):
			b.unknown[name] = true
		case v.Type == nil:
			v.Type = varType(valueType(t))
		case !b.assignable(v.Type, valueType(t), s.Value):
			b.errorf(s.Value.Pos(), "Type mismatch for %s: trying to assign value of type '%s' when variable already has a type '%s'", v.Name, t, v.Type)
		}
	}
	b.scope.vars[name] = v
	b.info.Vars[s.Var] = v
	b.info.Decls[s] = v
}

// storable reports (and explains) whether a value of type t may be kept in
// what: "a scratch variable", "map @name", "a tuple" or "a record".
func (b *body) storable(t *types.Type, e syntax.Expr, what string) bool {
	switch t.Kind {
	case types.Void, types.Stats, types.Hist, types.Lhist, types.Tseries:
	default:
		return true
	}
	tn := t.String()
	if t.Kind == types.Void {
		tn = "void"
	}
	switch {
	case what == "a tuple" || what == "a record":
		if t.Kind == types.Void {
			b.errorf(e.Pos(), "Invalid expression in %s: %s has no value", what, describe(e))
		} else {
			b.errorf(e.Pos(), "Map type %s cannot exist inside %s.", tn, strings.TrimPrefix(what, "a "))
		}
	case strings.HasPrefix(what, "map "):
		if hint := aggregateHints[t.Kind]; hint != "" {
			name := strings.TrimPrefix(what, "map ")
			b.errorf(e.Pos(), "Map value '%s' cannot be assigned from one map to another. The function that returns this type must be called directly e.g. `%s = %s;`.", tn, name, hint)
		} else {
			b.errorf(e.Pos(), "Not a valid assignment: %s", tn)
		}
	default:
		b.errorf(e.Pos(), "Value '%s' cannot be assigned to a scratch variable.", tn)
	}
	return false
}

// aggregateHints are the calls bpftrace shows for values that only an
// aggregation function gives.
var aggregateHints = map[types.Kind]string{
	types.Hist: "hist(retval)", types.Lhist: "lhist(rand %10, 0, 10, 1)",
	types.Tseries: "tseries(rand %10, 10s, 1)", types.Stats: "stats(arg2)",
}

func describe(e syntax.Expr) string {
	switch e := e.(type) {
	case *syntax.Call:
		return e.Name + "()"
	case *syntax.Ident:
		return e.Name
	case *syntax.BlockExpr:
		// Also an expanded macro call.
		return "the block"
	}
	return "expression"
}

// assignVar stores a value of type t (from e) into variable ref,
// declaring it in the current scope on first assignment.
func (b *body) assignVar(ref *syntax.Var, t *types.Type, e syntax.Expr) {
	v := b.lookup(ref.Name)
	if v == nil {
		v = b.newVar(ref)
		b.scope.vars[ref.Name] = v
		b.implicit[ref.Name] = v
	}
	b.info.Vars[ref] = v
	delete(b.unset, v)
	if t == nil {
		if v.Type == nil {
			b.unknown[ref.Name] = true
		}
		return
	}
	if !b.storable(t, e, "a scratch variable") {
		b.unknown[ref.Name] = true
		return
	}
	vt := valueType(t)
	if vt.Kind == types.Int {
		v.width = max(v.width, b.intWidth(e, vt))
	}
	if v.seeded && v.Type.Kind == types.Int && vt.Kind == types.Int {
		// The first value of this pass: a map read may have a type of
		// its own by now (@m = nsecs; ...; @m = 0 makes @m signed), which
		// the wider seed takes as before.
		v.seeded = false
		if !b.assignable(v.Type, vt, e) {
			v.Type = varType(types.IntOf(8, v.Type.Signed && vt.Signed))
		}
		return
	}
	v.seeded = false
	if v.Type == nil {
		v.Type = varType(vt)
		if vt.Kind == types.Int && !b.literal(e) {
			v.typed = vt.Size
		}
		return
	}
	if v.fixed {
		if !b.assignable(v.Type, vt, e) {
			b.errorf(e.Pos(), "Type mismatch for %s: trying to assign value of type '%s' when variable already has a type '%s'", v.Name, t, v.Type)
		}
		return
	}
	m := merge(v.Type, vt, true)
	if v.Type.Kind == types.Int && vt.Kind == types.Int {
		// Both are 64-bit: as in C, mixing signedness makes it unsigned,
		// unless the value is a constant the variable already holds.
		m = v.Type
		if !b.assignable(v.Type, vt, e) {
			// A variable a typed value set widens to hold another, as in
			// bpftrace, but no integer type holds both a 64-bit unsigned
			// and a signed value.
			usize := v.typed
			if v.Type.Signed {
				usize = vt.Size
			}
			switch {
			case v.typed == 0 || v.Type.Signed == vt.Signed || b.literal(e):
				m = types.IntOf(8, v.Type.Signed && vt.Signed)
			case usize < 8:
				m = types.I64
			default:
				m = nil
			}
		}
	}
	if m == nil {
		b.errorf(e.Pos(), "Type mismatch for %s: trying to assign value of type '%s' when variable already has a type '%s'", v.Name, t, v.Type)
		return
	}
	v.Type = varType(m)
}

func (b *body) assign(s *syntax.AssignStmt) {
	switch lhs := s.LHS.(type) {
	case *syntax.Var:
		if s.Op == "=" {
			t := b.rhs(s.RHS, lhs.Name)
			b.assignVar(lhs, t, s.RHS)
			return
		}
		lt := b.expr(lhs)
		rt := b.expr(s.RHS)
		b.compound(s, lt, rt)
	case *syntax.MapRef:
		b.assignMap(s, lhs, nil)
	case *syntax.MapIndex:
		b.assignMap(s, lhs.Map, lhs)
	case *syntax.Ident:
		if lhs.Name == "_" && s.Op == "=" {
			b.expr(s.RHS)
			return
		}
		b.errorf(lhs.Pos(), "Cannot assign to %s", lhs.Name)
		b.expr(s.RHS)
	default:
		// Assignment into a struct field or array element is not possible:
		// those live in kernel memory.
		b.errorf(s.LHS.Pos(), "Cannot assign to this expression: only scratch variables and maps can be assigned")
		b.expr(s.RHS)
	}
}

// rhs types the right side of a plain assignment to a variable, where
// aggregate functions are not allowed.
func (b *body) rhs(e syntax.Expr, target string) *types.Type {
	if call, ok := e.(*syntax.Call); ok && aggFuncs[call.Name] && !b.isUserFunc(call.Name) {
		b.errorf(call.Pos(), "%s() should be directly assigned to a map", call.Name)
		for _, a := range call.Args {
			b.expr(a)
		}
		return nil
	}
	return b.expr(e)
}

// compound checks "x op= y" given the types of x and y.
func (b *body) compound(s *syntax.AssignStmt, lt, rt *types.Type) {
	if lt == nil || rt == nil {
		return
	}
	op := s.Op[:len(s.Op)-1]
	if isPtr(lt) && (op == "+" || op == "-") && isIntegral(rt) {
		steps(lt)
		return
	}
	if lt.Kind != types.Int || !isIntegral(rt) {
		// bpftrace reads x op= y as x = x op y.
		b.errorf(s.Pos(), "The %s operator can not be used on expressions of types %s, %s", op, lt, rt)
	}
}

func (b *body) assignMap(s *syntax.AssignStmt, ref *syntax.MapRef, idx *syntax.MapIndex) {
	m := b.c.useMap(ref.Name, ref.Pos())
	b.info.Maps[ref] = m
	var keys []syntax.Expr
	if idx != nil {
		keys = idx.Keys
	}
	kt, ok := b.keyType(m, keys, ref.Pos())
	if ok {
		b.c.setKey(m, kt, ref.Pos())
	}
	var t *types.Type
	if call, ok := s.RHS.(*syntax.Call); ok && aggFuncs[call.Name] && !b.isUserFunc(call.Name) {
		if s.Op != "=" {
			b.errorf(s.Pos(), "%s() cannot be combined with %s: assign it with =", call.Name, s.Op)
		}
		t = b.aggregate(call)
		if t == nil {
			return
		}
		b.info.Types[s.LHS] = t
		b.info.Types[call] = t
		b.c.setValue(m, t, ref.Pos())
		return
	}
	rt := b.expr(s.RHS)
	if s.Op != "=" {
		if m.Value == nil && isIntegral(rt) {
			b.c.setValue(m, types.I64, s.Pos())
			b.c.mapSign[m.Name] = 2
		}
		if m.Value != nil {
			b.info.Types[s.LHS] = m.Value
		}
		b.compound(s, m.Value, rt)
		return
	}
	if rt == nil {
		if b.c.selfMaps == nil {
			b.c.selfMaps = map[string]bool{}
		}
		b.c.selfMaps[m.Name] = true
		return
	}
	if !b.storable(rt, s.RHS, "map "+m.Name) {
		return
	}
	t = stored(valueType(rt))
	b.info.Types[s.LHS] = t
	if t.Kind == types.Int {
		switch {
		case rt.Signed:
			b.c.mapSign[m.Name] = 2
		case !b.isConst(s.RHS) && b.c.mapSign[m.Name] == 0:
			b.c.mapSign[m.Name] = 1
		}
	}
	b.c.setValue(m, t, ref.Pos())
}

// useMap returns the map named name, creating it on first use.
func (c *checker) useMap(name string, pos syntax.Pos) *Map {
	m := c.maps[name]
	if m == nil {
		m = &Map{Name: name, Pos: pos}
		c.maps[name] = m
	}
	return m
}

func (c *checker) setKey(m *Map, kt *types.Type, pos syntax.Pos) {
	if !m.keySet {
		m.Key, m.keySet = kt, true
		return
	}
	if (m.Key == nil) != (kt == nil) {
		if kt == nil {
			c.errorf(pos, "%s used as a map without an explicit key (scalar map), previously used with an explicit key (non-scalar map)", m.Name)
		} else {
			c.errorf(pos, "%s used as a map with an explicit key (non-scalar map), previously used without an explicit key (scalar map)", m.Name)
		}
		return
	}
	if kt == nil {
		return
	}
	nk := merge(m.Key, kt, false)
	if nk == nil {
		c.errorf(pos, "Argument mismatch for %s: trying to access with arguments: '%s' when map expects arguments: '%s'", m.Name, kt, m.Key)
		return
	}
	m.Key = nk
}

func (c *checker) setValue(m *Map, t *types.Type, pos syntax.Pos) {
	if m.Value == nil {
		m.Value = t
		c.fixSign(m)
		return
	}
	nv := merge(m.Value, t, false)
	if nv == nil {
		c.errorf(pos, "Type mismatch for %s: trying to assign value of type '%s' when map already has a type '%s'", m.Name, aggDesc(t), aggDesc(m.Value))
		return
	}
	m.Value = nv
	c.fixSign(m)
}

// fixSign applies the signedness decided for an integer map: signed
// unless only unsigned non-constant values were stored.
func (c *checker) fixSign(m *Map) {
	if m.Value.Kind != types.Int {
		return
	}
	signed := c.mapSign[m.Name] != 1
	if m.Value.Signed != signed {
		m.Value = types.IntOf(8, signed)
	}
}

// keyType types the keys of a map access; nil keys means a scalar map.
func (b *body) keyType(m *Map, keys []syntax.Expr, pos syntax.Pos) (*types.Type, bool) {
	if keys == nil {
		return nil, true
	}
	// @m[(a, b)] is @m[a, b]: the tuple is typed as the whole key.
	var tup *syntax.Tuple
	if len(keys) == 1 {
		if t, ok := keys[0].(*syntax.Tuple); ok && len(t.Elems) > 1 {
			tup = t
			keys = t.Elems
		}
	}
	elems := make([]*types.Type, 0, len(keys))
	for _, k := range keys {
		t := b.expr(k)
		if t == nil {
			return nil, false
		}
		switch {
		case t.Kind == types.Void:
			b.errorf(k.Pos(), "Invalid map key type: void")
			return nil, false
		case t.IsAggregate() && valueType(t) == t:
			// count(), sum(), min(), max() and avg() values read as
			// their integer; the others have no one value.
			b.errorf(k.Pos(), "%s cannot be part of a map key", t)
			return nil, false
		}
		elems = append(elems, stored(valueType(t)))
	}
	if len(elems) == 1 {
		return elems[0], true
	}
	kt := types.TupleOf(elems...)
	if tup != nil {
		b.info.Types[tup] = kt
	}
	return kt, true
}

func (b *body) forStmt(s *syntax.ForStmt) {
	b.push()
	defer b.pop()
	var vt *types.Type
	if s.Map != nil {
		m := b.c.maps[s.Map.Name]
		b.info.Maps[s.Map] = m
		switch {
		case m == nil || m.Value == nil:
			b.c.noteRead(s.Map.Name, s.Map.Pos())
		case !m.keySet:
			// The key type is unknown after an earlier error.
		case m.Key == nil:
			b.errorf(s.Map.Pos(), "%s has no explicit keys (scalar map), and cannot be used for iteration", s.Map.Name)
		default:
			b.info.Fors[s] = m
			vt = types.TupleOf(m.Key, m.Value)
		}
	} else {
		lo := b.expr(s.Lo)
		hi := b.expr(s.Hi)
		for _, p := range []struct {
			t     *types.Type
			e     syntax.Expr
			which string
		}{{lo, s.Lo, "start"}, {hi, s.Hi, "end"}} {
			if p.t != nil && !isIntegral(p.t) {
				b.errorf(p.e.Pos(), "Loop range requires an integer for the %s value", p.which)
			}
		}
		if isIntegral(lo) && isIntegral(hi) {
			vt = unifyInts(valueType(intOf(lo)), valueType(intOf(hi)))
			if vt == nil {
				vt = types.I64
			}
			vt = types.IntOf(8, vt.Signed)
		}
	}
	if s.Var != nil {
		v := &Var{Name: displayName(s.Var.Name), Type: vt, Pos: s.Var.Pos()}
		if vt == nil {
			b.unknown[s.Var.Name] = true
		}
		b.scope.vars[s.Var.Name] = v
		b.info.Vars[s.Var] = v
	}
	b.loops++
	b.block(s.Body)
	b.loops--
}

// intOf views bools and enums as integers.
func intOf(t *types.Type) *types.Type {
	switch t.Kind {
	case types.Bool:
		return types.U8
	case types.Enum:
		return types.IntOf(t.Size, t.Signed)
	}
	return t
}

func (c *checker) noteRead(name string, pos syntax.Pos) {
	if _, ok := c.mapRead[name]; !ok {
		c.mapRead[name] = pos
	}
}

// aggDesc spells a type with the parameters that make two aggregations of
// the same kind differ.
func aggDesc(t *types.Type) string {
	switch t.Kind {
	case types.Hist:
		return fmt.Sprintf("hist(bits=%d)", t.Bits)
	case types.Lhist:
		return fmt.Sprintf("lhist(min=%d, max=%d, step=%d)", t.Min, t.Max, t.Step)
	case types.Tseries:
		agg := t.Agg
		if agg == "" {
			agg = "last"
		}
		return fmt.Sprintf("tseries(interval=%d, num_intervals=%d, agg=%s)", t.Step, t.Max, agg)
	}
	return t.String()
}
