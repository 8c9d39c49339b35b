package syntax

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The grammar, informally (terminals quoted, [] optional, {} repeated):
//
//	file      = { preamble | probe | ";" }
//	preamble  = "config" "=" "{" { ident "=" expr [";"] } "}"
//	          | "let" map "=" ident "(" args ")" ";"
//	          | "macro" ident "(" [param {"," param}] ")" block
//	          | "fn" ident "(" [var ":" type {"," ...}] ")" [":" type] block
//	          | "import" string ";"
//	          | C struct/union/enum/typedef definition (kept as text)
//	probe     = attach {"," attach} ["/" expr "/"] block
//	block     = "{" { stmt (";" | before "}") | blockstmt | ";" } "}"
//	blockstmt = block | "if" "(" expr ")" block ["else" (if | block)]
//	          | "while" "(" expr ")" block | "unroll" "(" expr ")" block
//	          | "for" "(" var ":" (map | expr ".." expr) ")" block
//	stmt      = "let" var [":" type] ["=" expr] | "break" | "continue"
//	          | "return" [expr] | expr [assignop expr]
//	expr      = binary ["?" expr ":" expr]      (binary: C precedence)
//	unary     = ("-"|"!"|"~"|"*"|"&"|"++"|"--") unary | "(" type ")" unary
//	          | primary { "++" | "--" | "." (ident|int) | "->" ident | "[" expr "]" }
//	primary   = int | string | "true" | "false" | $N | $# | var | map ["[" args "]"]
//	          | ident ["(" args ")"] | "sizeof" "(" (type|expr) ")"
//	          | "offsetof" "(" (type|expr) "," ident {"." ident} ")"
//	          | "(" ")" | "(" expr ")" | "(" expr "," [args] ")"
//	          | "(" ident "=" expr {"," ident "=" expr} ")" | "{" stmts [expr] "}"
//
// Inside a predicate, a '/' followed by '{' ends the predicate instead of
// dividing. A parenthesised identifier is a cast when it names a known
// integer or C type, is followed by '*', or is followed by an operand that
// cannot continue an expression ("(my_typedef)arg0").

// maxErrors bounds the errors reported for one file; past it the rest are
// mostly consequences of the first ones.
const maxErrors = 20

// maxExpanded bounds the tokens #define expansion may produce in a file:
// definitions that each use the next one twice grow exponentially.
const maxExpanded = 10000

// maxDepth bounds expression and block nesting so that hostile input cannot
// exhaust the stack.
const maxDepth = 500

// Parse parses a whole script. name is used in error messages ("stdin" for
// -e programs, like bpftrace). On failure the error is an *ErrorList and the
// returned File holds what could be parsed.
func Parse(name string, src []byte) (*File, error) {
	return parse(name, src, nil)
}

// parse parses the script, or the imported file imp when it is not nil.
func parse(name string, src []byte, imp *Source) (*File, error) {
	p := &parser{file: &File{Name: name, Src: src}}
	p.s = newScanner(src, p.scanError)
	p.s.file = imp
	p.parseFile()
	p.file.Defines = p.s.defList
	p.file.Includes = p.s.includes
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *Error) int { return a.Pos.Compare(b.Pos) })
		return p.file, &ErrorList{File: name, Src: src, Errors: p.errs}
	}
	return p.file, nil
}

type parser struct {
	s    *scanner
	file *File
	errs []*Error

	expanded int // tokens produced by #define expansion so far

	tok     token   // current token
	ahead   []token // tokens already scanned past tok
	pending []token // the rest of a #define expansion, before more source
	depth   int

	// lastSemi tells whether the statement parsed last ended with ';': a
	// block's value is its last expression only when written without one.
	lastSemi bool

	// noDiv is set inside a predicate "/expr/": there a '/' followed by the
	// '{' of the action block is the closing slash, not a division, as in
	// bpftrace. Parentheses and brackets reset it.
	noDiv bool
}

// bailout unwinds the parser to the nearest statement or top-level item
// after a syntax error has been recorded.
type bailout struct{}

func (p *parser) scanError(pos, end Pos, msg string) {
	p.addError(pos, end, msg)
}

func (p *parser) addError(pos, end Pos, msg string) {
	for _, e := range p.errs {
		if e.Pos == pos {
			return // one error per place: the first explains the rest
		}
	}
	p.errs = append(p.errs, &Error{Pos: pos, End: end, Msg: msg})
	if len(p.errs) >= maxErrors {
		panic(tooMany{})
	}
}

type tooMany struct{}

// errorf records an error at the current token and abandons the construct.
func (p *parser) errorf(format string, args ...any) {
	p.addError(p.tok.pos, p.tok.endPos, fmt.Sprintf(format, args...))
	panic(bailout{})
}

func (p *parser) unexpected(expecting string) {
	msg := "syntax error, unexpected " + p.tok.describe()
	if expecting != "" {
		msg += ", expecting " + expecting
	}
	p.errorf("%s", msg)
}

// scan produces the next token from the source, expanding #define names.
func (p *parser) scan() token {
	for {
		if len(p.pending) > 0 {
			t := p.pending[0]
			p.pending = p.pending[1:]
			return t
		}
		t := p.s.next()
		d := p.s.defines[t.text]
		if t.kind != tIdent || d == nil {
			return t
		}
		var toks []token
		if d.Params == nil {
			toks = p.expand(d, t, nil, nil)
		} else if args, ok := p.macroArgs(); ok {
			toks = p.expand(d, t, nil, args)
		} else {
			return t // a function-like macro's name without arguments
		}
		p.pending = append(toks, p.pending...)
	}
}

// macroArgs reads the parenthesised arguments of a function-like macro
// call from the source. Without a '(' it consumes nothing.
func (p *parser) macroArgs() ([][]token, bool) {
	saved := p.s.save()
	open := p.s.next()
	if !open.is("(") {
		p.s.restore(saved)
		return nil, false
	}
	args := [][]token{nil}
	depth := 0
	for {
		t := p.s.next()
		switch {
		case t.kind == tEOF:
			p.addError(open.pos, open.endPos, "unterminated macro call")
			return args, true
		case t.is("(") || t.is("[") || t.is("{"):
			depth++
		case (t.is(")") || t.is("]") || t.is("}")) && depth > 0:
			depth--
		case t.is(")"):
			return args, true
		case t.is(",") && depth == 0:
			args = append(args, nil)
			continue
		}
		args[len(args)-1] = append(args[len(args)-1], t)
	}
}

// expand returns the tokens of a #define's value, all placed at the
// position of the name they replace, with parameters replaced by args. As
// in C, a name is not expanded again inside its own expansion (outer lists
// the names being expanded).
func (p *parser) expand(d *Define, at token, outer []string, args [][]token) []token {
	if p.expanded > maxExpanded {
		return nil
	}
	if d.Params != nil && len(args) != len(d.Params) && !(len(d.Params) == 0 && len(args) == 1 && args[0] == nil) {
		p.addError(at.pos, at.endPos, fmt.Sprintf("macro %s takes %d arguments, got %d", d.Name, len(d.Params), len(args)))
		return nil
	}
	outer = append(outer, d.Name)
	var out []token
	sub := newScanner([]byte(d.Value), func(_, _ Pos, msg string) {
		p.addError(at.pos, at.endPos, msg+" in expansion of "+d.Name)
	})
	for {
		t := sub.next()
		if t.kind == tEOF {
			return out
		}
		p.expanded++
		if p.expanded > maxExpanded {
			p.addError(at.pos, at.endPos, "expansion of "+d.Name+" is too large")
			return out
		}
		t.pos, t.endPos, t.off, t.end = at.pos, at.endPos, at.off, at.end
		if t.kind == tIdent {
			if i := slices.Index(d.Params, t.text); i >= 0 {
				for _, a := range args[i] {
					if dd := p.s.defines[a.text]; a.kind == tIdent && dd != nil && dd.Params == nil && !slices.Contains(outer, a.text) {
						out = append(out, p.expand(dd, a, outer, nil)...)
					} else {
						out = append(out, a)
					}
				}
				continue
			}
			if dd := p.s.defines[t.text]; dd != nil && dd.Params == nil && !slices.Contains(outer, t.text) {
				out = append(out, p.expand(dd, t, outer, nil)...)
				continue
			}
		}
		out = append(out, t)
	}
}

func (p *parser) next() {
	if len(p.ahead) > 0 {
		p.tok = p.ahead[0]
		p.ahead = p.ahead[1:]
		return
	}
	p.tok = p.scan()
}

// peek returns the token i places after the current one (peek(0) is the
// next token).
func (p *parser) peek(i int) token {
	for len(p.ahead) <= i {
		t := p.scan()
		p.ahead = append(p.ahead, t)
		if t.kind == tEOF {
			break
		}
	}
	if i < len(p.ahead) {
		return p.ahead[i]
	}
	return p.ahead[len(p.ahead)-1]
}

func (p *parser) got(punct string) bool {
	if p.tok.is(punct) {
		p.next()
		return true
	}
	return false
}

func (p *parser) want(punct string) Pos {
	pos := p.tok.pos
	if !p.tok.is(punct) {
		if punct == "," {
			punct = `","` // bpftrace's spelling
		}
		p.unexpected(punct)
	}
	p.next()
	return pos
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.errorf("program nests too deeply")
	}
}

func (p *parser) leave() { p.depth-- }

// ---- top level ----

func (p *parser) parseFile() {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(tooMany); !ok {
				if _, ok := r.(bailout); !ok {
					panic(r)
				}
			}
		}
	}()
	for {
		// Top-level items are recognised from the raw text: an attach
		// point does not follow the normal token rules.
		p.ahead, p.pending = nil, nil
		p.s.skipSpace()
		if p.s.off >= len(p.s.src) {
			return
		}
		if p.s.src[p.s.off] == ';' {
			p.s.off++ // a stray ';' after a preamble item or probe
			continue
		}
		if !p.topItem() {
			return
		}
	}
}

// topItem parses one preamble item or probe. It reports false when parsing
// cannot usefully continue.
func (p *parser) topItem() (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, isBail := r.(bailout); !isBail {
				panic(r)
			}
			p.depth, p.noDiv = 0, false
			ok = p.syncTop()
		}
	}()
	word := p.rawWord()
	switch word {
	case "config", "fn", "macro", "let", "import":
		if !p.preambleAhead(word) {
			break // a probe whose provider happens to have that name
		}
		p.next()
		switch word {
		case "config":
			p.parseConfig()
		case "fn":
			p.parseFunc()
		case "macro":
			p.parseMacro()
		case "let":
			p.parseMapDecl()
		case "import":
			p.parseImport()
		}
		return true
	case "struct", "union", "enum", "typedef":
		p.parseCDef(word)
		return true
	}
	p.parseProbe()
	return true
}

// syncTop skips to the start of what may be the next top-level item after
// an error: past the '}' that closes the current item.
func (p *parser) syncTop() bool {
	depth := 0
	for {
		switch {
		case p.tok.kind == tEOF:
			return false
		case p.tok.is("{"):
			depth++
		case p.tok.is("}"):
			depth--
			if depth <= 0 {
				p.closeTop()
				return true
			}
		}
		p.next()
	}
}

// preambleAhead tells from the raw text whether the keyword at the scanner
// position starts a preamble item: what follows it must fit.
func (p *parser) preambleAhead(word string) bool {
	src, i := p.s.src, p.s.off+len(word)
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
		i++
	}
	if i >= len(src) {
		return false
	}
	switch word {
	case "config":
		return src[i] == '='
	case "let":
		return src[i] == '@'
	case "import":
		return src[i] == '"'
	}
	return isIdentByte(src[i], false)
}

func (p *parser) rawWord() string {
	src, i := p.s.src, p.s.off
	j := i
	for j < len(src) && isIdentByte(src[j], j > i) {
		j++
	}
	return string(src[i:j])
}

func (p *parser) parseConfig() {
	p.next() // config
	p.want("=")
	p.want("{")
	for !p.tok.is("}") {
		if p.tok.kind != tIdent {
			p.unexpected("identifier")
		}
		a := &ConfigAssign{P: p.tok.pos, Key: p.tok.text}
		p.next()
		p.want("=")
		a.Value = p.parseExpr()
		p.file.Config = append(p.file.Config, a)
		if !p.got(";") && !p.tok.is("}") {
			p.unexpected("; or }")
		}
	}
	// the closing '}' is left for the top-level loop to skip
	p.closeTop()
}

// closeTop checks that the current token ends a top-level item; the loop
// in parseFile continues from the raw text after it.
func (p *parser) closeTop() {
	if !p.tok.is("}") && !p.tok.is(";") {
		p.unexpected("}")
	}
	p.s.off = p.tok.end
	p.s.line, p.s.lineOff = p.tok.endPos.Line, p.tok.end-(p.tok.endPos.Col-1)
	p.ahead, p.pending = nil, nil
}

func (p *parser) parseImport() {
	pos := p.tok.pos
	p.next()
	if p.tok.kind != tString {
		p.unexpected("string")
	}
	p.file.Imports = append(p.file.Imports, &Import{P: pos, Path: p.tok.text})
	p.next()
	p.closeTop()
}

func (p *parser) parseMapDecl() {
	pos := p.tok.pos
	p.next() // let
	if p.tok.kind != tMap {
		p.unexpected("map")
	}
	d := &MapDecl{P: pos, Name: strings.TrimPrefix(p.tok.text, "@")}
	p.next()
	p.want("=")
	if p.tok.kind != tIdent {
		p.unexpected("identifier")
	}
	d.Kind = p.tok.text
	p.next()
	p.want("(")
	d.Elems = p.parseArgs(")")
	if len(d.Elems) > 0 {
		if n, ok := d.Elems[0].(*IntLit); ok {
			d.Size = int64(n.Value)
		}
	}
	p.file.Maps = append(p.file.Maps, d)
	if !p.tok.is(";") {
		p.unexpected(";")
	}
	p.closeTop()
}

// declHead reads the start of a fn or macro declaration up to the "(" of
// its parameters and returns its name.
func (p *parser) declHead() string {
	p.next() // fn or macro
	if p.tok.kind != tIdent {
		p.unexpected("identifier")
	}
	name := p.tok.text
	p.next()
	p.want("(")
	return name
}

func (p *parser) parseFunc() {
	fn := &FuncDecl{P: p.tok.pos}
	fn.Name = p.declHead()
	for !p.tok.is(")") {
		if p.tok.kind != tVar {
			p.unexpected("variable")
		}
		prm := &Param{P: p.tok.pos, Name: p.tok.text}
		p.next()
		p.want(":")
		prm.Type = p.parseType()
		fn.Params = append(fn.Params, prm)
		if !p.got(",") && !p.tok.is(")") {
			p.unexpected(") or \",\"")
		}
	}
	p.next()
	if p.got(":") {
		fn.Result = p.parseType()
	}
	fn.Body = p.parseBlockTop()
	p.file.Funcs = append(p.file.Funcs, fn)
}

func (p *parser) parseMacro() {
	m := &MacroDecl{P: p.tok.pos}
	m.Name = p.declHead()
	for !p.tok.is(")") {
		switch p.tok.kind {
		case tVar:
			m.Params = append(m.Params, &Var{P: p.tok.pos, Name: p.tok.text})
		case tMap:
			m.Params = append(m.Params, &MapRef{P: p.tok.pos, Name: p.tok.text})
		case tIdent:
			m.Params = append(m.Params, &Ident{P: p.tok.pos, Name: p.tok.text})
		default:
			p.unexpected("variable, map or identifier")
		}
		p.next()
		if !p.got(",") && !p.tok.is(")") {
			p.unexpected(") or \",\"")
		}
	}
	p.next()
	m.Body = p.parseBlockTop()
	p.file.Macros = append(p.file.Macros, m)
}

// parseCDef captures a C type definition verbatim: the keyword, everything
// up to the matching '}', and a following ';' (or up to ';' for a typedef
// without braces).
func (p *parser) parseCDef(kind string) {
	s := p.s
	start, pos := s.off, s.posAt(s.off)
	s.off += len(kind)
	d := &CDef{P: pos, Kind: kind}
	s.skipSpace()
	if kind != "typedef" {
		d.Name = p.rawWord()
	}
	depth := 0
	for {
		s.skipSpace()
		if s.off >= len(s.src) {
			p.addError(pos, pos, "unterminated "+kind+" definition")
			return
		}
		c := s.src[s.off]
		s.off++
		switch c {
		case '{':
			depth++
		case '}':
			depth--
		case ';':
			if depth == 0 {
				d.Text = string(s.src[start:s.off])
				if kind == "typedef" {
					d.Name = lastWord(d.Text)
				}
				p.file.CDefs = append(p.file.CDefs, d)
				return
			}
		}
		if c == '}' && depth == 0 && kind != "typedef" {
			end := s.off
			s.skipSpace()
			if s.skipAttributes() {
				end = s.off
				s.skipSpace()
			}
			if s.off < len(s.src) && s.src[s.off] == ';' {
				s.off++
				end = s.off
			}
			d.Text = string(s.src[start:end])
			p.file.CDefs = append(p.file.CDefs, d)
			return
		}
	}
}

func (p *parser) parseProbe() {
	pr := &Probe{P: p.s.posAt(p.s.off)}
	pr.Name = p.s.scanProbeName()
	for {
		raw, parts, pos := p.s.scanAttachPoint()
		if raw == "" {
			p.next()
			p.unexpected("attach point")
		}
		pr.Points = append(pr.Points, &AttachPoint{P: pos, Raw: raw, Parts: parts})
		p.s.skipSpace()
		if p.s.off < len(p.s.src) && p.s.src[p.s.off] == ',' {
			p.s.off++
			p.s.skipSpace()
			// bpftrace allows a comma after the last attach point: no
			// attach point starts with the predicate's '/' or a '{'.
			if p.s.off < len(p.s.src) && (p.s.src[p.s.off] == '{' || p.s.src[p.s.off] == '/') {
				break
			}
			continue
		}
		break
	}
	p.next()
	if p.tok.is("/") {
		p.next()
		p.noDiv = true
		pr.Pred = p.parseExpr()
		p.noDiv = false
		p.want("/")
	}
	if !p.tok.is("{") {
		p.unexpected("{")
	}
	pr.Body = p.parseBlockTop()
	p.file.Probes = append(p.file.Probes, pr)
}

// parseBlockTop parses the block that ends a top-level item.
func (p *parser) parseBlockTop() *Block {
	b := p.parseBlockOpen()
	p.closeTop()
	return b
}

// ---- statements ----

// parseBlock parses { stmts } and moves past the '}'.
func (p *parser) parseBlock() *Block {
	b := p.parseBlockOpen()
	p.next()
	return b
}

// parseBlockOpen parses { stmts } leaving the '}' as the current token.
func (p *parser) parseBlockOpen() *Block {
	p.enter()
	defer p.leave()
	b := &Block{P: p.want("{")}
	for !p.tok.is("}") {
		if p.tok.kind == tEOF {
			p.unexpected("}")
		}
		if p.got(";") {
			p.lastSemi = true
			continue // an empty statement, as after "if (c) { };"
		}
		if st := p.parseStmtRecover(); st != nil {
			b.Stmts = append(b.Stmts, st)
		}
	}
	b.Semi = p.lastSemi
	return b
}

// parseStmtRecover parses one statement with its terminator. After a syntax
// error it skips to the next ';' at this nesting level (or to the '}' that
// ends the block) so that later errors are reported too.
func (p *parser) parseStmtRecover() (st Stmt) {
	depth := p.depth
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bailout); !ok {
				panic(r)
			}
			p.depth = depth
			p.noDiv = false
			st = nil
			p.syncStmt()
		}
	}()
	st = p.parseStmt()
	p.lastSemi = p.tok.is(";")
	switch {
	case p.got(";"):
	case p.tok.is("}"):
	case isBlockStmt(st):
	default:
		p.unexpected("; or }")
	}
	return st
}

func (p *parser) syncStmt() {
	nest := 0
	for {
		switch {
		case p.tok.kind == tEOF:
			p.unexpected("}")
		case p.tok.is("{") || p.tok.is("(") || p.tok.is("["):
			nest++
		case p.tok.is(")") || p.tok.is("]"):
			nest = max(0, nest-1)
		case p.tok.is("}"):
			if nest == 0 {
				return
			}
			nest--
		case p.tok.is(";") && nest == 0:
			p.next()
			return
		}
		p.next()
	}
}

func isBlockStmt(s Stmt) bool {
	switch s.(type) {
	case *Block, *IfStmt, *WhileStmt, *ForStmt, *UnrollStmt:
		return true
	}
	return false
}

func (p *parser) parseStmt() Stmt {
	t := p.tok
	if t.is("{") {
		return p.parseBlock()
	}
	if t.kind == tIdent {
		switch t.text {
		case "if":
			return p.parseIf()
		case "while":
			pos := t.pos
			cond := p.parseCond()
			return &WhileStmt{P: pos, Cond: cond, Body: p.parseBlock()}
		case "for":
			return p.parseFor()
		case "unroll":
			pos := t.pos
			n, rp := p.parseHead()
			return &UnrollStmt{P: pos, Count: n, Rparen: rp, Body: p.parseBlock()}
		case "break", "continue":
			p.next()
			return &JumpStmt{P: t.pos, Kind: t.text}
		case "return":
			p.next()
			j := &JumpStmt{P: t.pos, Kind: "return"}
			if !p.tok.is(";") && !p.tok.is("}") {
				j.Value = p.parseExpr()
			}
			return j
		case "let":
			return p.parseLet()
		}
	}
	x := p.parseExpr()
	if op := p.tok.text; p.tok.kind == tPunct && isAssignOp(op) {
		pos := p.tok.pos
		p.next()
		return &AssignStmt{P: pos, LHS: x, Op: op, RHS: p.parseExpr()}
	}
	return &ExprStmt{X: x}
}

func isAssignOp(op string) bool {
	switch op {
	case "=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=":
		return true
	}
	return false
}

// parseHead reads the keyword of unroll and the expression in parentheses
// after it.
// parseHead reads "keyword (expr)", giving the expression and where its
// ")" is.
func (p *parser) parseHead() (Expr, Pos) {
	p.next()
	p.want("(")
	x := p.parseExprNested()
	return x, p.want(")")
}

// parseCond reads the keyword of if or while and the condition after it,
// which newer bpftrace also takes without parentheses: if $x { ... }. A
// parenthesised one is an expression in parentheses.
func (p *parser) parseCond() Expr {
	p.next()
	return p.parseExprNested()
}

func (p *parser) parseIf() *IfStmt {
	s := &IfStmt{P: p.tok.pos}
	var then Stmt
	s.Cond, then, s.Else = ifParts(p, func() Stmt { return p.parseBlock() }, func() Stmt { return p.parseIf() })
	s.Then, _ = then.(*Block)
	return s
}

// ifParts reads "if cond { } [else if ... | else { }]", the arms with
// block and a chained if with chain; a missing else is the zero T.
func ifParts[T any](p *parser, block, chain func() T) (cond Expr, then, els T) {
	cond = p.parseCond()
	if !p.tok.is("{") {
		p.unexpected("{")
	}
	then = block()
	if !p.tok.isWord("else") {
		return cond, then, els
	}
	p.next()
	switch {
	case p.tok.isWord("if"):
		els = chain()
	case p.tok.is("{"):
		els = block()
	default:
		p.unexpected("{")
	}
	return cond, then, els
}

// parseFor reads both spellings of the loop head: "for ($x : ...)" and,
// as newer bpftrace also writes it, "for $x : ..." without parentheses.
func (p *parser) parseFor() *ForStmt {
	s := &ForStmt{P: p.tok.pos}
	p.next()
	paren := p.got("(")
	if p.tok.kind != tVar {
		p.unexpected("variable")
	}
	s.Var = &Var{P: p.tok.pos, Name: p.tok.text}
	p.next()
	p.want(":")
	x := p.parseExprNested()
	if p.got("..") {
		s.Lo, s.Hi = x, p.parseExprNested()
	} else if m, ok := x.(*MapRef); ok {
		s.Map = m
	} else {
		p.unexpected("..")
	}
	if paren {
		p.want(")")
	}
	if !p.tok.is("{") {
		p.unexpected("{")
	}
	s.Body = p.parseBlock()
	return s
}

func (p *parser) parseLet() *VarDecl {
	d := &VarDecl{P: p.tok.pos}
	p.next()
	if p.tok.kind != tVar {
		p.unexpected("variable")
	}
	d.Var = &Var{P: p.tok.pos, Name: p.tok.text}
	p.next()
	if p.got(":") {
		d.Type = p.parseType()
	}
	if p.got("=") {
		d.Value = p.parseExpr()
	}
	return d
}

// ---- types ----

// intTypes are the type names a parenthesised identifier may be cast to
// without further hints.
var intTypes = map[string]bool{
	"bool": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"int8_t": true, "int16_t": true, "int32_t": true, "int64_t": true,
	"uint8_t": true, "uint16_t": true, "uint32_t": true, "uint64_t": true,
	"u8": true, "u16": true, "u32": true, "u64": true,
	"s8": true, "s16": true, "s32": true, "s64": true,
	"__u8": true, "__u16": true, "__u32": true, "__u64": true,
	"__s8": true, "__s16": true, "__s32": true, "__s64": true,
	"char": true, "short": true, "int": true, "long": true, "unsigned": true, "signed": true,
	"size_t": true, "ssize_t": true, "pid_t": true, "uid_t": true, "gid_t": true,
	"string": true, "inet": true, "void": true, "buffer": true,
}

// la returns the current token for i == 0 and the i-th token after it
// otherwise.
func (p *parser) la(i int) token {
	if i == 0 {
		return p.tok
	}
	return p.peek(i - 1)
}

// typeAt reports whether the tokens starting at la(i) spell a type
// followed by ')', as in a cast. A plain identifier counts as a type only
// when it is a known type name or is followed by '*'.
func (p *parser) typeAt(i int) bool {
	t := p.la(i)
	switch {
	case t.isWord("struct") || t.isWord("union") || t.isWord("enum"),
		t.isWord("unsigned") || t.isWord("signed") || t.isWord("const"):
		return true
	case t.kind != tIdent:
		return false
	}
	known := intTypes[t.text]
	i++
	if t.text == "typeof" && p.la(i).is("(") {
		// typeof(...) is a type whatever it holds: skip to its ')'.
		for depth := 0; ; i++ {
			switch tk := p.la(i); {
			case tk.kind == tEOF:
				return false
			case tk.is("("):
				depth++
			case tk.is(")"):
				depth--
			}
			if depth == 0 {
				break
			}
		}
		i++
		known = true
	}
	stars := 0
	for p.la(i).is("*") {
		stars++
		i++
	}
	if p.la(i).is("[") {
		i++
		if p.la(i).kind == tInt {
			i++
		}
		if !p.la(i).is("]") {
			return false
		}
		i++
	}
	return p.la(i).is(")") && (known || stars > 0)
}

// typedefCast reports whether the current '(' starts "(name) operand": a
// cast to a type name the parser does not know (a kernel typedef), which
// bpftrace accepts when the token after ')' can only begin an operand.
func (p *parser) typedefCast() bool {
	if p.la(1).kind != tIdent || !p.la(2).is(")") {
		return false
	}
	switch t := p.la(3); t.kind {
	case tIdent:
		return !isKeyword(t.text)
	case tInt, tString, tVar, tMap, tParam, tCount:
		return true
	case tPunct:
		return t.text == "(" || t.text == "!" || t.text == "~"
	}
	return false
}

func isKeyword(w string) bool {
	switch w {
	case "if", "else", "while", "for", "unroll", "break", "continue", "return", "let":
		return true
	}
	return false
}

func (p *parser) parseType() *TypeExpr {
	t := &TypeExpr{P: p.tok.pos}
	for p.tok.isWord("const") || p.tok.isWord("volatile") {
		p.next()
	}
	switch {
	case p.tok.isWord("struct") || p.tok.isWord("union") || p.tok.isWord("enum"):
		kw := p.tok.text
		p.next()
		if p.tok.kind != tIdent {
			p.unexpected("identifier")
		}
		t.Name = kw + " " + p.tok.text
		p.next()
	case p.tok.isWord("unsigned") || p.tok.isWord("signed"):
		// C spellings such as "unsigned long long" and "unsigned int".
		words := []string{p.tok.text}
		p.next()
		for p.tok.kind == tIdent && (p.tok.text == "char" || p.tok.text == "short" || p.tok.text == "int" || p.tok.text == "long") {
			words = append(words, p.tok.text)
			p.next()
		}
		t.Name = strings.Join(words, " ")
	case p.tok.isWord("typeof") && p.peek(0).is("("):
		p.next()
		p.next()
		if p.typeArg() {
			inner := p.parseType()
			t.Name, t.Ptr, t.Array = inner.Name, inner.Ptr, inner.Array
		} else {
			t.Name, t.Of = "typeof", p.parseExprNested()
		}
		p.want(")")
	case p.tok.kind == tIdent:
		t.Name = p.tok.text
		p.next()
		for t.Name == "long" && (p.tok.isWord("long") || p.tok.isWord("int")) {
			t.Name += " " + p.tok.text
			p.next()
		}
	default:
		p.unexpected("type")
	}
	for p.tok.isWord("const") {
		p.next()
	}
	for p.got("*") {
		t.Ptr++
		for p.tok.isWord("const") {
			p.next()
		}
	}
	if p.got("[") {
		t.Array = -1
		if p.tok.kind == tInt {
			t.Array = int(min(p.tok.val, 1<<31-1))
			p.next()
		}
		p.want("]")
	}
	return t
}

// ---- expressions ----

// parseExprNested parses an expression inside brackets, where '/' always
// divides.
func (p *parser) parseExprNested() Expr {
	saved := p.noDiv
	p.noDiv = false
	x := p.parseExpr()
	p.noDiv = saved
	return x
}

func (p *parser) parseExpr() Expr {
	p.enter()
	defer p.leave()
	cond := p.parseBinary(1)
	if !p.tok.is("?") {
		return cond
	}
	pos := p.tok.pos
	p.next()
	var then Expr
	if !p.tok.is(":") {
		then = p.parseExpr()
	}
	p.want(":")
	return &Ternary{P: pos, Cond: cond, Then: then, Else: p.parseExpr()}
}

// parseIfExpr reads an if used as an expression, which is a ternary
// whose arms are blocks; a missing else is an empty block.
func (p *parser) parseIfExpr() Expr {
	x := &Ternary{P: p.tok.pos}
	x.Cond, x.Then, x.Else = ifParts(p, p.parseBlockExpr, p.parseIfExpr)
	if x.Else == nil {
		x.Else = &BlockExpr{P: p.tok.pos}
	}
	return x
}

var binPrec = map[string]int{
	"||": 1,
	"&&": 2,
	"|":  3,
	"^":  4,
	"&":  5,
	"==": 6, "!=": 6,
	"<": 7, "<=": 7, ">": 7, ">=": 7,
	"<<": 8, ">>": 8,
	"+": 9, "-": 9,
	"*": 10, "/": 10, "%": 10,
}

// parseBinary parses a left-associative chain of operators of precedence
// at least prec.
func (p *parser) parseBinary(prec int) Expr {
	from := p.tok.pos
	x := p.parseUnary()
	for {
		op := p.tok.text
		pr, ok := binPrec[op]
		if p.tok.kind != tPunct || !ok || pr < prec || op == "/" && p.noDiv && p.peek(0).is("{") {
			return x
		}
		pos := p.tok.pos
		p.next()
		y := p.parseBinary(pr + 1)
		x = &Binary{P: pos, Op: op, X: x, Y: y, From: from}
	}
}

func (p *parser) parseUnary() Expr {
	p.enter()
	defer p.leave()
	t := p.tok
	if t.kind == tPunct {
		switch t.text {
		case "-", "!", "~", "*", "&", "++", "--":
			p.next()
			return &Unary{P: t.pos, Op: t.text, X: p.parseUnary()}
		case "(":
			if p.typeAt(1) || p.typedefCast() {
				p.next()
				typ := p.parseType()
				p.want(")")
				return &Cast{P: t.pos, Type: typ, X: p.parseUnary()}
			}
		}
	}
	from := p.tok.pos
	return p.parsePostfix(p.parsePrimary(), from)
}

// parsePostfix reads the postfix operators after x, whose text starts at
// from.
func (p *parser) parsePostfix(x Expr, from Pos) Expr {
	for {
		t := p.tok
		switch {
		case t.is("++") || t.is("--"):
			p.next()
			x = &Unary{P: t.pos, Op: t.text, X: x, Postfix: true}
		case t.is(".") || t.is("->"):
			p.next()
			var name string
			switch p.tok.kind {
			case tIdent:
				name = p.tok.text
			case tInt:
				if t.is("->") || strconv.FormatUint(p.tok.val, 10) != p.tok.text {
					p.unexpected("identifier")
				}
				name = p.tok.text
			default:
				p.unexpected("identifier")
			}
			p.next()
			x = &Field{P: t.pos, X: x, Name: name, Arrow: t.is("->"), From: from}
		case t.is("["):
			p.next()
			i := p.parseExprNested()
			p.want("]")
			x = &Index{P: t.pos, X: x, Index: i, From: from}
		default:
			return x
		}
	}
}

func (p *parser) parsePrimary() Expr {
	t := p.tok
	switch t.kind {
	case tInt:
		p.next()
		return &IntLit{P: t.pos, Value: t.val, Text: t.text}
	case tString:
		p.next()
		return &StrLit{P: t.pos, Value: t.text}
	case tParam:
		p.next()
		return &PosParam{P: t.pos, N: int(t.val)}
	case tCount:
		p.next()
		return &PosParam{P: t.pos, Count: true}
	case tVar:
		p.next()
		return &Var{P: t.pos, Name: t.text}
	case tMap:
		p.next()
		m := &MapRef{P: t.pos, Name: t.text}
		if p.tok.is("[") {
			p.next()
			keys := p.parseArgs("]")
			if len(keys) == 0 {
				p.addError(t.pos, p.tok.pos, "empty map key")
			}
			return &MapIndex{P: t.pos, Map: m, Keys: keys}
		}
		return m
	case tIdent:
		switch t.text {
		case "true", "false":
			p.next()
			return &BoolLit{P: t.pos, Value: t.text == "true"}
		case "if":
			return p.parseIfExpr()
		case "typeof":
			// A type standing as a value: a macro argument that the
			// macro's body uses as a type.
			if p.peek(0).is("(") {
				return p.parseType()
			}
		case "sizeof":
			return p.parseSizeof()
		case "offsetof":
			return p.parseOffsetof()
		}
		p.next()
		if p.tok.is("(") {
			p.next()
			return &Call{P: t.pos, Name: t.text, Args: p.parseArgs(")")}
		}
		return &Ident{P: t.pos, Name: t.text}
	case tPunct:
		switch t.text {
		case "(":
			return p.parseParen()
		case "{":
			return p.parseBlockExpr()
		}
	}
	p.unexpected("")
	return nil
}

// parseArgs parses a comma-separated list up to and including close.
func (p *parser) parseArgs(close string) []Expr {
	saved := p.noDiv
	p.noDiv = false
	defer func() { p.noDiv = saved }()
	var args []Expr
	for !p.tok.is(close) {
		args = append(args, p.parseExpr())
		if !p.got(",") && !p.tok.is(close) {
			p.unexpected(close + ` or ","`)
		}
	}
	p.next()
	return args
}

// parseParen parses a parenthesised expression, a tuple or a record.
func (p *parser) parseParen() Expr {
	saved := p.noDiv
	p.noDiv = false
	defer func() { p.noDiv = saved }()
	pos := p.want("(")
	if p.got(")") {
		return &Tuple{P: pos}
	}
	if p.tok.kind == tIdent && p.peek(0).is("=") {
		r := &Record{P: pos}
		for !p.tok.is(")") {
			if p.tok.kind != tIdent {
				p.unexpected("identifier")
			}
			r.Names = append(r.Names, p.tok.text)
			p.next()
			p.want("=")
			r.Values = append(r.Values, p.parseExpr())
			if !p.got(",") && !p.tok.is(")") {
				p.unexpected(`) or ","`)
			}
		}
		p.next()
		return r
	}
	x := p.parseExpr()
	if p.got(")") {
		return x
	}
	if !p.tok.is(",") {
		p.unexpected(`) or ","`)
	}
	p.next()
	elems := []Expr{x}
	for !p.tok.is(")") {
		elems = append(elems, p.parseExpr())
		if !p.got(",") && !p.tok.is(")") {
			p.unexpected(`) or ","`)
		}
	}
	p.next()
	return &Tuple{P: pos, Elems: elems}
}

// parseBlockExpr parses { stmts; value } used as an expression.
func (p *parser) parseBlockExpr() Expr {
	saved := p.noDiv
	p.noDiv = false
	defer func() { p.noDiv = saved }()
	return blockValue(p.parseBlock())
}

// blockValue is a block as an expression: its last statement, when written
// without a trailing ';', is its value. That statement may be an if/else
// chain whose every arm has a value, as in
// { if $a { if $b { 1 } else { 2 } } else { 3 } }: the chain is then an
// if expression.
func blockValue(b *Block) *BlockExpr {
	e := &BlockExpr{P: b.P, Stmts: b.Stmts}
	n := len(e.Stmts)
	if n == 0 || b.Semi {
		return e
	}
	switch st := e.Stmts[n-1].(type) {
	case *ExprStmt:
		e.Value = st.X
	case *IfStmt:
		if x := ifValue(st); x != nil {
			e.Value = x
		}
	}
	if e.Value != nil {
		e.Stmts = e.Stmts[:n-1]
	}
	return e
}

// ifValue is an if/else statement read as an if expression, nil unless it
// has an else and all its arms end in a value.
func ifValue(s *IfStmt) Expr {
	if s.Then == nil {
		return nil
	}
	then := blockValue(s.Then)
	if then.Value == nil {
		return nil
	}
	var els Expr
	switch e := s.Else.(type) {
	case *Block:
		if v := blockValue(e); v.Value != nil {
			els = v
		}
	case *IfStmt:
		if v := ifValue(e); v != nil {
			els = v
		}
	}
	if els == nil {
		return nil
	}
	return &Ternary{P: s.P, Cond: s.Cond, Then: then, Else: els}
}

func (p *parser) parseSizeof() Expr {
	s := &Sizeof{P: p.tok.pos}
	s.Type, s.X = p.typeOrExprArg()
	p.want(")")
	return s
}

// typeOrExprArg reads the keyword and the first argument of sizeof or
// offsetof, a type or an expression.
func (p *parser) typeOrExprArg() (*TypeExpr, Expr) {
	p.next()
	p.want("(")
	if p.typeArg() {
		return p.parseType(), nil
	}
	return nil, p.parseExprNested()
}

// typeArg reports whether the argument of sizeof or offsetof starting at
// the current token is a type: what typeAt accepts, or any spelling that
// starts like one (a known type name, struct/union/enum, unsigned).
func (p *parser) typeArg() bool {
	t := p.tok
	if t.isWord("struct") || t.isWord("union") || t.isWord("enum") || t.isWord("unsigned") || t.isWord("signed") {
		return true
	}
	if t.kind == tIdent && intTypes[t.text] {
		return true
	}
	return p.typeAt(0)
}

func (p *parser) parseOffsetof() Expr {
	o := &Offsetof{P: p.tok.pos}
	o.Type, o.X = p.typeOrExprArg()
	p.want(",")
	for {
		if p.tok.kind != tIdent {
			p.unexpected("identifier")
		}
		o.Field = append(o.Field, p.tok.text)
		p.next()
		if !p.got(".") {
			break
		}
	}
	p.want(")")
	return o
}

// lastWord returns the last identifier in a typedef, the name it defines
// in the common "typedef T name;" form.
func lastWord(text string) string {
	end := len(text)
	for end > 0 && !isIdentByte(text[end-1], true) {
		end--
	}
	start := end
	for start > 0 && isIdentByte(text[start-1], true) {
		start--
	}
	return text[start:end]
}
