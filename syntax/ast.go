// Package syntax holds the bpftrace language's scanner, parser and syntax tree.
//
// The tree is plain data: the checker (package check) records types and
// resolved names in side tables keyed by node, so one tree can be checked once
// per concrete attach point (a wildcard tracepoint's args differ per match).
package syntax

import "cmp"

// Pos is a position in a source file. Line and Col count from 1; Col counts
// bytes. The zero Pos means "no position".
type Pos struct {
	Line, Col int
	// File is the imported file the position is in; nil for the script
	// itself.
	File *Source
}

// Source is a file imported by the script.
type Source struct {
	Name string
	Src  []byte
}

func (p Pos) IsValid() bool { return p.Line > 0 }

// Compare orders positions as they stand in the source: -1 when p comes
// before q, 1 after, 0 when they are the same.
func (p Pos) Compare(q Pos) int {
	return cmp.Or(cmp.Compare(p.Line, q.Line), cmp.Compare(p.Col, q.Col))
}

// Node is any node of the tree.
type Node interface {
	Pos() Pos
}

// File is a whole parsed script.
type File struct {
	Name    string // file name as given by the user, or "stdin"/"-e"
	Src     []byte
	Defines []*Define // #define lines, in order
	Imports []*Import
	// Includes are the #include lines. friday takes kernel types from BTF,
	// not from headers.
	Includes []*Include
	CDefs    []*CDef         // C type definitions in the preamble
	Config   []*ConfigAssign // config = { key = value; ... }
	Macros   []*MacroDecl
	Funcs    []*FuncDecl
	Maps     []*MapDecl // let @name = hash(...) style declarations
	Probes   []*Probe
}

// Define is a "#define NAME value" line. Object-like macros are expanded
// where NAME appears as an identifier; function-like ones are recorded only.
type Define struct {
	P      Pos
	Name   string
	Params []string // nil for object-like macros
	Value  string
}

func (n *Define) Pos() Pos { return n.P }

// Include is an #include line: "path" or, System, <path>.
type Include struct {
	P      Pos
	Path   string
	System bool
}

// Import is import "path";
type Import struct {
	P    Pos
	Path string
}

func (n *Import) Pos() Pos { return n.P }

// CDef is a C type definition in the preamble (struct S { int x; }, a
// typedef, an enum), kept as written for the checker to parse.
type CDef struct {
	P    Pos
	Kind string // "struct", "union", "enum" or "typedef"
	Name string // the struct/union/enum tag, or "" when not simply found
	Text string
}

func (n *CDef) Pos() Pos { return n.P }

// ConfigAssign is one "key = value" of a config block.
type ConfigAssign struct {
	P     Pos
	Key   string
	Value Expr
}

func (n *ConfigAssign) Pos() Pos { return n.P }

// MapDecl is a map declaration: let @name = hash(max_entries);
type MapDecl struct {
	P     Pos
	Name  string // without '@'
	Kind  string // hash, lruhash, percpuhash, percpulruhash, percpuarray
	Size  int64
	Elems []Expr // all arguments as written
}

func (n *MapDecl) Pos() Pos { return n.P }

// MacroDecl is macro name(params) { body } — expanded at call sites.
type MacroDecl struct {
	P      Pos
	Name   string
	Params []Expr // *Var or *MapRef or *Ident
	Body   *Block
}

func (n *MacroDecl) Pos() Pos { return n.P }

// FuncDecl is fn name($a: type, ...): type { body }.
type FuncDecl struct {
	P      Pos
	Name   string
	Params []*Param
	Result *TypeExpr // nil for void
	Body   *Block
}

func (n *FuncDecl) Pos() Pos { return n.P }

type Param struct {
	P    Pos
	Name string // with '$'
	Type *TypeExpr
}

func (n *Param) Pos() Pos { return n.P }

// Probe is one action block with its attach points and predicate.
type Probe struct {
	P Pos
	// Name is the optional "name=" before the attach points, which
	// bpftrace reserves for its own later use and otherwise ignores.
	Name   string
	Points []*AttachPoint
	Pred   Expr // nil when absent
	Body   *Block
}

func (n *Probe) Pos() Pos { return n.P }

// AttachPoint is an attach point as written, e.g. "t:syscalls:sys_enter_*"
// or "uprobe:/bin/bash:readline+8". Raw keeps the exact text; Parts is Raw
// split on ':' the way bpftrace splits it (a path or a C++ name may hold ':'
// only where the provider allows it). Interpreting the parts is the job of
// package probe.
//
// Splitting happens on single ':' outside double quotes; "::" stays inside a
// part (C++ names), quotes are removed from Parts, and a "+offset" stays at
// the end of the last part.
type AttachPoint struct {
	P     Pos
	Raw   string
	Parts []string
}

func (n *AttachPoint) Pos() Pos { return n.P }

// End is the position just past the attach point: Raw is its source text,
// which never spans lines.
func (n *AttachPoint) End() Pos {
	return Pos{Line: n.P.Line, Col: n.P.Col + len(n.Raw), File: n.P.File}
}

// ---- statements ----

type Stmt interface {
	Node
	stmt()
}

type Block struct {
	P     Pos
	Stmts []Stmt
	// Semi is set when the last statement was followed by ';': a block
	// used as an expression then has no value.
	Semi bool
}

// ExprStmt is an expression evaluated for its effect (a call, ++, ...).
type ExprStmt struct {
	X Expr
}

// AssignStmt is LHS op RHS where Op is "=" or a compound operator such as
// "+=", "<<=". LHS is *Var, *MapIndex, *MapRef, or (for records/structs)
// any assignable expression the checker accepts.
type AssignStmt struct {
	P   Pos
	LHS Expr
	Op  string
	RHS Expr
}

// VarDecl is let $x [: type] [= value].
type VarDecl struct {
	P     Pos
	Var   *Var
	Type  *TypeExpr // nil when not written
	Value Expr      // nil when not written
}

// IfStmt: if (Cond) Then [else Else]; Else is *Block or *IfStmt or nil.
type IfStmt struct {
	P    Pos
	Cond Expr
	Then *Block
	Else Stmt
}

type WhileStmt struct {
	P    Pos
	Cond Expr
	Body *Block
}

// ForStmt is either for ($kv : @map) { } (Map set) or
// for ($i : lo..hi) { } (Lo and Hi set).
type ForStmt struct {
	P    Pos
	Var  *Var
	Map  *MapRef
	Lo   Expr
	Hi   Expr
	Body *Block
}

type UnrollStmt struct {
	P      Pos
	Count  Expr
	Rparen Pos // the ")" after the count
	Body   *Block
}

// JumpStmt is break, continue or return [value].
type JumpStmt struct {
	P     Pos
	Kind  string // "break", "continue", "return"
	Value Expr   // only for return, may be nil
}

func (n *Block) Pos() Pos      { return n.P }
func (n *ExprStmt) Pos() Pos   { return n.X.Pos() }
func (n *AssignStmt) Pos() Pos { return n.P }
func (n *VarDecl) Pos() Pos    { return n.P }
func (n *IfStmt) Pos() Pos     { return n.P }
func (n *WhileStmt) Pos() Pos  { return n.P }
func (n *ForStmt) Pos() Pos    { return n.P }
func (n *UnrollStmt) Pos() Pos { return n.P }
func (n *JumpStmt) Pos() Pos   { return n.P }

func (*Block) stmt()      {}
func (*ExprStmt) stmt()   {}
func (*AssignStmt) stmt() {}
func (*VarDecl) stmt()    {}
func (*IfStmt) stmt()     {}
func (*WhileStmt) stmt()  {}
func (*ForStmt) stmt()    {}
func (*UnrollStmt) stmt() {}
func (*JumpStmt) stmt()   {}

// ---- expressions ----

type Expr interface {
	Node
	expr()
}

// IntLit is an integer literal; Value is its value with digit separators
// removed and any unit suffix the language defines applied.
type IntLit struct {
	P     Pos
	Value uint64
	Text  string // as written
}

type StrLit struct {
	P     Pos
	Value string // escapes decoded
}

type BoolLit struct {
	P     Pos
	Value bool
}

// PosParam is $1..$N (N>0) or $# (Count).
type PosParam struct {
	P     Pos
	N     int
	Count bool
}

// Var is a scratch variable $name (Name includes the '$').
type Var struct {
	P    Pos
	Name string
}

// MapRef is a map named as a whole: @name, or @ for the anonymous map
// (Name "@").
type MapRef struct {
	P    Pos
	Name string // includes '@'
}

// MapIndex is @name[k1, k2, ...].
type MapIndex struct {
	P    Pos
	Map  *MapRef
	Keys []Expr
}

// Ident is a bare identifier: a builtin (pid, comm, args, arg0, ...), an
// enum constant, or a name used as a type or field in a call (offsetof).
type Ident struct {
	P    Pos
	Name string
}

// Call is name(args...). Name may contain ':' for namespaced functions.
type Call struct {
	P    Pos
	Name string
	Args []Expr
}

// Unary is Op X, or X Op when Postfix (only ++ and --).
// Op is one of - ! ~ * & ++ --.
type Unary struct {
	P       Pos
	Op      string
	X       Expr
	Postfix bool
}

// Binary is X Op Y with Op one of
// * / % + - << >> < <= > >= == != & ^ | && ||.
type Binary struct {
	P    Pos
	Op   string
	X, Y Expr
	From Pos // where the text starts, parentheses around X included
}

// Ternary is Cond ? Then : Else; Then is nil in Cond ?: Else, which
// yields Cond itself when it is true.
type Ternary struct {
	P                Pos
	Cond, Then, Else Expr
}

// Field is X.Name or X->Name (Arrow). Tuple access is X.0 (Name "0").
type Field struct {
	P     Pos
	X     Expr
	Name  string
	Arrow bool
	From  Pos // where the text starts, parentheses around X included
}

// Index is X[Index] on arrays, pointers and strings (not maps).
type Index struct {
	P     Pos
	X     Expr
	Index Expr
	From  Pos // where the text starts, parentheses around X included
}

// Cast is (Type)X.
type Cast struct {
	P    Pos
	Type *TypeExpr
	X    Expr
}

// Tuple is (a, b, ...); (a,) has one element and () none.
type Tuple struct {
	P     Pos
	Elems []Expr
}

// Record is (name=a, other=b), a tuple with named fields.
type Record struct {
	P      Pos
	Names  []string
	Values []Expr
}

// BlockExpr is a block used as an expression: { stmts...; value }. Value
// is the last expression written without a trailing ';', nil when the block
// yields nothing. The checker also produces BlockExprs when it expands a
// macro call; codegen must therefore accept them wherever an expression or
// statement may appear.
type BlockExpr struct {
	P     Pos
	Stmts []Stmt
	Value Expr
}

// Sizeof is sizeof(Type) or sizeof(X); exactly one is set.
type Sizeof struct {
	P    Pos
	Type *TypeExpr
	X    Expr
}

// Offsetof is offsetof(Type, a.b.c) or offsetof(X, a.b.c).
type Offsetof struct {
	P     Pos
	Type  *TypeExpr
	X     Expr
	Field []string
}

// TypeExpr is a type as written: "uint64", "struct task_struct *",
// "int8[4]", "string".
type TypeExpr struct {
	P     Pos
	Name  string // "int32", "struct sock", "union x", "enum y", "string", "inet", ...
	Ptr   int    // number of '*'
	Array int    // element count when written as T[N], else 0 (-1 for T[])
	Of    Expr   // for typeof(expr): the expression; Name is "typeof"
}

func (n *IntLit) Pos() Pos    { return n.P }
func (n *StrLit) Pos() Pos    { return n.P }
func (n *BoolLit) Pos() Pos   { return n.P }
func (n *PosParam) Pos() Pos  { return n.P }
func (n *Var) Pos() Pos       { return n.P }
func (n *MapRef) Pos() Pos    { return n.P }
func (n *MapIndex) Pos() Pos  { return n.P }
func (n *Ident) Pos() Pos     { return n.P }
func (n *Call) Pos() Pos      { return n.P }
func (n *Unary) Pos() Pos     { return n.P }
func (n *Binary) Pos() Pos    { return n.P }
func (n *Ternary) Pos() Pos   { return n.P }
func (n *Field) Pos() Pos     { return n.P }
func (n *Index) Pos() Pos     { return n.P }
func (n *Cast) Pos() Pos      { return n.P }
func (n *Tuple) Pos() Pos     { return n.P }
func (n *Record) Pos() Pos    { return n.P }
func (n *BlockExpr) Pos() Pos { return n.P }
func (n *Sizeof) Pos() Pos    { return n.P }
func (n *Offsetof) Pos() Pos  { return n.P }
func (n *TypeExpr) Pos() Pos  { return n.P }

func (*IntLit) expr()    {}
func (*StrLit) expr()    {}
func (*BoolLit) expr()   {}
func (*PosParam) expr()  {}
func (*Var) expr()       {}
func (*MapRef) expr()    {}
func (*MapIndex) expr()  {}
func (*Ident) expr()     {}
func (*Call) expr()      {}
func (*Unary) expr()     {}
func (*Binary) expr()    {}
func (*Ternary) expr()   {}
func (*Field) expr()     {}
func (*Index) expr()     {}
func (*Cast) expr()      {}
func (*Tuple) expr()     {}
func (*Record) expr()    {}
func (*BlockExpr) expr() {}
func (*Sizeof) expr()    {}
func (*Offsetof) expr()  {}
func (*TypeExpr) expr()  {}

// Start is where the text of e begins: bpftrace reports a problem with a
// binary operation, field access or index at its left operand (at the
// parenthesis before it, if any), while the tree positions those nodes at
// their operator.
func Start(e Expr) Pos {
	switch e := e.(type) {
	case *Binary:
		return startFrom(e.From, e.X)
	case *Ternary:
		return Start(e.Cond)
	case *Field:
		return startFrom(e.From, e.X)
	case *Index:
		return startFrom(e.From, e.X)
	case *Unary:
		if e.Postfix {
			return Start(e.X)
		}
	}
	return e.Pos()
}

func startFrom(from Pos, x Expr) Pos {
	if from.Line > 0 {
		return from
	}
	return Start(x)
}
