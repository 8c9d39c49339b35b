package tracefs

import (
	"fmt"
	"strconv"
	"strings"
)

// Flag is one name the kernel gives bits of a flags value: when all the
// bits of Mask are set it prints Name.
type Flag struct {
	Mask uint64
	Name string
}

// PrintFlags reads the table of names a tracepoint's print format gives
// to the bits of one of its fields: the {mask, "NAME"} pairs of
// __print_flags(REC->field, ...), in their order. The masks are C
// expressions of constants, as the kernel's macros expand to.
func PrintFlags(format, field string) ([]Flag, error) {
	call := "__print_flags(REC->" + field + ","
	i := strings.Index(format, call)
	if i < 0 {
		return nil, fmt.Errorf("the format prints no flags of %s", field)
	}
	p := &cexpr{s: format[i+len(call):]}
	// The separator, then the pairs up to the call's ')'.
	if _, err := p.str(); err != nil {
		return nil, err
	}
	var flags []Flag
	for {
		p.space()
		if p.eat(")") {
			return flags, nil
		}
		if !p.eat(",") || !p.eat("{") {
			return nil, p.errorf("expected a {mask, name} pair")
		}
		mask, err := p.expr()
		if err != nil {
			return nil, err
		}
		if !p.eat(",") {
			return nil, p.errorf("expected ',' after a mask")
		}
		// Some kernels end the table with { 0, NULL }.
		p.space()
		if !strings.HasPrefix(p.s[p.pos:], `"`) {
			if null, err := p.expr(); err != nil || null != 0 || mask != 0 {
				return nil, p.errorf("expected a flag's name")
			}
			if !p.eat("}") {
				return nil, p.errorf("expected '}'")
			}
			continue
		}
		name, err := p.str()
		if err != nil {
			return nil, err
		}
		if !p.eat("}") {
			return nil, p.errorf("expected '}'")
		}
		flags = append(flags, Flag{uint64(mask), name})
	}
}

// GFPFlags is the running kernel's table of GFP flag names, as its
// kmem:kmalloc tracepoint prints them (the table of the kernel's %pGg).
func GFPFlags() ([]Flag, error) {
	root, err := Dir()
	if err != nil {
		return nil, err
	}
	f, err := Format(root, Event{"kmem", "kmalloc"})
	if err != nil {
		return nil, err
	}
	return PrintFlags(f, "gfp_flags")
}

// FormatFlags spells v with names as the kernel's %pG formats do: the
// names whose bits are all set, in the table's order, each taking its
// bits away, then the bits left in hex, joined by '|'. Zero is "0".
func FormatFlags(dst []byte, v uint64, names []Flag) []byte {
	if v == 0 {
		return append(dst, '0')
	}
	first := true
	sep := func() {
		if !first {
			dst = append(dst, '|')
		}
		first = false
	}
	for _, f := range names {
		if v == 0 {
			break
		}
		if f.Mask == 0 || v&f.Mask != f.Mask {
			continue
		}
		sep()
		dst = append(dst, f.Name...)
		v &^= f.Mask
	}
	if v != 0 {
		sep()
		dst = append(dst, "0x"...)
		dst = strconv.AppendUint(dst, v, 16)
	}
	return dst
}

// cexpr reads the constant C expressions of print formats: numbers with
// their suffixes, casts, parentheses, ~ ! - and the binary operators
// | ^ & << >> + - * /.
type cexpr struct {
	s   string
	pos int
}

func (p *cexpr) errorf(format string, args ...any) error {
	return fmt.Errorf("print format at %q: %s", p.rest(20), fmt.Sprintf(format, args...))
}

func (p *cexpr) rest(n int) string {
	r := p.s[p.pos:]
	if len(r) > n {
		r = r[:n]
	}
	return r
}

func (p *cexpr) space() {
	for p.pos < len(p.s) && strings.IndexByte(" \t\n", p.s[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *cexpr) eat(tok string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

// str reads a string literal without escapes, as flag names are.
func (p *cexpr) str() (string, error) {
	if !p.eat(`"`) {
		return "", p.errorf("expected a string")
	}
	end := strings.IndexByte(p.s[p.pos:], '"')
	if end < 0 {
		return "", p.errorf("unterminated string")
	}
	s := p.s[p.pos : p.pos+end]
	p.pos += end + 1
	return s, nil
}

// Binary operators from the loosest binding to the tightest.
var cLevels = [][]string{{"|"}, {"^"}, {"&"}, {"<<", ">>"}, {"+", "-"}, {"*", "/"}}

func (p *cexpr) expr() (int64, error) { return p.binary(0) }

func (p *cexpr) binary(level int) (int64, error) {
	if level == len(cLevels) {
		return p.unary()
	}
	x, err := p.binary(level + 1)
	if err != nil {
		return 0, err
	}
	for {
		op := ""
		p.space()
		rest := p.s[p.pos:]
		for _, o := range cLevels[level] {
			// "|" is not "||", "&" is not "&&".
			if strings.HasPrefix(rest, o) && !(len(o) == 1 && strings.HasPrefix(rest[1:], o)) {
				op = o
				break
			}
		}
		if op == "" {
			return x, nil
		}
		p.pos += len(op)
		y, err := p.binary(level + 1)
		if err != nil {
			return 0, err
		}
		switch op {
		case "|":
			x |= y
		case "^":
			x ^= y
		case "&":
			x &= y
		case "<<":
			x <<= uint64(y)
		case ">>":
			x = int64(uint64(x) >> uint64(y))
		case "+":
			x += y
		case "-":
			x -= y
		case "*":
			x *= y
		case "/":
			if y == 0 {
				return 0, p.errorf("division by zero")
			}
			x /= y
		}
	}
}

func (p *cexpr) unary() (int64, error) {
	switch {
	case p.eat("~"):
		x, err := p.unary()
		return ^x, err
	case p.eat("!"):
		x, err := p.unary()
		if x == 0 {
			return 1, err
		}
		return 0, err
	case p.eat("-"):
		x, err := p.unary()
		return -x, err
	case p.eat("("):
		if p.typeName() {
			return p.unary()
		}
		x, err := p.expr()
		if err != nil {
			return 0, err
		}
		if !p.eat(")") {
			return 0, p.errorf("expected ')'")
		}
		return x, nil
	}
	return p.number()
}

// typeName skips a cast's type and its ')' if what follows '(' is one:
// words and stars only, such as "unsigned long", "gfp_t" or "void *".
func (p *cexpr) typeName() bool {
	i := p.pos
	for i < len(p.s) && (p.s[i] == ' ' || p.s[i] == '*' || isAlnum(p.s[i])) {
		i++
	}
	words := strings.TrimSpace(p.s[p.pos:i])
	if i == len(p.s) || p.s[i] != ')' || words == "" || words[0] >= '0' && words[0] <= '9' {
		return false
	}
	p.pos = i + 1
	return true
}

func (p *cexpr) number() (int64, error) {
	p.space()
	i := p.pos
	for i < len(p.s) && isAlnum(p.s[i]) {
		i++
	}
	lit := strings.TrimRight(p.s[p.pos:i], "uUlL")
	v, err := strconv.ParseUint(lit, 0, 64)
	if err != nil {
		return 0, p.errorf("expected a number")
	}
	p.pos = i
	return int64(v), nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
