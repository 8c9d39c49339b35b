package check

import (
	"fmt"
	"strconv"
	"strings"

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

func (c *checker) declareCDefs() {
	for _, d := range c.file.CDefs {
		p := &cparser{c: c, toks: ctokens(d.Text), pos: d.Pos()}
		p.top()
		if p.err != nil {
			c.errorf(d.Pos(), "Cannot parse C definition: %v", p.err)
		}
	}
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

func (p *cparser) expect(tok string) {
	if got := p.next(); got != tok {
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

// record parses the rest of "struct [name] [{ fields }]".
func (p *cparser) record(kind string) *types.Type {
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
	var fields []types.Field
	bit, maxAlign, size := 0, 1, 0
	for p.err == nil && p.peek() != "}" {
		if p.peek() == "" {
			p.fail("missing '}'")
			return nil
		}
		base := p.typeSpec()
		if p.err != nil {
			return nil
		}
		if p.peek() == ";" {
			p.next()
			// Anonymous member: its fields belong to the enclosing record.
			if base.Kind == types.Struct && strings.HasSuffix(base.Name, "(anonymous)") {
				off := placeField(&bit, &maxAlign, &size, base, t.Union)
				for _, f := range base.Fields {
					f.Offset += off
					fields = append(fields, f)
				}
			}
			continue
		}
		for {
			ft, fname := p.declarator(base)
			if p.err != nil {
				return nil
			}
			bits := 0
			if p.peek() == ":" {
				p.next()
				n, err := strconv.Atoi(p.next())
				if err != nil || n < 0 || ft.Kind != types.Int && ft.Kind != types.Bool && ft.Kind != types.Enum {
					p.fail("bad bitfield %s", fname)
					return nil
				}
				bits = n
			}
			f := types.Field{Name: fname, Type: ft}
			if bits > 0 {
				f.Offset, f.BitOffset, f.BitSize = placeBits(&bit, &maxAlign, &size, ft, bits, t.Union)
			} else {
				f.Offset = placeField(&bit, &maxAlign, &size, ft, t.Union)
			}
			fields = append(fields, f)
			if p.peek() != "," {
				break
			}
			p.next()
		}
		p.expect(";")
	}
	p.expect("}")
	t.Fields = fields
	if end := (bit + 7) / 8; end > size {
		size = end
	}
	t.Size = (size + maxAlign - 1) / maxAlign * maxAlign
	return t
}

// placeField lays out a whole-byte field and returns its offset. bit is
// the running position in bits, size the largest end so far (for unions).
func placeField(bit, maxAlign, size *int, t *types.Type, union bool) int {
	a := t.Align()
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

// placeBits lays out a bitfield within storage units of its type's size.
func placeBits(bit, maxAlign, size *int, t *types.Type, n int, union bool) (off, bitOff, bits int) {
	unit := t.Size * 8
	if a := t.Align(); a > *maxAlign {
		*maxAlign = a
	}
	if union {
		if t.Size > *size {
			*size = t.Size
		}
		return 0, 0, n
	}
	if *bit%unit+n > unit {
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
	t := &types.Type{Kind: types.Enum, Size: 4, Name: key, EnumNames: map[int64]string{}}
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
