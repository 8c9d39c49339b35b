package syntax

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// String spells the type the way it is written in a cast.
func (t *TypeExpr) String() string {
	s := t.Name
	if t.Of != nil {
		s = "typeof(expr)"
	}
	if t.Ptr > 0 {
		s += " " + strings.Repeat("*", t.Ptr)
	}
	switch {
	case t.Array > 0:
		s += "[" + strconv.Itoa(t.Array) + "]"
	case t.Array < 0:
		s += "[]"
	}
	return s
}

// Fprint writes the tree as an indented outline, one node per line with
// each child one space deeper, in the spirit of bpftrace -d.
func Fprint(w io.Writer, f *File) error {
	pr := &printer{}
	pr.line(0, "Program")
	for _, d := range f.Defines {
		if d.Params != nil {
			pr.line(1, "#define %s(%s) %s", d.Name, strings.Join(d.Params, ", "), d.Value)
		} else {
			pr.line(1, "#define %s %s", d.Name, d.Value)
		}
	}
	for _, im := range f.Imports {
		pr.line(1, "import %s", strconv.Quote(im.Path))
	}
	for _, c := range f.CDefs {
		pr.line(1, "cdef %s %s: %s", c.Kind, c.Name, strconv.Quote(c.Text))
	}
	if len(f.Config) > 0 {
		pr.line(1, "config")
		for _, a := range f.Config {
			pr.line(2, "%s =", a.Key)
			pr.expr(3, a.Value)
		}
	}
	for _, m := range f.Maps {
		pr.line(1, "let @%s = %s", m.Name, m.Kind)
		for _, e := range m.Elems {
			pr.expr(2, e)
		}
	}
	for _, m := range f.Macros {
		var params []string
		for _, x := range m.Params {
			params = append(params, exprName(x))
		}
		pr.line(1, "macro %s(%s)", m.Name, strings.Join(params, ", "))
		pr.stmts(2, m.Body.Stmts)
	}
	for _, fn := range f.Funcs {
		var params []string
		for _, x := range fn.Params {
			params = append(params, x.Name+": "+x.Type.String())
		}
		res := ""
		if fn.Result != nil {
			res = ": " + fn.Result.String()
		}
		pr.line(1, "fn %s(%s)%s", fn.Name, strings.Join(params, ", "), res)
		pr.stmts(2, fn.Body.Stmts)
	}
	for _, p := range f.Probes {
		if p.Name != "" {
			pr.line(1, "name %s", p.Name)
		}
		for _, ap := range p.Points {
			pr.line(1, "%s", ap.Raw)
			if len(ap.Parts) > 1 || ap.Parts[0] != ap.Raw {
				var q []string
				for _, s := range ap.Parts {
					q = append(q, strconv.Quote(s))
				}
				pr.line(2, "parts %s", strings.Join(q, " "))
			}
		}
		if p.Pred != nil {
			pr.line(2, "predicate")
			pr.expr(3, p.Pred)
		}
		pr.stmts(2, p.Body.Stmts)
	}
	_, err := io.WriteString(w, pr.b.String())
	return err
}

type printer struct {
	b strings.Builder
}

func (pr *printer) line(depth int, format string, args ...any) {
	pr.b.WriteString(strings.Repeat(" ", depth))
	fmt.Fprintf(&pr.b, format, args...)
	pr.b.WriteByte('\n')
}

func (pr *printer) stmts(d int, list []Stmt) {
	for _, s := range list {
		pr.stmt(d, s)
	}
}

func (pr *printer) stmt(d int, s Stmt) {
	switch s := s.(type) {
	case *ExprStmt:
		pr.expr(d, s.X)
	case *AssignStmt:
		pr.line(d, "%s", s.Op)
		pr.expr(d+1, s.LHS)
		pr.expr(d+1, s.RHS)
	case *VarDecl:
		if s.Type != nil {
			pr.line(d, "let %s: %s", s.Var.Name, s.Type)
			pr.typeOf(d+1, s.Type)
		} else {
			pr.line(d, "let %s", s.Var.Name)
		}
		if s.Value != nil {
			pr.expr(d+1, s.Value)
		}
	case *Block:
		pr.line(d, "block")
		pr.stmts(d+1, s.Stmts)
	case *IfStmt:
		pr.line(d, "if")
		pr.expr(d+1, s.Cond)
		pr.line(d+1, "then")
		pr.stmts(d+2, s.Then.Stmts)
		switch e := s.Else.(type) {
		case *Block:
			pr.line(d+1, "else")
			pr.stmts(d+2, e.Stmts)
		case *IfStmt:
			pr.line(d+1, "else")
			pr.stmt(d+2, e)
		}
	case *WhileStmt:
		pr.line(d, "while")
		pr.expr(d+1, s.Cond)
		pr.line(d+1, "do")
		pr.stmts(d+2, s.Body.Stmts)
	case *ForStmt:
		pr.line(d, "for %s", s.Var.Name)
		if s.Map != nil {
			pr.expr(d+1, s.Map)
		} else {
			pr.line(d+1, "range")
			pr.expr(d+2, s.Lo)
			pr.expr(d+2, s.Hi)
		}
		pr.line(d+1, "do")
		pr.stmts(d+2, s.Body.Stmts)
	case *UnrollStmt:
		pr.line(d, "unroll")
		pr.expr(d+1, s.Count)
		pr.line(d+1, "do")
		pr.stmts(d+2, s.Body.Stmts)
	case *JumpStmt:
		pr.line(d, "%s", s.Kind)
		if s.Value != nil {
			pr.expr(d+1, s.Value)
		}
	default:
		pr.line(d, "?%T", s)
	}
}

// typeOf shows the expression of a typeof(expr) type.
func (pr *printer) typeOf(d int, t *TypeExpr) {
	if t.Of != nil {
		pr.line(d, "typeof")
		pr.expr(d+1, t.Of)
	}
}

// exprName spells the leaf expressions that name something.
func exprName(x Expr) string {
	switch x := x.(type) {
	case *Var:
		return x.Name
	case *MapRef:
		return x.Name
	case *Ident:
		return x.Name
	}
	return fmt.Sprintf("%T", x)
}

func (pr *printer) expr(d int, x Expr) {
	switch x := x.(type) {
	case *IntLit:
		pr.line(d, "int: %d", x.Value)
	case *StrLit:
		pr.line(d, "string: %s", strconv.Quote(x.Value))
	case *BoolLit:
		pr.line(d, "bool: %t", x.Value)
	case *PosParam:
		if x.Count {
			pr.line(d, "param: $#")
		} else {
			pr.line(d, "param: $%d", x.N)
		}
	case *Var:
		pr.line(d, "variable: %s", x.Name)
	case *MapRef:
		pr.line(d, "map: %s", x.Name)
	case *MapIndex:
		pr.line(d, "map: %s", x.Map.Name)
		for _, k := range x.Keys {
			pr.expr(d+1, k)
		}
	case *Ident:
		pr.line(d, "identifier: %s", x.Name)
	case *Call:
		pr.line(d, "call: %s", x.Name)
		for _, a := range x.Args {
			pr.expr(d+1, a)
		}
	case *Unary:
		switch {
		case x.Postfix:
			pr.line(d, "%s (post)", x.Op)
		case x.Op == "++" || x.Op == "--":
			pr.line(d, "%s (pre)", x.Op)
		default:
			pr.line(d, "unary %s", x.Op)
		}
		pr.expr(d+1, x.X)
	case *Binary:
		pr.line(d, "%s", x.Op)
		pr.expr(d+1, x.X)
		pr.expr(d+1, x.Y)
	case *Ternary:
		pr.line(d, "?:")
		pr.expr(d+1, x.Cond)
		if x.Then != nil {
			pr.expr(d+1, x.Then)
		}
		pr.expr(d+1, x.Else)
	case *Field:
		if x.Arrow {
			pr.line(d, "->%s", x.Name)
		} else {
			pr.line(d, ".%s", x.Name)
		}
		pr.expr(d+1, x.X)
	case *Index:
		pr.line(d, "[]")
		pr.expr(d+1, x.X)
		pr.expr(d+1, x.Index)
	case *Cast:
		pr.line(d, "(%s)", x.Type)
		pr.typeOf(d+1, x.Type)
		pr.expr(d+1, x.X)
	case *Tuple:
		pr.line(d, "tuple")
		for _, e := range x.Elems {
			pr.expr(d+1, e)
		}
	case *Record:
		pr.line(d, "record")
		for i, n := range x.Names {
			pr.line(d+1, "%s =", n)
			pr.expr(d+2, x.Values[i])
		}
	case *Sizeof:
		if x.Type != nil {
			pr.line(d, "sizeof: %s", x.Type)
		} else {
			pr.line(d, "sizeof")
			pr.expr(d+1, x.X)
		}
	case *Offsetof:
		if x.Type != nil {
			pr.line(d, "offsetof: %s, %s", x.Type, strings.Join(x.Field, "."))
		} else {
			pr.line(d, "offsetof: %s", strings.Join(x.Field, "."))
			pr.expr(d+1, x.X)
		}
	case *BlockExpr:
		pr.line(d, "block expr")
		pr.stmts(d+1, x.Stmts)
		if x.Value != nil {
			pr.line(d+1, "value")
			pr.expr(d+2, x.Value)
		}
	case *TypeExpr:
		pr.line(d, "type: %s", x)
	default:
		pr.line(d, "?%T", x)
	}
}
