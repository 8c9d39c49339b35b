package check

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"friday/lazybtf"
	"friday/syntax"
)

// TestInfoComplete checks, for every script of testdata that checks
// without errors, what code generation relies on: every expression it
// evaluates has a type, every variable reference is resolved and typed as
// its variable, and every printf argument's verb carries the final type.
func TestInfoComplete(t *testing.T) {
	for _, file := range testdataFiles(t) {
		for _, c := range readCases(t, file) {
			if c.kind != "ok" {
				continue
			}
			name := fmt.Sprintf("%s:%d", filepath.Base(file), c.line)
			t.Run(name, func(t *testing.T) {
				f, err := syntax.Parse("stdin", []byte(c.src))
				if err != nil {
					t.Fatal(err)
				}
				opts := Options{Expand: fakeExpand}
				for _, o := range c.opts {
					switch fields := strings.Fields(o); fields[0] {
					case "btf":
						opts.BTF = func() *lazybtf.Spec { return loadBTF(t) }
					case "params":
						opts.Params = fields[1:]
					case "unsafe":
						opts.Unsafe = true
					case "realprobes":
						t.Skip("needs the kernel's probes")
					case "skipdead":
						opts.SkipDead = true
					}
				}
				prog, err := Check(f, opts)
				if err != nil {
					t.Fatal(err)
				}
				for _, pr := range prog.Probes {
					checkInfo(t, pr.Syntax, pr.Info, opts.SkipDead)
				}
				for _, fn := range prog.Funcs {
					checkInfo(t, fn.Syntax, fn.Info, opts.SkipDead)
				}
			})
		}
	}
}

func checkInfo(t *testing.T, root syntax.Node, info *Info, skipDead bool) {
	// Nodes that are names rather than values: mode identifiers and maps
	// passed whole are not evaluated; nor is, with skipDead, the arm of
	// an if that a constant condition makes dead, or the body of a probe
	// a constant predicate drops.
	skip := map[syntax.Node]bool{}
	inspect(root, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Probe:
			if c, ok := info.Consts[n.Pred]; ok && skipDead && !c.IsStr && c.Int == 0 && n.Body != nil {
				skip[n.Body] = true
			}
		case *syntax.IfStmt:
			if c, ok := info.Consts[n.Cond]; ok && skipDead && !c.IsStr {
				if c.Int == 0 {
					skip[n.Then] = true
				} else if n.Else != nil {
					skip[n.Else] = true
				}
			}
		case *syntax.MapIndex:
			skip[n.Map] = true
		case *syntax.ForStmt:
			skip[n.Map] = true
		case *syntax.AssignStmt:
			skip[n.LHS] = true
		case *syntax.Sizeof:
			// Not evaluated: only its type matters.
			if n.X != nil {
				skip[n.X] = true
			}
		case *syntax.Offsetof:
			if n.X != nil {
				skip[n.X] = true
			}
		case *syntax.Call:
			if ci := info.Calls[n]; ci != nil && ci.Func == nil {
				for _, a := range n.Args {
					if !containsExpr(ci.Args, a) && !containsExpr(ci.KeyArgs, a) {
						skip[a] = true
					}
				}
			}
			if ci := info.Calls[n]; ci != nil && ci.Name == "delete" {
				for _, a := range n.Args {
					skip[a] = true
				}
			}
		}
		return true
	})
	inspect(root, func(n syntax.Node) bool {
		e, ok := n.(syntax.Expr)
		if !ok || skip[n] {
			return !skip[n]
		}
		if _, isType := e.(*syntax.TypeExpr); isType {
			return true
		}
		if info.Types[e] == nil {
			t.Errorf("%d:%d: %T has no type", e.Pos().Line, e.Pos().Col, e)
		}
		if v, ok := e.(*syntax.Var); ok {
			cv := info.Vars[v]
			if cv == nil {
				t.Errorf("%d:%d: %s is not resolved", v.P.Line, v.P.Col, v.Name)
			} else if info.Types[v] != cv.Type {
				t.Errorf("%d:%d: %s typed %v, variable is %v", v.P.Line, v.P.Col, v.Name, info.Types[v], cv.Type)
			}
		}
		if call, ok := e.(*syntax.Call); ok {
			if ci := info.Calls[call]; ci == nil {
				t.Errorf("%d:%d: call %s not resolved", call.P.Line, call.P.Col, call.Name)
			} else if ci.Format != nil {
				for i, v := range ci.Format.Verbs {
					if v.Arg != info.Types[ci.Args[i]] {
						t.Errorf("%d:%d: %s argument %d: verb has %v, expression %v", call.P.Line, call.P.Col, call.Name, i, v.Arg, info.Types[ci.Args[i]])
					}
				}
			}
		}
		return true
	})
}

func containsExpr(list []syntax.Expr, e syntax.Expr) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}
