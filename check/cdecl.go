package check

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"friday/syntax"
	"friday/types"
)

// C type definitions written in a script's preamble (struct S { int x; },
// unions, enums, typedefs) are parsed here, without a C compiler: fields of
// base types, pointers, arrays, bitfields, nested and anonymous structs.
// The layout follows the C rules for x86-64.

type cparser struct {
	c    *checker
	toks []string
	i    int
	pos  syntax.Pos
	err  error
}

// reserveCTypes enters the structs, unions and enums the script defines
// before any type is resolved, so that the script's definition wins over
// the kernel's wherever the name is reached (curtask, the members of
// kernel types, casts before the definition); declareCDefs fills them in.
func (c *checker) reserveCTypes() {
	for _, d := range c.file.CDefs {
		toks := ctokens(d.Text)
		for i := 0; i < len(toks); i++ {
			kind := toks[i]
			if kind != "struct" && kind != "union" && kind != "enum" {
				continue
			}
			j := skipAttributes(toks, i+1)
			if j+1 >= len(toks) || toks[j+1] != "{" || !isCIdent(toks[j]) {
				continue
			}
			key := kind + " " + toks[j]
			if c.ctypes[key] != nil {
				continue
			}
			if kind == "enum" {
				c.ctypes[key] = &types.Type{Kind: types.Enum, Size: 4, Name: key, EnumNames: map[int64]string{}}
			} else {
				c.ctypes[key] = &types.Type{Kind: types.Struct, Name: key, Union: kind == "union"}
			}
		}
	}
}

// skipAttributes returns the index of the first token from i on that is
// not part of an __attribute__((...)).
func skipAttributes(toks []string, i int) int {
	for i < len(toks) && (toks[i] == "__attribute__" || toks[i] == "__attribute") {
		i++
		for depth := 0; i < len(toks); {
			switch toks[i] {
			case "(":
				depth++
			case ")":
				depth--
			}
			i++
			if depth == 0 {
				break
			}
		}
	}
	return i
}

func isCIdent(tok string) bool {
	if tok == "" {
		return false
	}
	for i, r := range tok {
		if r != '_' && !unicode.IsLetter(r) && (i == 0 || !unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

func (c *checker) declareCDefs() {
	macros := map[string][]string{}
	for _, d := range c.file.Defines {
		if d.Params == nil {
			macros[d.Name] = ctokens(d.Value)
		}
	}
	for _, d := range c.file.CDefs {
		p := &cparser{c: c, toks: expandMacros(ctokens(d.Text), macros, 0), pos: d.Pos()}
		p.top()
		if p.err != nil {
			c.errorf(d.Pos(), "Cannot parse C definition: %v", p.err)
		}
	}
}

// expandMacros replaces the names of object-like #defines in C tokens
// with their values (array sizes: char name[LEN]), as the C preprocessor
// would; depth bounds macros defined in terms of each other.
func expandMacros(toks []string, macros map[string][]string, depth int) []string {
	if len(macros) == 0 || depth > 16 {
		return toks
	}
	var out []string
	for _, t := range toks {
		if v, ok := macros[t]; ok {
			out = append(out, expandMacros(v, macros, depth+1)...)
			continue
		}
		out = append(out, t)
	}
	return out
}

// ctokens splits C text into identifiers, numbers and punctuation.
func ctokens(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			i++
		case strings.HasPrefix(s[i:], "//"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += end + 4
			}
		case ch == '_' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			toks = append(toks, string(ch))
			i++
		}
	}
	return toks
}

func (p *cparser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *cparser) next() string {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

func (p *cparser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, args...)
	}
	p.i = len(p.toks)
}

func (p *cparser) got(tok string) bool {
	if p.peek() == tok {
		p.next()
		return true
	}
	return false
}

func (p *cparser) expect(tok string) {
	switch got := p.next(); got {
	case tok:
	case "":
		p.fail("expected '%s' before the end of the definition", tok)
	default:
		p.fail("expected '%s', found '%s'", tok, got)
	}
}

func (p *cparser) top() {
	for p.err == nil && p.peek() != "" {
		switch p.peek() {
		case ";":
			p.next()
		case "typedef":
			p.next()
			base := p.typeSpec()
			if p.err != nil {
				return
			}
			t, name := p.declarator(base)
			if name == "" {
				p.fail("typedef without a name")
				return
			}
			p.c.ctypes[name] = t
		default:
			t := p.typeSpec()
			if p.err != nil {
				return
			}
			if p.peek() != ";" && p.peek() != "" {
				// struct S { ... } var; declares nothing we can use.
				p.declarator(t)
			}
		}
	}
}

// typeSpec parses a type specifier: base type keywords, a typedef name,
// or a struct/union/enum reference or definition.
func (p *cparser) typeSpec() *types.Type {
	var words []string
	for {
		tok := p.peek()
		switch tok {
		case "const", "volatile", "static", "extern", "register", "restrict", "__restrict":
			p.next()
			continue
		case "struct", "union":
			p.next()
			return p.record(tok)
		case "enum":
			p.next()
			return p.enum()
		case "unsigned", "signed", "int", "char", "short", "long", "_Bool", "bool", "void":
			words = append(words, p.next())
			continue
		}
		if len(words) > 0 {
			break
		}
		name := p.next()
		if t := p.c.ctypes[name]; t != nil {
			return t
		}
		if t := intNames[name]; t != nil {
			return t
		}
		if t := p.c.btf.typedef(name); t != nil {
			return t
		}
		p.fail("unknown type '%s'", name)
		return nil
	}
	name := strings.Join(words, " ")
	switch name {
	case "void":
		return types.VoidT
	case "_Bool", "bool":
		return types.BoolT
	case "unsigned long long int", "long unsigned int", "long long unsigned int":
		return types.U64
	case "long unsigned":
		return types.U64
	}
	if t := intNames[name]; t != nil {
		return t
	}
	p.fail("unknown type '%s'", name)
	return nil
}

// cmember is a member of a C struct or union as written, before layout.
type cmember struct {
	name  string
	t     *types.Type
	bits  int  // a bitfield's width, 0 for a whole field
	anon  bool // an anonymous struct or union, whose fields are the record's
	align int  // aligned(N) written on the member, 0 when none
}

// cattrs are the GCC attributes friday honours in C definitions; others
// (preserve_access_index, unused...) change no layout and are skipped.
type cattrs struct {
	packed bool
	align  int
}

// attributes reads any number of __attribute__((a, b(n))) at the cursor.
func (p *cparser) attributes() cattrs {
	var a cattrs
	for p.err == nil && (p.peek() == "__attribute__" || p.peek() == "__attribute") {
		p.next()
		p.expect("(")
		p.expect("(")
		// At the end of the text, expect reports the missing ')'.
		for p.err == nil && p.peek() != ")" && p.peek() != "" {
			name := strings.Trim(p.next(), "_")
			var args []string
			if p.peek() == "(" {
				p.next()
				for depth := 1; p.err == nil && depth > 0; {
					switch tok := p.next(); tok {
					case "":
						p.fail("missing ')' in __attribute__")
					case "(":
						depth++
					case ")":
						depth--
					default:
						args = append(args, tok)
					}
				}
			}
			switch name {
			case "packed":
				a.packed = true
			case "aligned":
				n := 16 // the largest alignment x86-64 needs
				if len(args) > 0 {
					v, err := strconv.Atoi(args[0])
					if err != nil || v <= 0 || v&(v-1) != 0 {
						p.fail("aligned() needs a power of two, not '%s'", strings.Join(args, " "))
						return a
					}
					n = v
				}
				a.align = max(a.align, n)
			}
			if p.peek() == "," {
				p.next()
			}
		}
		p.expect(")")
		p.expect(")")
	}
	return a
}

// record parses the rest of "struct [name] [{ fields }]".
func (p *cparser) record(kind string) *types.Type {
	attrs := p.attributes()
	name := ""
	if tok := p.peek(); tok != "{" {
		name = p.next()
	}
	key := kind + " " + name
	if p.peek() != "{" {
		if t := p.c.ctypes[key]; t != nil {
			return t
		}
		if t := p.c.btf.named(key); t != nil {
			return t
		}
		// A forward reference: filled in if defined later.
		t := &types.Type{Kind: types.Struct, Name: key, Union: kind == "union"}
		p.c.ctypes[key] = t
		return t
	}
	p.next()
	t := p.c.ctypes[key]
	if t == nil || name == "" {
		t = &types.Type{Kind: types.Struct, Union: kind == "union"}
	}
	t.Name = key
	if name == "" {
		t.Name = kind + " (anonymous)"
	} else {
		p.c.ctypes[key] = t
	}
	var members []cmember
	for p.err == nil && p.peek() != "}" {
		if p.peek() == "" {
			p.fail("missing '}'")
			return nil
		}
		base := p.typeSpec()
		if p.err != nil {
			return nil
		}
		if p.peek() == ";" || p.peek() == "}" {
			p.got(";")
			if base.Kind == types.Struct && strings.HasSuffix(base.Name, "(anonymous)") {
				members = append(members, cmember{t: base, anon: true})
			}
			continue
		}
		for {
			ft, fname := p.declarator(base)
			if p.err != nil {
				return nil
			}
			m := cmember{name: fname, t: ft}
			if p.peek() == ":" {
				p.next()
				n, err := strconv.Atoi(p.next())
				if err != nil || n < 0 || ft.Kind != types.Int && ft.Kind != types.Bool && ft.Kind != types.Enum {
					p.fail("bad bitfield %s", fname)
					return nil
				}
				m.bits = n
			}
			ma := p.attributes()
			m.align = ma.align
			if ma.packed {
				m.align = -1
			}
			members = append(members, m)
			if p.peek() != "," {
				break
			}
			p.next()
		}
		// As in bpftrace, the last member may lack its ';'.
		if p.peek() != "}" {
			p.expect(";")
		}
	}
	p.expect("}")
	after := p.attributes()
	attrs.packed = attrs.packed || after.packed
	attrs.align = max(attrs.align, after.align)
	layout(t, members, attrs)
	return t
}

// layout places members by the C rules for x86-64: each at the next
// multiple of its alignment (1 in a packed record), bitfields within
// storage units of their type unless packed.
func layout(t *types.Type, members []cmember, attrs cattrs) {
	var fields []types.Field
	bit, maxAlign, size := 0, 1, 0
	for _, m := range members {
		a, packed := m.t.Align(), attrs.packed || m.align < 0
		if packed {
			a = 1
		}
		a = max(a, m.align)
		if m.anon {
			off := placeField(&bit, &maxAlign, &size, m.t, a, t.Union)
			for _, f := range m.t.Fields {
				f.Offset += off
				fields = append(fields, f)
			}
			continue
		}
		f := types.Field{Name: m.name, Type: m.t}
		if m.bits > 0 {
			f.Offset, f.BitOffset, f.BitSize = placeBits(&bit, &maxAlign, &size, m.t, m.bits, a, packed, t.Union)
		} else {
			f.Offset = placeField(&bit, &maxAlign, &size, m.t, a, t.Union)
		}
		fields = append(fields, f)
	}
	t.Fields = fields
	if end := (bit + 7) / 8; end > size {
		size = end
	}
	t.AttrAlign = 0
	if attrs.packed {
		maxAlign = 1
		t.AttrAlign = 1
	}
	if attrs.align > maxAlign {
		maxAlign = attrs.align
		t.AttrAlign = maxAlign
	}
	t.Size = (size + maxAlign - 1) / maxAlign * maxAlign
}

// placeField lays out a whole-byte field aligned to a and returns its
// offset. bit is the running position in bits, size the largest end so
// far (for unions).
func placeField(bit, maxAlign, size *int, t *types.Type, a int, union bool) int {
	if a > *maxAlign {
		*maxAlign = a
	}
	if union {
		if t.Size > *size {
			*size = t.Size
		}
		return 0
	}
	off := ((*bit+7)/8 + a - 1) / a * a
	*bit = (off + t.Size) * 8
	return off
}

// placeBits lays out a bitfield within storage units of its type's size;
// a packed one takes the next bits, whatever the unit.
func placeBits(bit, maxAlign, size *int, t *types.Type, n, a int, packed, union bool) (off, bitOff, bits int) {
	unit := t.Size * 8
	if a > *maxAlign {
		*maxAlign = a
	}
	if union {
		if t.Size > *size {
			*size = t.Size
		}
		return 0, 0, n
	}
	if !packed && *bit%unit+n > unit {
		*bit = (*bit + unit - 1) / unit * unit
	}
	off, bitOff = *bit/8, *bit%8
	*bit += n
	return off, bitOff, n
}

// declarator parses "* * name [N] [M]" after a type specifier.
func (p *cparser) declarator(base *types.Type) (*types.Type, string) {
	t := base
	for p.peek() == "*" || p.peek() == "const" || p.peek() == "volatile" {
		if p.next() == "*" {
			t = types.PointerTo(t)
		}
	}
	name := p.next()
	if name == "" || strings.ContainsAny(name[:1], "0123456789;,{}[]*():=") {
		p.fail("expected a name, found '%s'", name)
		return nil, ""
	}
	var dims []int
	for p.peek() == "[" {
		p.next()
		n, err := strconv.Atoi(p.next())
		if err != nil || n < 0 {
			p.fail("array size of %s must be a number", name)
			return nil, ""
		}
		p.expect("]")
		dims = append(dims, n)
	}
	for i := len(dims) - 1; i >= 0; i-- {
		if t.Kind == types.Int && t.Size == 1 && i == len(dims)-1 {
			// char arrays hold text, as in kernel structs.
			t = types.StringOf(dims[i])
			continue
		}
		t = types.ArrayOf(t, dims[i])
	}
	return t, name
}

// enum parses the rest of "enum [name] [{ A = 1, B }]".
func (p *cparser) enum() *types.Type {
	name := ""
	if p.peek() != "{" {
		name = p.next()
	}
	key := "enum " + name
	if p.peek() != "{" {
		if t := p.c.ctypes[key]; t != nil {
			return t
		}
		if t := p.c.btf.named(key); t != nil {
			return t
		}
		p.fail("unknown type '%s'", key)
		return nil
	}
	p.next()
	t := p.c.ctypes[key]
	if t == nil || name == "" {
		t = &types.Type{Kind: types.Enum, Size: 4, Name: key, EnumNames: map[int64]string{}}
	}
	if name == "" {
		t.Name = "enum (anonymous)"
	}
	v := int64(0)
	for p.err == nil && p.peek() != "}" {
		id := p.next()
		if p.peek() == "=" {
			p.next()
			neg := false
			if p.peek() == "-" {
				p.next()
				neg = true
			}
			n, err := strconv.ParseInt(p.next(), 0, 64)
			if err != nil {
				p.fail("enum value of %s must be a number", id)
				return nil
			}
			if neg {
				n = -n
			}
			v = n
		}
		t.EnumNames[v] = id
		p.c.cenums[id] = enumConst{val: v, typ: t}
		v++
		if p.peek() == "," {
			p.next()
		}
	}
	p.expect("}")
	if name != "" {
		p.c.ctypes[key] = t
	}
	return t
}
