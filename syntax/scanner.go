package syntax

import (
	"bytes"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF     tokKind = iota
	tIdent           // pid, printf, struct, if ... (keywords are identifiers the parser recognises by context)
	tInt             // 42, 0x10, 1_000, 10ms
	tString          // "..."
	tVar             // $name
	tParam           // $1
	tCount           // $#
	tMap             // @name or @
	tPunct           // operators and delimiters; text holds the spelling
	tInvalid         // a character that starts no token (already reported)
)

// token is one lexeme. Off and End are byte offsets; Pos and EndPos the
// matching line/column pairs (EndPos is exclusive).
type token struct {
	kind   tokKind
	text   string // as written (for tString: the decoded value)
	val    uint64 // tInt value, tParam number
	pos    Pos
	endPos Pos
	off    int
	end    int
}

func (t token) is(punct string) bool { return t.kind == tPunct && t.text == punct }

func (t token) isWord(w string) bool { return t.kind == tIdent && t.text == w }

// describe names the token in error messages the way bpftrace's parser does.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of file"
	case tIdent:
		return "identifier"
	case tInt:
		return "integer"
	case tString:
		return "string"
	case tVar:
		return "variable"
	case tParam, tCount:
		return "positional parameter"
	case tMap:
		return "map"
	case tInvalid:
		return "invalid character"
	}
	return t.text
}

// puncts lists the operators and delimiters, longest first so that the
// scanner can match greedily.
var puncts = []string{
	"<<=", ">>=",
	"->", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
	"<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "..", "::",
	"+", "-", "*", "/", "%", "&", "|", "^", "~", "!", "<", ">", "=",
	"?", ":", ";", ",", ".", "(", ")", "[", "]", "{", "}",
}

// scanner turns source text into tokens. It also handles preprocessor lines
// (#include is ignored, #define recorded, #if/#ifdef/#else/#endif evaluated
// against the recorded defines) and attach point text, which follows its own
// lexical rules.
type scanner struct {
	src     []byte
	off     int
	line    int
	lineOff int // offset of the first byte of the current line
	errf    func(pos, end Pos, msg string)

	defines map[string]*Define
	defList []*Define
	// includes are the #include lines, once each however often the
	// parser reads a line again.
	includes []*Include
	conds    []condState
	file     *Source // set in the positions of an imported file
}

type condState struct {
	active    bool // the current branch is being compiled
	taken     bool // some branch of this #if was already active
	parentOff bool // an enclosing #if is inactive
}

func newScanner(src []byte, errf func(pos, end Pos, msg string)) *scanner {
	s := &scanner{src: src, line: 1, errf: errf, defines: map[string]*Define{}}
	// friday always reads kernel types from BTF, so scripts that test for it
	// take their BTF branch.
	s.defines["BPFTRACE_HAVE_BTF"] = &Define{Name: "BPFTRACE_HAVE_BTF", Value: "1"}
	if len(src) >= 2 && src[0] == '#' && src[1] == '!' {
		for s.off < len(src) && src[s.off] != '\n' {
			s.off++
		}
	}
	return s
}

// scanState is what save records so that restore can undo scanning.
type scanState struct {
	off, line, lineOff int
	conds              []condState
	ndefs              int
}

func (s *scanner) save() scanState {
	return scanState{s.off, s.line, s.lineOff, slices.Clone(s.conds), len(s.defList)}
}

// restore rewinds to a saved state. Directives passed since are read again,
// so the defines they added are dropped from the list, not duplicated.
func (s *scanner) restore(st scanState) {
	s.off, s.line, s.lineOff, s.conds = st.off, st.line, st.lineOff, st.conds
	s.defList = s.defList[:st.ndefs]
}

func (s *scanner) posAt(off int) Pos {
	return Pos{Line: s.line, Col: off - s.lineOff + 1, File: s.file}
}

func (s *scanner) peekByte(i int) byte {
	if s.off+i < len(s.src) {
		return s.src[s.off+i]
	}
	return 0
}

func (s *scanner) newline() {
	s.line++
	s.lineOff = s.off
}

func (s *scanner) inactive() bool {
	n := len(s.conds)
	return n > 0 && (!s.conds[n-1].active || s.conds[n-1].parentOff)
}

// atLineStart reports whether only blanks precede s.off on its line.
func (s *scanner) atLineStart() bool {
	for i := s.off - 1; i >= s.lineOff; i-- {
		if s.src[i] != ' ' && s.src[i] != '\t' {
			return false
		}
	}
	return true
}

// skipSpace skips blanks, comments, preprocessor lines and text inside
// inactive #if branches.
func (s *scanner) skipSpace() {
	for s.off < len(s.src) {
		c := s.src[s.off]
		switch {
		case c == '\n':
			s.off++
			s.newline()
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			s.off++
		case c == '#' && s.atLineStart():
			s.directive()
		case s.inactive():
			s.skipLine()
		case c == '/' && s.peekByte(1) == '/':
			s.skipLine()
		case c == '/' && s.peekByte(1) == '*':
			start := s.off
			startPos := s.posAt(start)
			s.off += 2
			closed := false
			for s.off < len(s.src) {
				if s.src[s.off] == '*' && s.peekByte(1) == '/' {
					s.off += 2
					closed = true
					break
				}
				if s.src[s.off] == '\n' {
					s.off++
					s.newline()
					continue
				}
				s.off++
			}
			if !closed {
				s.errf(startPos, s.posAt(s.off), "end of file during comment")
			}
		default:
			return
		}
	}
	if len(s.conds) > 0 {
		p := s.posAt(s.off)
		s.errf(p, p, "unterminated #if")
		s.conds = nil
	}
}

// skipLine moves to the newline ending the current line (not past it).
func (s *scanner) skipLine() {
	for s.off < len(s.src) && s.src[s.off] != '\n' {
		s.off++
	}
}

// directive consumes one preprocessor line, joining backslash-continued
// lines.
func (s *scanner) directive() {
	start := s.off
	pos := s.posAt(start)
	var b strings.Builder
	for s.off < len(s.src) && s.src[s.off] != '\n' {
		c := s.src[s.off]
		if c == '\\' && s.peekByte(1) == '\n' {
			s.off += 2
			s.newline()
			b.WriteByte(' ')
			continue
		}
		if c == '/' && s.peekByte(1) == '/' {
			s.skipLine()
			break
		}
		b.WriteByte(c)
		s.off++
	}
	text := strings.TrimSpace(strings.TrimPrefix(b.String(), "#"))
	word, rest := cutWord(text)
	rest = strings.TrimSpace(rest)
	n := len(s.conds)
	switch word {
	case "if", "ifdef", "ifndef":
		var on bool
		switch word {
		case "ifdef":
			on = s.defines[firstWord(rest)] != nil
		case "ifndef":
			on = s.defines[firstWord(rest)] == nil
		default:
			on = s.evalCond(rest)
		}
		s.conds = append(s.conds, condState{active: on, taken: on, parentOff: s.inactive()})
	case "elif", "else":
		if n == 0 {
			s.errf(pos, s.posAt(s.off), "#"+word+" without #if")
			return
		}
		c := &s.conds[n-1]
		on := !c.taken
		if on && word == "elif" {
			on = s.evalCond(rest)
		}
		c.active = on
		c.taken = c.taken || on
	case "endif":
		if n == 0 {
			s.errf(pos, s.posAt(s.off), "#endif without #if")
			return
		}
		s.conds = s.conds[:n-1]
	case "define":
		if !s.inactive() {
			s.define(pos, rest)
		}
	case "undef":
		if !s.inactive() {
			delete(s.defines, firstWord(rest))
		}
	case "include":
		// The types a header would bring in come from BTF; the line is
		// recorded so that a missing file can be reported.
		rest = strings.TrimSpace(rest)
		if !s.inactive() && len(rest) > 2 && (rest[0] == '"' || rest[0] == '<') {
			closer := map[byte]byte{'"': '"', '<': '>'}[rest[0]]
			if end := strings.IndexByte(rest[1:], closer); end > 0 && !slices.ContainsFunc(s.includes, func(in *Include) bool { return in.P == pos }) {
				s.includes = append(s.includes, &Include{P: pos, Path: rest[1 : end+1], System: rest[0] == '<'})
			}
		}
	}
	// #pragma and anything else are ignored.
}

func (s *scanner) define(pos Pos, text string) {
	i := 0
	for i < len(text) && isIdentByte(text[i], i > 0) {
		i++
	}
	if i == 0 {
		return
	}
	d := &Define{P: pos, Name: text[:i]}
	rest := text[i:]
	if strings.HasPrefix(rest, "(") {
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return
		}
		d.Params = []string{}
		for _, p := range strings.Split(rest[1:end], ",") {
			if p = strings.TrimSpace(p); p != "" {
				d.Params = append(d.Params, p)
			}
		}
		rest = rest[end+1:]
	}
	if k := strings.Index(rest, "/*"); k >= 0 {
		rest = rest[:k]
	}
	d.Value = strings.TrimSpace(rest)
	s.defines[d.Name] = d
	s.defList = append(s.defList, d)
}

// evalCond evaluates the small subset of #if expressions scripts use:
// integer constants, defined(NAME), defined NAME, a defined NAME, and '!'.
func (s *scanner) evalCond(e string) bool {
	e = strings.TrimSpace(e)
	if strings.HasPrefix(e, "!") {
		return !s.evalCond(e[1:])
	}
	if rest, ok := strings.CutPrefix(e, "defined"); ok {
		rest = strings.Trim(strings.TrimSpace(rest), "()")
		return s.defines[strings.TrimSpace(rest)] != nil
	}
	if d := s.defines[e]; d != nil {
		return s.evalCond(d.Value)
	}
	v, err := strconv.ParseInt(e, 0, 64)
	return err == nil && v != 0
}

func cutWord(s string) (string, string) {
	s = strings.TrimLeft(s, " \t")
	i := 0
	for i < len(s) && isIdentByte(s[i], true) {
		i++
	}
	return s[:i], s[i:]
}

func firstWord(s string) string {
	w, _ := cutWord(s)
	return w
}

func isIdentByte(c byte, notFirst bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || notFirst && c >= '0' && c <= '9'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// next returns the next token.
func (s *scanner) next() (t token) {
	s.skipSpace()
	start := s.off
	t = token{pos: s.posAt(start), off: start}
	defer func() {
		t.end = s.off
		t.endPos = s.posAt(s.off)
	}()
	if s.off >= len(s.src) {
		t.kind = tEOF
		return t
	}
	c := s.src[s.off]
	switch {
	case isIdentByte(c, false):
		s.scanIdent()
		t.kind = tIdent
		t.text = string(s.src[start:s.off])
	case isDigit(c):
		t.kind = tInt
		t.val = s.scanNumber()
		t.text = string(s.src[start:s.off])
	case c == '"':
		t.kind = tString
		t.text = s.scanString()
	case c == '$':
		s.off++
		switch {
		case s.peekByte(0) == '#':
			s.off++
			t.kind = tCount
			t.text = "$#"
		case isDigit(s.peekByte(0)):
			for isDigit(s.peekByte(0)) {
				s.off++
			}
			t.kind = tParam
			t.text = string(s.src[start:s.off])
			n, err := strconv.ParseUint(t.text[1:], 10, 31)
			if err != nil || n == 0 {
				s.errf(t.pos, s.posAt(s.off), "invalid positional parameter "+t.text)
			}
			t.val = n
		case isIdentByte(s.peekByte(0), false):
			s.scanIdent()
			t.kind = tVar
			t.text = string(s.src[start:s.off])
		default:
			t.kind = tInvalid
			t.text = "$"
			s.errf(t.pos, s.posAt(s.off), "invalid character '$'")
		}
	case c == '@':
		s.off++
		for isIdentByte(s.peekByte(0), true) {
			s.off++
		}
		t.kind = tMap
		t.text = string(s.src[start:s.off])
	default:
		for _, p := range puncts {
			if strings.HasPrefix(string(s.src[s.off:min(len(s.src), s.off+3)]), p) {
				s.off += len(p)
				t.kind = tPunct
				t.text = p
				return t
			}
		}
		r, size := utf8.DecodeRune(s.src[s.off:])
		s.off += size
		t.kind = tInvalid
		t.text = string(s.src[start:s.off])
		s.errf(t.pos, s.posAt(s.off), fmt.Sprintf("invalid character %s", quoteRune(r, c)))
	}
	return t
}

// quoteRune spells an offending character for an error message; b is its
// first byte, shown in hex when the bytes are not valid UTF-8.
func quoteRune(r rune, b byte) string {
	switch {
	case r == utf8.RuneError:
		return fmt.Sprintf("'\\x%02x'", b)
	case unicode.IsPrint(r):
		return "'" + string(r) + "'"
	}
	return fmt.Sprintf("%U", r)
}

// scanIdent consumes an identifier, including C++-style "a::b" names when
// the colons are written without spaces.
func (s *scanner) scanIdent() {
	for {
		for isIdentByte(s.peekByte(0), true) {
			s.off++
		}
		if s.peekByte(0) == ':' && s.peekByte(1) == ':' && isIdentByte(s.peekByte(2), false) {
			s.off += 2
			continue
		}
		return
	}
}

// durations are the time unit suffixes; their values are in nanoseconds.
var durations = map[string]uint64{
	"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9, "d": 86400e9,
}

// scanNumber consumes an integer literal and returns its value. Invalid
// literals are reported and yield 0.
func (s *scanner) scanNumber() uint64 {
	start := s.off
	base := 10
	if s.src[s.off] == '0' {
		switch s.peekByte(1) {
		case 'x', 'X':
			base = 16
			s.off += 2
		case 'b', 'B':
			if isDigit(s.peekByte(2)) {
				base = 2
				s.off += 2
			}
		default:
			if isDigit(s.peekByte(1)) || s.peekByte(1) == '_' {
				base = 8
			}
		}
	}
	digitsStart := s.off
	for s.off < len(s.src) && (isHexDigit(s.src[s.off]) && (base == 16 || isDigit(s.src[s.off])) || s.src[s.off] == '_') {
		s.off++
	}
	digits := strings.ReplaceAll(string(s.src[digitsStart:s.off]), "_", "")
	var exp string
	if base == 10 && (s.peekByte(0) == 'e' || s.peekByte(0) == 'E') && isDigit(s.peekByte(1)) {
		s.off++
		e := s.off
		for isDigit(s.peekByte(0)) {
			s.off++
		}
		exp = string(s.src[e:s.off])
	}
	sufStart := s.off
	for isIdentByte(s.peekByte(0), true) {
		s.off++
	}
	suffix := string(s.src[sufStart:s.off])
	text := string(s.src[start:s.off])
	fail := func(msg string) uint64 {
		s.errf(s.posAt(start), s.posAt(s.off), msg)
		return 0
	}
	if digits == "" || strings.HasSuffix(string(s.src[digitsStart:sufStart]), "_") {
		return fail("invalid integer literal " + text)
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return fail("integer literal " + text + " out of range")
		}
		return fail("invalid integer literal " + text)
	}
	if exp != "" && v != 0 {
		n, err := strconv.Atoi(exp)
		if err != nil || n > 19 {
			return fail("integer literal " + text + " out of range")
		}
		for range n {
			hi, lo := bits.Mul64(v, 10)
			if hi != 0 {
				return fail("integer literal " + text + " out of range")
			}
			v = lo
		}
	}
	if suffix == "" {
		return v
	}
	if mul, ok := durations[suffix]; ok {
		hi, lo := bits.Mul64(v, mul)
		if hi != 0 {
			return fail("integer literal " + text + " out of range")
		}
		return lo
	}
	switch strings.ToLower(suffix) {
	case "u", "l", "ul", "lu", "ll", "ull", "llu":
		return v
	}
	return fail("invalid integer literal " + text)
}

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// scanString consumes a string literal and returns its decoded value.
func (s *scanner) scanString() string {
	start := s.off
	startPos := s.posAt(start)
	s.off++
	var b strings.Builder
	for {
		if s.off >= len(s.src) || s.src[s.off] == '\n' {
			s.errf(startPos, s.posAt(s.off), "unterminated string")
			return b.String()
		}
		c := s.src[s.off]
		if c == '"' {
			s.off++
			return b.String()
		}
		if c != '\\' {
			b.WriteByte(c)
			s.off++
			continue
		}
		escStart := s.off
		s.off++
		e := s.peekByte(0)
		s.off++
		switch e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case 'e':
			b.WriteByte(0x1b)
		case '\\', '"', '\'', '?':
			b.WriteByte(e)
		case 'x':
			n, v := 0, 0
			for n < 2 && isHexDigit(s.peekByte(0)) {
				d, _ := strconv.ParseUint(string(s.peekByte(0)), 16, 8)
				v = v*16 + int(d)
				s.off++
				n++
			}
			if n == 0 {
				s.errf(s.posAt(escStart), s.posAt(s.off), `invalid escape character '\x'`)
			}
			b.WriteByte(byte(v))
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(e - '0')
			for n := 1; n < 3 && s.peekByte(0) >= '0' && s.peekByte(0) <= '7'; n++ {
				v = v*8 + int(s.peekByte(0)-'0')
				s.off++
			}
			if v > 0xff {
				s.errf(s.posAt(escStart), s.posAt(s.off), "octal escape out of range")
			}
			b.WriteByte(byte(v))
		case '\n', 0:
			s.off--
			s.errf(startPos, s.posAt(s.off), "unterminated string")
			return b.String()
		default:
			s.errf(s.posAt(escStart), s.posAt(s.off), fmt.Sprintf("invalid escape character '\\%c'", e))
		}
	}
}

// scanAttachPoint scans one attach point starting at s.off (after blanks
// and comments were skipped). As in bpftrace, an attach point ends at a
// blank, ',', '{', '}' or ';'; a '/' belongs to it (paths, Go symbols such
// as "github.com/x/y.F"), so a predicate must be separated by a blank.
// Quoted parts may hold any character but a newline.
// scanProbeName reads the "name=" that may start a probe and returns the
// name, or "" (reading nothing) when there is none.
func (s *scanner) scanProbeName() string {
	i := s.off
	for i < len(s.src) && isIdentByte(s.src[i], i > s.off) {
		i++
	}
	if i == s.off || i >= len(s.src) || s.src[i] != '=' {
		return ""
	}
	name := string(s.src[s.off:i])
	s.off = i + 1
	return name
}

func (s *scanner) scanAttachPoint() (raw string, parts []string, pos Pos) {
	start := s.off
	pos = s.posAt(start)
	var part strings.Builder
loop:
	for s.off < len(s.src) {
		c := s.src[s.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '{' || c == '}' || c == ';':
			break loop
		case c == '/' && (s.peekByte(1) == '/' || s.peekByte(1) == '*'):
			break loop // a comment
		case c == '"':
			q := s.off
			s.off++
			for s.off < len(s.src) && s.src[s.off] != '"' && s.src[s.off] != '\n' {
				part.WriteByte(s.src[s.off])
				s.off++
			}
			if s.off >= len(s.src) || s.src[s.off] != '"' {
				s.errf(s.posAt(q), s.posAt(s.off), "unterminated string")
				break loop
			}
			s.off++
		case c == ':' && s.peekByte(1) == ':':
			part.WriteString("::")
			s.off += 2
		case c == ':':
			s.off++
			parts = append(parts, part.String())
			part.Reset()
		default:
			part.WriteByte(c)
			s.off++
		}
	}
	parts = append(parts, part.String())
	return string(s.src[start:s.off]), parts, pos
}

// SplitAttachPoint splits text into the parts of an attach point as the
// parser splits one written in a script: for a positional parameter that
// stands for a whole attach point ($1 { ... }).
func SplitAttachPoint(text string) []string {
	s := &scanner{src: []byte(text), line: 1, errf: func(Pos, Pos, string) {}}
	_, parts, _ := s.scanAttachPoint()
	return parts
}

// skipAttributes moves past GCC attributes after a C definition's '}'
// (__attribute__((packed))), reporting whether there were any.
func (s *scanner) skipAttributes() bool {
	found := false
	for {
		rest := s.src[s.off:]
		var kw string
		for _, w := range []string{"__attribute__", "__attribute"} {
			if bytes.HasPrefix(rest, []byte(w)) {
				kw = w
				break
			}
		}
		if kw == "" {
			return found
		}
		s.off += len(kw)
		s.skipSpace()
		if s.off < len(s.src) && s.src[s.off] == '(' {
			for depth := 0; s.off < len(s.src); {
				c := s.src[s.off]
				s.off++
				if c == '(' {
					depth++
				} else if c == ')' {
					depth--
				}
				if depth == 0 {
					break
				}
			}
		}
		s.skipSpace()
		found = true
	}
}
