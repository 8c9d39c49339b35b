package check

import "friday/syntax"

// inspect calls f for n and, while f returns true, for every node below it.
func inspect(n syntax.Node, f func(syntax.Node) bool) {
	if n == nil || !f(n) {
		return
	}
	expr := func(e syntax.Expr) {
		if e != nil {
			inspect(e, f)
		}
	}
	switch n := n.(type) {
	case *syntax.Probe:
		expr(n.Pred)
		if n.Body != nil {
			inspect(n.Body, f)
		}
	case *syntax.FuncDecl:
		if n.Body != nil {
			inspect(n.Body, f)
		}
	case *syntax.Block:
		for _, s := range n.Stmts {
			inspect(s, f)
		}
	case *syntax.ExprStmt:
		expr(n.X)
	case *syntax.AssignStmt:
		expr(n.LHS)
		expr(n.RHS)
	case *syntax.VarDecl:
		inspect(n.Var, f)
		expr(n.Value)
	case *syntax.IfStmt:
		expr(n.Cond)
		if n.Then != nil {
			inspect(n.Then, f)
		}
		if n.Else != nil {
			inspect(n.Else, f)
		}
	case *syntax.WhileStmt:
		expr(n.Cond)
		if n.Body != nil {
			inspect(n.Body, f)
		}
	case *syntax.ForStmt:
		if n.Var != nil {
			inspect(n.Var, f)
		}
		if n.Map != nil {
			inspect(n.Map, f)
		}
		expr(n.Lo)
		expr(n.Hi)
		if n.Body != nil {
			inspect(n.Body, f)
		}
	case *syntax.UnrollStmt:
		expr(n.Count)
		if n.Body != nil {
			inspect(n.Body, f)
		}
	case *syntax.JumpStmt:
		expr(n.Value)
	case *syntax.MapIndex:
		if n.Map != nil {
			inspect(n.Map, f)
		}
		for _, k := range n.Keys {
			expr(k)
		}
	case *syntax.Call:
		for _, a := range n.Args {
			expr(a)
		}
	case *syntax.Unary:
		expr(n.X)
	case *syntax.Binary:
		expr(n.X)
		expr(n.Y)
	case *syntax.Ternary:
		expr(n.Cond)
		expr(n.Then)
		expr(n.Else)
	case *syntax.Field:
		expr(n.X)
	case *syntax.Index:
		expr(n.X)
		expr(n.Index)
	case *syntax.Cast:
		expr(n.X)
	case *syntax.Tuple:
		for _, e := range n.Elems {
			expr(e)
		}
	case *syntax.Record:
		for _, e := range n.Values {
			expr(e)
		}
	case *syntax.BlockExpr:
		for _, s := range n.Stmts {
			inspect(s, f)
		}
		expr(n.Value)
	case *syntax.Sizeof:
		expr(n.X)
	case *syntax.Offsetof:
		expr(n.X)
	}
}
