package check

import (
	"fmt"
	"strings"

	"friday/syntax"
)

// Macro expansion copies probe and function bodies, replacing each call of
// a user macro by a BlockExpr holding a copy of the macro's body.
//
// Hygiene: inside a macro body, a scratch variable that is not a parameter
// is renamed to a name no script can write ("$x#3"), so it can neither see
// nor clobber the caller's variables; a map that is not a parameter is an
// error. A "$p" parameter is replaced by the caller's variable, an "@p"
// parameter by the caller's map, and a bare "p" parameter by a copy of the
// argument expression at every use.

// env is the substitution in force while copying one body.
type env struct {
	macro string            // macro being expanded, "" at top level
	vars  map[string]string // $param or local -> name in the expansion
	maps  map[string]string // @param -> caller's map
	exprs map[string]syntax.Expr
}

type expander struct {
	c     *checker
	stack []string
	n     int
}

func (c *checker) expandProbe(p *syntax.Probe) *syntax.Probe {
	x := &expander{c: c}
	top := &env{}
	q := *p
	q.Pred = x.expr(p.Pred, top)
	q.Body = x.block(p.Body, top)
	return &q
}

func (c *checker) expandFunc(f *syntax.FuncDecl) *syntax.FuncDecl {
	x := &expander{c: c}
	g := *f
	g.Body = x.block(f.Body, &env{})
	return &g
}

// displayName strips the hygiene suffix from a renamed variable.
func displayName(name string) string {
	if i := strings.IndexByte(name, '#'); i >= 0 {
		return name[:i]
	}
	return name
}

func (x *expander) block(b *syntax.Block, e *env) *syntax.Block {
	if b == nil {
		return nil
	}
	nb := &syntax.Block{P: b.P, Stmts: make([]syntax.Stmt, 0, len(b.Stmts))}
	for _, s := range b.Stmts {
		nb.Stmts = append(nb.Stmts, x.stmt(s, e))
	}
	return nb
}

func (x *expander) stmt(s syntax.Stmt, e *env) syntax.Stmt {
	switch s := s.(type) {
	case *syntax.Block:
		return x.block(s, e)
	case *syntax.ExprStmt:
		return &syntax.ExprStmt{X: x.expr(s.X, e)}
	case *syntax.AssignStmt:
		return &syntax.AssignStmt{P: s.P, LHS: x.expr(s.LHS, e), Op: s.Op, RHS: x.expr(s.RHS, e)}
	case *syntax.VarDecl:
		return &syntax.VarDecl{P: s.P, Var: x.varRef(s.Var, e), Type: s.Type, Value: x.expr(s.Value, e)}
	case *syntax.IfStmt:
		n := &syntax.IfStmt{P: s.P, Cond: x.expr(s.Cond, e), Then: x.block(s.Then, e)}
		if s.Else != nil {
			n.Else = x.stmt(s.Else, e)
		}
		return n
	case *syntax.WhileStmt:
		return &syntax.WhileStmt{P: s.P, Cond: x.expr(s.Cond, e), Body: x.block(s.Body, e)}
	case *syntax.ForStmt:
		n := &syntax.ForStmt{P: s.P, Lo: x.expr(s.Lo, e), Hi: x.expr(s.Hi, e), Body: x.block(s.Body, e)}
		if s.Var != nil {
			n.Var = x.varRef(s.Var, e)
		}
		if s.Map != nil {
			n.Map = x.mapRef(s.Map, e)
		}
		return n
	case *syntax.UnrollStmt:
		return &syntax.UnrollStmt{P: s.P, Count: x.expr(s.Count, e), Rparen: s.Rparen, Body: x.block(s.Body, e)}
	case *syntax.JumpStmt:
		return &syntax.JumpStmt{P: s.P, Kind: s.Kind, Value: x.expr(s.Value, e)}
	case nil:
		return nil
	}
	x.c.errorf(s.Pos(), "unsupported statement")
	return s
}

func (x *expander) varRef(v *syntax.Var, e *env) *syntax.Var {
	if v == nil {
		return nil
	}
	if e.macro == "" {
		return &syntax.Var{P: v.P, Name: v.Name}
	}
	name, ok := e.vars[v.Name]
	if !ok {
		x.n++
		name = fmt.Sprintf("%s#%d", v.Name, x.n)
		e.vars[v.Name] = name
	}
	return &syntax.Var{P: v.P, Name: name}
}

func (x *expander) mapRef(m *syntax.MapRef, e *env) *syntax.MapRef {
	if m == nil {
		return nil
	}
	if e.macro == "" {
		return &syntax.MapRef{P: m.P, Name: m.Name}
	}
	name, ok := e.maps[m.Name]
	if !ok {
		x.c.errorf(m.P, "Unhygienic access to map %s in macro %s: maps used in a macro must be passed as arguments", m.Name, e.macro)
		name = m.Name
	}
	return &syntax.MapRef{P: m.P, Name: name}
}

func (x *expander) exprs(list []syntax.Expr, e *env) []syntax.Expr {
	if list == nil {
		return nil
	}
	out := make([]syntax.Expr, len(list))
	for i, a := range list {
		out[i] = x.expr(a, e)
	}
	return out
}

func (x *expander) expr(ex syntax.Expr, e *env) syntax.Expr {
	switch n := ex.(type) {
	case nil:
		return nil
	case *syntax.IntLit:
		c := *n
		return &c
	case *syntax.StrLit:
		c := *n
		return &c
	case *syntax.BoolLit:
		c := *n
		return &c
	case *syntax.PosParam:
		c := *n
		return &c
	case *syntax.TypeExpr:
		c := *n
		return &c
	case *syntax.Var:
		return x.varRef(n, e)
	case *syntax.MapRef:
		return x.mapRef(n, e)
	case *syntax.MapIndex:
		return &syntax.MapIndex{P: n.P, Map: x.mapRef(n.Map, e), Keys: x.exprs(n.Keys, e)}
	case *syntax.Ident:
		if arg, ok := e.exprs[n.Name]; ok {
			// Every use gets its own copy: the checker records facts per node.
			return x.expr(arg, &env{})
		}
		if m, ok := x.c.macros[n.Name]; ok && len(m.Params) == 0 {
			return x.expand(m, &syntax.Call{P: n.P, Name: n.Name}, e)
		}
		c := *n
		c.Name = builtinAlias(c.Name)
		return &c
	case *syntax.Call:
		// A macro named as a builtin function overrides only the calls
		// of its own signature; the others stay the builtin's.
		if m, ok := x.c.macros[n.Name]; ok && (len(m.Params) == len(n.Args) || !isBuiltinFunc(n.Name)) {
			if _, isFunc := x.c.fdecls[n.Name]; !isFunc {
				return x.expand(m, n, e)
			}
		}
		return &syntax.Call{P: n.P, Name: builtinAlias(n.Name), Args: x.exprs(n.Args, e)}
	case *syntax.Unary:
		return &syntax.Unary{P: n.P, Op: n.Op, X: x.expr(n.X, e), Postfix: n.Postfix}
	case *syntax.Binary:
		return &syntax.Binary{P: n.P, Op: n.Op, X: x.expr(n.X, e), Y: x.expr(n.Y, e), From: n.From}
	case *syntax.Ternary:
		return &syntax.Ternary{P: n.P, Cond: x.expr(n.Cond, e), Then: x.expr(n.Then, e), Else: x.expr(n.Else, e)}
	case *syntax.Field:
		return &syntax.Field{P: n.P, X: x.expr(n.X, e), Name: n.Name, Arrow: n.Arrow, From: n.From}
	case *syntax.Index:
		return &syntax.Index{P: n.P, X: x.expr(n.X, e), Index: x.expr(n.Index, e), From: n.From}
	case *syntax.Cast:
		return &syntax.Cast{P: n.P, Type: x.typeArg(n.Type, e), X: x.expr(n.X, e)}
	case *syntax.Tuple:
		return &syntax.Tuple{P: n.P, Elems: x.exprs(n.Elems, e)}
	case *syntax.Record:
		return &syntax.Record{P: n.P, Names: n.Names, Values: x.exprs(n.Values, e)}
	case *syntax.Sizeof:
		s := &syntax.Sizeof{P: n.P, Type: x.typeArg(n.Type, e), X: x.expr(n.X, e)}
		if t, ok := s.X.(*syntax.TypeExpr); ok {
			s.Type, s.X = t, nil
		}
		return s
	case *syntax.Offsetof:
		o := &syntax.Offsetof{P: n.P, Type: x.typeArg(n.Type, e), X: x.expr(n.X, e), Field: n.Field}
		if t, ok := o.X.(*syntax.TypeExpr); ok {
			o.Type, o.X = t, nil
		}
		return o
	case *syntax.BlockExpr:
		nb := &syntax.BlockExpr{P: n.P}
		for _, s := range n.Stmts {
			nb.Stmts = append(nb.Stmts, x.stmt(s, e))
		}
		nb.Value = x.expr(n.Value, e)
		return nb
	}
	x.c.errorf(ex.Pos(), "unsupported expression")
	return ex
}

// expand replaces one macro call by a copy of the macro's body.
func (x *expander) expand(m *syntax.MacroDecl, call *syntax.Call, e *env) syntax.Expr {
	for _, name := range x.stack {
		if name == m.Name {
			x.c.errorf(call.P, "Recursive macro call: %s", m.Name)
			return &syntax.IntLit{P: call.P, Text: "0"}
		}
	}
	if len(call.Args) != len(m.Params) {
		x.c.errorf(call.P, "Call to %s() has the wrong number of arguments: expected %d, got %d", m.Name, len(m.Params), len(call.Args))
		return &syntax.IntLit{P: call.P, Text: "0"}
	}
	inner := &env{macro: m.Name, vars: map[string]string{}, maps: map[string]string{}, exprs: map[string]syntax.Expr{}}
	bad := false
	for i, p := range m.Params {
		arg := x.expr(call.Args[i], e)
		switch p := p.(type) {
		case *syntax.Var:
			v, ok := arg.(*syntax.Var)
			if !ok {
				x.c.errorf(call.Args[i].Pos(), "Macro %s expects a scratch variable for parameter %s", m.Name, p.Name)
				bad = true
				continue
			}
			inner.vars[p.Name] = v.Name
		case *syntax.MapRef:
			mr, ok := arg.(*syntax.MapRef)
			if !ok {
				x.c.errorf(call.Args[i].Pos(), "Macro %s expects a map for parameter %s", m.Name, p.Name)
				bad = true
				continue
			}
			inner.maps[p.Name] = mr.Name
		case *syntax.Ident:
			inner.exprs[p.Name] = arg
		default:
			x.c.errorf(p.Pos(), "Invalid parameter of macro %s", m.Name)
			bad = true
		}
	}
	if bad {
		return &syntax.IntLit{P: call.P, Text: "0"}
	}
	x.stack = append(x.stack, m.Name)
	defer func() { x.stack = x.stack[:len(x.stack)-1] }()
	be := &syntax.BlockExpr{P: call.P}
	if m.Body == nil {
		return be
	}
	stmts := m.Body.Stmts
	for i, s := range stmts {
		if es, ok := s.(*syntax.ExprStmt); ok && i == len(stmts)-1 {
			be.Value = x.expr(es.X, inner)
			break
		}
		be.Stmts = append(be.Stmts, x.stmt(s, inner))
	}
	return be
}

// typeArg is type t in a macro's body, where a parameter's name stands
// for the type given as its argument (sz(typeof($x)) with sizeof(t)).
func (x *expander) typeArg(t *syntax.TypeExpr, e *env) *syntax.TypeExpr {
	if t == nil {
		return nil
	}
	if arg, ok := e.exprs[t.Name].(*syntax.TypeExpr); ok && t.Array == 0 {
		c := *arg
		c.P, c.Ptr = t.P, arg.Ptr+t.Ptr
		return &c
	}
	c := *t
	if c.Of != nil {
		c.Of = x.expr(c.Of, e)
	}
	return &c
}

// builtinAlias is the builtin __builtin_NAME names, as bpftrace's
// standard library macros call them (__builtin_pid is pid); other names
// are left as they are.
func builtinAlias(name string) string {
	if rest, ok := strings.CutPrefix(name, "__builtin_"); ok && (isBuiltinFunc(rest) || argRe.MatchString(rest)) {
		return rest
	}
	return name
}
