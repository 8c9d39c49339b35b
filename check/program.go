// Package check resolves names and types of a parsed script and produces the
// checked program that code generation consumes.
package check

import (
	"friday/probe"
	"friday/syntax"
	"friday/types"
)

// Program is a checked script.
type Program struct {
	File   *syntax.File
	Probes []*Probe
	Maps   map[string]*Map // by name, with '@'
	Funcs  map[string]*Func
}

// Probe is one action block checked for a set of attach points that share
// the same argument types (usually one point; a wildcard whose body does not
// use args shares one Probe for all matches).
type Probe struct {
	Syntax *syntax.Probe
	Points []*probe.Point
	Info   *Info
}

// Func is a user-defined function with its checked body.
type Func struct {
	Syntax *syntax.FuncDecl
	Params []*Var
	Result *types.Type
	Info   *Info
}

// Map is a global map with its key and value type. Key is nil for a map used
// without keys (@x = 1), a Tuple for multiple keys.
type Map struct {
	Name  string
	Key   *types.Type
	Value *types.Type
	Decl  *syntax.MapDecl // nil when not declared
	Pos   syntax.Pos      // first use
}

// Var is one scratch variable (a $name in one scope).
type Var struct {
	Name string
	Type *types.Type
	Pos  syntax.Pos
}

// Info records what the checker learned about the nodes of one probe body.
type Info struct {
	Types map[syntax.Expr]*types.Type // type of every expression
	Vars  map[*syntax.Var]*Var        // the variable each $name refers to
	Decls map[*syntax.VarDecl]*Var
}
